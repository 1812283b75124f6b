import EdgeNASCore
import Foundation

/// A candidate that met every limit, with the costs that were checked.
public struct FeasibleCandidate: Sendable {
    public var architecture: Architecture
    public var cost: CandidateCost

    public init(architecture: Architecture, cost: CandidateCost) {
        self.architecture = architecture
        self.cost = cost
    }
}

/// Draws candidates until they meet the limits, with a bound on attempts per accepted
/// candidate, and remembers enough about the rejects to explain an infeasible request.
public struct ConstrainedSampler {
    public let constraints: SearchConstraints
    public let costModel: CostModel
    /// Attempts allowed for each candidate that must be found (the bound is per candidate,
    /// so asking for more candidates does not make a tight limit look infeasible sooner).
    public let attemptsPerCandidate: Int

    /// Attempts made and rejected so far, over the sampler's lifetime (reported by search).
    public private(set) var attempts = 0
    public private(set) var rejected = 0
    private var violations: [ConstraintLimit: Int] = [:]
    private var closest: (id: String, cost: CandidateCost, worst: Double)?

    public init(constraints: SearchConstraints, costModel: CostModel, attemptsPerCandidate: Int = 2000) {
        self.constraints = constraints
        self.costModel = costModel
        self.attemptsPerCandidate = attemptsPerCandidate
    }

    /// The next candidate from `draw` that meets the limits and is not in `excluding`.
    ///
    /// - Throws: ``SearchError/infeasible(_:)`` after `attemptsPerCandidate` rejects in a row.
    public mutating func next(
        excluding seenIDs: Set<String>, found: Int, needed: Int,
        draw: (inout SeededGenerator) -> Architecture, using generator: inout SeededGenerator
    ) throws -> FeasibleCandidate {
        for _ in 0..<attemptsPerCandidate {
            attempts += 1
            let architecture = draw(&generator)
            if seenIDs.contains(architecture.id) { rejected += 1; continue }
            let cost = try costModel.cost(of: architecture)
            let overshoot = constraints.overshoot(of: cost)
            if overshoot.isEmpty { return FeasibleCandidate(architecture: architecture, cost: cost) }
            rejected += 1
            for limit in overshoot.keys { violations[limit, default: 0] += 1 }
            let worst = overshoot.values.max()!
            if closest == nil || worst < closest!.worst { closest = (architecture.id, cost, worst) }
        }
        throw SearchError.infeasible(infeasibleReport(found: found, needed: needed))
    }

    private func infeasibleReport(found: Int, needed: Int) -> InfeasibleConstraints {
        // Without any limit violation, the space simply has fewer distinct members than asked for.
        let nearest = closest ?? (id: "-", cost: CandidateCost(params: 0, flops: 0, predictedLatencyMilliseconds: nil), worst: 1)
        var suggested: [ConstraintLimit: Double] = [:]
        if let maxParams = constraints.maxParams, nearest.cost.params > maxParams { suggested[.params] = Double(nearest.cost.params) }
        if let maxFLOPs = constraints.maxFLOPs, nearest.cost.flops > maxFLOPs { suggested[.flops] = Double(nearest.cost.flops) }
        if let limit = constraints.maxLatencyMilliseconds, let latency = nearest.cost.predictedLatencyMilliseconds, latency > limit {
            // Round up in the third decimal so that the printed limit really admits it.
            suggested[.latency] = (latency * 1000).rounded(.up) / 1000
        }
        return InfeasibleConstraints(
            constraints: constraints, attempts: attempts, satisfiedCount: found, requiredCount: needed,
            violations: violations, closestID: nearest.id, closestCost: nearest.cost, suggestedLimits: suggested)
    }
}
