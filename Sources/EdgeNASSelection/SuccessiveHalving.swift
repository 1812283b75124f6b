import EdgeNASCore
import Foundation

/// How long a candidate is trained in one rung of the final stage: `trainingSamples` images
/// for `epochs` epochs, a complete schedule (warm-up then cosine) within the rung.
public struct TaskFidelity: Sendable, Codable, Equatable, CustomStringConvertible {
    public var trainingSamples: Int
    public var epochs: Int

    public init(trainingSamples: Int, epochs: Int) {
        self.trainingSamples = trainingSamples
        self.epochs = epochs
    }

    /// Training sample passes: samples × epochs.
    public var sampleEpochs: Int { trainingSamples * epochs }

    public var description: String { "\(trainingSamples) images × \(epochs) epochs" }
}

/// One candidate trained at one rung: its accuracy on the validation split held out of the
/// training set, and the wall time it took.
public struct RungResult: Sendable, Codable, Equatable {
    public var candidateID: String
    public var rung: Int
    public var fidelity: TaskFidelity
    public var validationAccuracy: Double
    public var seconds: Double
    /// True when training stopped being finite; the candidate ranks last in its rung.
    public var diverged: Bool

    public init(candidateID: String, rung: Int, fidelity: TaskFidelity, validationAccuracy: Double, seconds: Double,
                diverged: Bool = false) {
        self.candidateID = candidateID
        self.rung = rung
        self.fidelity = fidelity
        self.validationAccuracy = validationAccuracy
        self.seconds = seconds
        self.diverged = diverged
    }
}

/// A rung as decided when it started: who is trained, and how long. Stored before the first
/// unit runs, so that a resumed stage trains exactly the same units.
public struct RungPlan: Sendable, Codable, Equatable {
    public var rung: Int
    public var candidateIDs: [String]
    public var fidelity: TaskFidelity
}

/// Trains candidates on the user's task; the real one is ``ImageClassificationTask``, tests
/// use a fast fake.
public protocol TaskTrainer: AnyObject {
    /// Measured wall seconds per training sample pass of `architecture` (a few timed steps),
    /// and the fixed seconds of a unit outside the training passes (building, validating).
    func measureCost(_ architecture: Architecture) throws -> (perSampleEpoch: Double, fixed: Double)
    /// Trains a fresh network at `fidelity` and returns its validation accuracy.
    func trainAndValidate(_ architecture: Architecture, fidelity: TaskFidelity, seed: UInt64,
                          shouldStop: () -> Bool) throws -> (validationAccuracy: Double, diverged: Bool)
    /// Training images available: a rung never asks for more samples than this.
    var trainingPoolSize: Int { get }
}

/// Other processes (workers on a shared run) that train a rung's units alongside the one
/// running the stage: it offers each rung's units, trains those it can claim, and waits for
/// the results of the rest.
public protocol RungUnitSharing: AnyObject {
    /// Makes the rung's units (its plan is stored) claimable by others.
    func offer(_ plan: RungPlan) throws
    /// True when this process may train the unit now (it holds it until ``finished(rung:candidateID:)``);
    /// false while another process holds it.
    func claim(rung: Int, candidateID: String) throws -> Bool
    /// This process stored the unit's result.
    func finished(rung: Int, candidateID: String) throws
    /// Waits before looking at units held by others again.
    func pause()
}

/// Where the stage keeps its units, so that an interrupted run resumes without retraining.
public protocol RungStore: AnyObject {
    func rungPlan(_ rung: Int) throws -> RungPlan?
    func saveRungPlan(_ plan: RungPlan) throws
    func rungResult(rung: Int, candidateID: String) throws -> RungResult?
    /// Records one unit's result in one transaction; a unit is never recorded twice.
    func saveRungResult(_ result: RungResult) throws
}

/// A store that lives as long as the process (`rank` has nothing to resume).
public final class MemoryRungStore: RungStore {
    private var plans: [Int: RungPlan] = [:]
    private var results: [String: RungResult] = [:]

    public init() {}

    public func rungPlan(_ rung: Int) -> RungPlan? { plans[rung] }
    public func saveRungPlan(_ plan: RungPlan) { plans[plan.rung] = plan }
    public func rungResult(rung: Int, candidateID: String) -> RungResult? { results["\(rung)/\(candidateID)"] }
    public func saveRungResult(_ result: RungResult) { results["\(result.rung)/\(result.candidateID)"] = result }
}

/// What the final stage reports while it runs.
public enum FinalStageEvent: Sendable {
    case rungStarted(RungPlan, predictedSeconds: Double)
    /// The stage did not run ("skipped: …"), or stopped before its last rung ("stopped after rung
    /// r: …"; rung r's order stands): the reason, in the user's terms.
    case skipped(reason: String)
    /// The time left could not pay for the planned rungs at the last rung's fidelity, so the
    /// schedule from `rung` on was cut to `rungsLeft` rungs, starting with `members` candidates.
    case scheduleCut(rung: Int, rungsLeft: Int, members: Int, secondsLeft: Double)
    /// One unit is done; `stored` when a resumed stage found it already trained.
    case unitDone(RungResult, done: Int, total: Int, stored: Bool)
}

extension FinalStageEvent {
    /// What a cut schedule means, in the user's terms.
    public static func scheduleCutDescription(rung: Int, rungsLeft: Int, members: Int, secondsLeft: Double) -> String {
        String(format: "final stage: %.0f s left cannot pay for the planned rungs; from rung %d on, %d rung%@ from %d candidates",
               secondsLeft, rung, rungsLeft, rungsLeft == 1 ? "" : "s", members)
    }
}

/// Settings of the final stage.
public struct FinalStageSettings: Sendable, Codable, Equatable {
    /// Epochs per rung while the samples fit the training pool (2: the short schedule that
    /// ranked best on the dev data; samples grow first, epochs once the pool is used up).
    public var epochsPerRung: Int
    /// The smallest training set a rung is worth: below it, accuracies are mostly noise, so
    /// the stage admits fewer candidates instead.
    public var minimumTrainingSamples: Int
    /// Weight λ of the capacity prior in a rung's score: z(validation accuracy) + λ·prior.
    public var capacityPriorWeight: Double
    public var seed: UInt64

    public init(epochsPerRung: Int = 2, minimumTrainingSamples: Int = 512, capacityPriorWeight: Double = 1, seed: UInt64 = 0) {
        self.epochsPerRung = epochsPerRung
        self.minimumTrainingSamples = minimumTrainingSamples
        self.capacityPriorWeight = capacityPriorWeight
        self.seed = seed
    }
}

/// The final stage: successive halving on the user's own task.
///
/// The top-k candidates (k from the budget) are trained at rung 0; each rung keeps the better
/// half, ⌈n/2⌉, by its score and doubles the training (samples × epochs) for the survivors,
/// until two remain and have been compared. Each rung's fidelity is solved from the time
/// really left: with measured costs c_i (seconds per sample pass) and fixed costs f_i, rung r
/// of the remaining ones gets F_r with Σ_{r'≥r} Σ_{i∈S_r'} (c_i·F_r·2^(r'−r) + f_i) = time left,
/// taking S_r' as the current order's leading ⌈…⌉ members, so a slow machine shrinks the
/// later rungs instead of overrunning the budget. When the time left cannot pay for the
/// remaining rungs at the last rung's fidelity, the schedule is cut: first its last rungs,
/// then the next rung's members, so the stage spends its budget rather than stopping early.
///
/// A rung's score of candidate i is z(acc_i) + λ·p_i: the validation accuracy standardised
/// over the rung's members, plus the capacity prior (``CapacityPrior``), which carries the
/// within-family signal that brief training is too noisy to resolve.
///
/// On a mixed pool whose final order ranks each family by its own training (the pipeline),
/// each family halves on its own and is standardised against itself: a rung then holds every
/// family's leaders, and the family that learns faster in a short schedule does not take
/// every later rung.
public final class SuccessiveHalving {
    public let settings: FinalStageSettings
    /// Other processes that train this stage's units alongside it; nil trains every unit here.
    public var sharing: RungUnitSharing?
    /// How many processes train units at once (this one and those `sharing` reaches): a rung
    /// of n members takes the time of n / min(n, trainers) units.
    public var parallelTrainers = 1
    private let trainer: TaskTrainer
    private let store: RungStore
    private let events: (FinalStageEvent) -> Void
    private let shouldStop: () -> Bool

    public init(settings: FinalStageSettings, trainer: TaskTrainer, store: RungStore,
                events: @escaping (FinalStageEvent) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }) {
        self.settings = settings
        self.trainer = trainer
        self.store = store
        self.events = events
        self.shouldStop = shouldStop
    }

    /// The share of the time left that each rung's fidelity is solved for.
    static let plannedShareOfTimeLeft = 0.92

    /// Member counts of each rung for `k` entrants: k, ⌈k/2⌉, … down to 2 (a single entrant gets one rung).
    public static func rungSizes(entrants k: Int) -> [Int] {
        rungSizes(groupCounts: [k])
    }

    /// Member counts of each rung when each group halves on its own: a group of n > 2 sends
    /// ⌈n/2⌉ to the next rung, a group of 2 or fewer has been compared and leaves.
    public static func rungSizes(groupCounts: [Int]) -> [Int] {
        var counts = groupCounts.filter { $0 > 0 }
        var sizes: [Int] = []
        while !counts.isEmpty {
            sizes.append(counts.reduce(0, +))
            counts = counts.filter { $0 > 2 }.map { ($0 + 1) / 2 }
        }
        return sizes
    }

    /// The halving group of each candidate: its family when the stage halves within families,
    /// one group otherwise.
    struct Groups {
        let family: [String: ArchitectureFamily]?

        func key(_ id: String) -> ArchitectureFamily? { family?[id] }

        func counts(_ ids: [String]) -> [Int] {
            Dictionary(grouping: ids, by: key).values.map(\.count)
        }

        func sizes(_ ids: [String]) -> [Int] { SuccessiveHalving.rungSizes(groupCounts: counts(ids)) }

        /// What happens to a group of 2 or fewer when the others halve.
        enum SmallGroups { case keep, drop }

        /// `ordered` (best first) with each group of more than 2 cut to its leading ⌈n/2⌉,
        /// ``interleaved(_:)``.
        func halved(_ ordered: [String], smallGroups: SmallGroups) -> [String] {
            let standing = standings(ordered)
            let size = Dictionary(grouping: ordered, by: key).mapValues(\.count)
            return interleaved(ordered.filter { id in
                let n = size[key(id)]!
                return n > 2 ? standing[id]! < (n + 1) / 2 : smallGroups == .keep
            })
        }

        /// `ordered` (best first) interleaved by standing within the group (every group's best,
        /// then every group's second, …), so that a prefix holds the leaders of every group, as
        /// the cost planning assumes.
        func interleaved(_ ordered: [String]) -> [String] {
            let standing = standings(ordered)
            return ordered.enumerated().sorted { (standing[$0.element]!, $0.offset) < (standing[$1.element]!, $1.offset) }.map(\.element)
        }

        /// Each id's 0-based position within its group in `ordered`.
        private func standings(_ ordered: [String]) -> [String: Int] {
            var standing: [String: Int] = [:], count: [ArchitectureFamily?: Int] = [:]
            for id in ordered {
                standing[id] = count[key(id), default: 0]
                count[key(id), default: 0] += 1
            }
            return standing
        }
    }

    /// The fidelity of `sampleEpochs` passes: `epochsPerRung` epochs over as many samples, more
    /// epochs once the samples would exceed the pool.
    func fidelity(sampleEpochs: Double) -> TaskFidelity {
        let pool = trainer.trainingPoolSize
        let epochs = max(settings.epochsPerRung, Int((sampleEpochs / Double(pool)).rounded(.up)))
        let samples = min(pool, max(1, Int(sampleEpochs / Double(epochs))))
        return TaskFidelity(trainingSamples: samples, epochs: epochs)
    }

    /// Sample passes per member at the first of the remaining rungs so that they all fit in
    /// `seconds`. `costs` are in the current order, best first, and each later rung's survivors
    /// are assumed to be the current leaders: the capacity prior favours the larger, slower
    /// candidates, so assuming the cheapest survive (as a lower bound would) starves the
    /// later rungs. With `trainers` processes, a rung's units run min(size, trainers) at a time.
    static func affordableSampleEpochs(seconds: Double, costs: [(perSampleEpoch: Double, fixed: Double)], sizes: [Int],
                                       trainers: Int = 1) -> Double {
        var perUnit = 0.0, fixed = 0.0
        for (offset, size) in sizes.enumerated() {
            let members = costs.prefix(size)
            let atOnce = Double(max(1, min(size, trainers)))
            perUnit += members.reduce(0) { $0 + $1.perSampleEpoch } * pow(2, Double(offset)) / atOnce
            fixed += members.reduce(0) { $0 + $1.fixed } / atOnce
        }
        return max(0, (seconds - fixed) / max(perUnit, 1e-12))
    }

    /// How many of `ordered` candidates (best first) the budget admits at no less than the
    /// minimum fidelity, at least 2 where 2 are given.
    public func entrants(_ candidates: [SelectionCandidate], budgetSeconds: Double,
                         costs: [String: (perSampleEpoch: Double, fixed: Double)], withinFamilies: Bool = false) -> Int {
        let minimum = Double(settings.minimumTrainingSamples * settings.epochsPerRung)
        let groups = Self.groups(candidates, withinFamilies: withinFamilies)
        var k = candidates.count
        while k > 2 {
            let ids = candidates.prefix(k).map(\.id)
            let members = groups.interleaved(ids).map { costs[$0]! }
            if Self.affordableSampleEpochs(seconds: budgetSeconds, costs: members, sizes: groups.sizes(ids),
                                           trainers: parallelTrainers) >= minimum { break }
            k -= 1
        }
        return min(k, candidates.count)
    }

    /// Candidates timed per family before the rest are estimated from them.
    static let timedPerFamily = 2

    /// Every candidate's cost: the first ``timedPerFamily`` of each family measured, the rest
    /// c_j = FLOPs_j · mean_i(c_i / FLOPs_i) over the measured ones of the family (both parts).
    func estimatedCosts(_ candidates: [SelectionCandidate], measured: (String) throws -> (perSampleEpoch: Double, fixed: Double))
        rethrows -> [String: (perSampleEpoch: Double, fixed: Double)] {
        var result: [String: (perSampleEpoch: Double, fixed: Double)] = [:]
        for family in ArchitectureFamily.allCases {
            let members = candidates.filter { $0.architecture.family == family }
            var ratios: [(perSampleEpoch: Double, fixed: Double)] = []
            for candidate in members.prefix(Self.timedPerFamily) {
                let cost = try measured(candidate.id)
                result[candidate.id] = cost
                let flops = Double(max(1, candidate.architecture.cost.flops))
                ratios.append((cost.perSampleEpoch / flops, cost.fixed / flops))
            }
            guard !ratios.isEmpty else { continue }
            let perFLOP = (ratios.map(\.perSampleEpoch).reduce(0, +) / Double(ratios.count), ratios.map(\.fixed).reduce(0, +) / Double(ratios.count))
            for candidate in members.dropFirst(Self.timedPerFamily) {
                let flops = Double(max(1, candidate.architecture.cost.flops))
                result[candidate.id] = (perFLOP.0 * flops, perFLOP.1 * flops)
            }
        }
        return result
    }

    static func groups(_ candidates: [SelectionCandidate], withinFamilies: Bool) -> Groups {
        Groups(family: withinFamilies ? Dictionary(uniqueKeysWithValues: candidates.map { ($0.id, $0.architecture.family) }) : nil)
    }

    /// Runs the stage on `candidates` (best first by the earlier stages) within `budgetSeconds`.
    ///
    /// - Parameters:
    ///   - prior: the capacity prior of each candidate by id.
    ///   - withinFamilies: each family halves on its own and is scored against itself, for a
    ///     final order that ranks each family by its own training (the pipeline on a mixed
    ///     pool): a ViT's accuracy after a short schedule says nothing about which CNN is best,
    ///     and comparing them only sends the faster-learning family on.
    /// - Returns: every result, rung by rung; a resumed run returns the stored ones as well.
    /// - Throws: `CancellationError` when `shouldStop` says so between units; the trainer's errors.
    public func run(_ candidates: [SelectionCandidate], prior: [String: Double], budgetSeconds: Double,
                    withinFamilies: Bool = false) throws -> FinalStageOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let byID = Dictionary(uniqueKeysWithValues: candidates.map { ($0.id, $0) })
        let groups = Self.groups(candidates, withinFamilies: withinFamilies)
        var costs: [String: (perSampleEpoch: Double, fixed: Double)] = [:]
        func cost(_ id: String) throws -> (perSampleEpoch: Double, fixed: Double) {
            if let known = costs[id] { return known }
            let measured = try trainer.measureCost(byID[id]!.architecture)
            costs[id] = measured
            return measured
        }
        var members: [String]
        var sizes: [Int]
        if let first = try store.rungPlan(0) {
            members = first.candidateIDs
            sizes = groups.sizes(members)
        } else {
            guard budgetSeconds > 0 else {
                events(.skipped(reason: "skipped: no time is left of the budget"))
                return FinalStageOutcome(plans: [], results: [])
            }
            // Timing every candidate would cost seconds each; the first few of each family (in
            // entry order) are timed and the rest estimated per FLOP from them. Estimates
            // are replaced by the measured unit times as rungs run.
            for (id, estimate) in try estimatedCosts(candidates, measured: { try cost($0) }) where costs[id] == nil {
                costs[id] = estimate
            }
            // Planned for the same share of the time left as the check below and every rung's solve.
            let k = entrants(candidates, budgetSeconds: Self.plannedShareOfTimeLeft * (budgetSeconds - (clock.now - start).seconds),
                             costs: costs, withinFamilies: withinFamilies)
            members = groups.interleaved(candidates.prefix(k).map(\.id))
            sizes = groups.sizes(members)
        }
        var outcome = FinalStageOutcome(plans: [], results: [])
        // A budget that cannot train two candidates at the minimum fidelity buys no information.
        if try store.rungPlan(0) == nil {
            let minimum = Double(settings.minimumTrainingSamples * settings.epochsPerRung)
            let left = Self.plannedShareOfTimeLeft * (budgetSeconds - (clock.now - start).seconds)
            let memberCosts = try members.map { try cost($0) }
            if sizes.isEmpty || Self.affordableSampleEpochs(seconds: left, costs: memberCosts, sizes: sizes,
                                                            trainers: parallelTrainers) < minimum {
                events(.skipped(reason: String(format: "skipped: %.0f s left cannot train %d candidates on %d images", max(0, left), members.count,
                                               settings.minimumTrainingSamples)))
                return outcome
            }
        }
        var rung = 0
        while rung < sizes.count {
            let plan: RungPlan
            if let stored = try store.rungPlan(rung) {
                plan = stored
                // A resumed stage follows a schedule that was cut before it stopped.
                if stored.candidateIDs.count != sizes[rung] {
                    sizes = Array(sizes[..<rung]) + groups.sizes(stored.candidateIDs)
                }
            } else {
                // Solved for 92 % of the time left: on a machine whose speed drifts 1.7–2× within
                // seconds, a rung solved for all of it overruns the budget about half the time.
                let left = Self.plannedShareOfTimeLeft * (budgetSeconds - (clock.now - start).seconds)
                var memberCosts = try members.map { try cost($0) }
                var remaining = Array(sizes[rung...])
                var passes = Self.affordableSampleEpochs(seconds: left, costs: memberCosts, sizes: remaining, trainers: parallelTrainers)
                // A rung must train at least as long as the one before. When the time left cannot
                // pay for that, the schedule is cut: its last rungs first, then this rung's
                // members (each group halved, down to 2); if even that cannot be paid, the last
                // rung's order stands.
                let floor = outcome.plans.last.map { Double($0.fidelity.sampleEpochs) } ?? 0
                let planned = (rungs: remaining.count, members: members.count)
                while rung > 0 && passes < floor {
                    if remaining.count > 1 {
                        remaining.removeLast()
                    } else if case let halved = groups.halved(members, smallGroups: .keep), halved.count < members.count {
                        members = halved
                        memberCosts = try members.map { try cost($0) }
                        remaining = [members.count]
                    } else {
                        break
                    }
                    passes = Self.affordableSampleEpochs(seconds: left, costs: memberCosts, sizes: remaining, trainers: parallelTrainers)
                }
                if rung > 0 && passes < floor {
                    events(.skipped(reason: String(format: "stopped after rung %d: even 2 candidates at its training would need more than the %.0f s left",
                                                   rung - 1, max(0, left / Self.plannedShareOfTimeLeft))))
                    break
                }
                if (remaining.count, members.count) != planned {
                    events(.scheduleCut(rung: rung, rungsLeft: remaining.count, members: members.count,
                                        secondsLeft: max(0, left / Self.plannedShareOfTimeLeft)))
                }
                sizes = Array(sizes[..<rung]) + remaining
                plan = RungPlan(rung: rung, candidateIDs: members, fidelity: fidelity(sampleEpochs: max(passes, floor, 1)))
                try store.saveRungPlan(plan)
            }
            let predicted = try plan.candidateIDs.reduce(0.0) { total, id in
                let c = try cost(id)
                return total + c.perSampleEpoch * Double(plan.fidelity.sampleEpochs) + c.fixed
            } / Double(max(1, min(plan.candidateIDs.count, parallelTrainers)))
            events(.rungStarted(plan, predictedSeconds: predicted))
            try sharing?.offer(plan)
            var resultByID: [String: RungResult] = [:]
            // Units another process holds are looked at again after a pause, until each has a result.
            var waiting = plan.candidateIDs
            while !waiting.isEmpty {
                var held: [String] = []
                for id in waiting {
                    let stored = try store.rungResult(rung: rung, candidateID: id)
                    let result: RungResult
                    if let stored {
                        result = stored
                    } else if let sharing, try !sharing.claim(rung: rung, candidateID: id) {
                        held.append(id)
                        continue
                    } else {
                        if shouldStop() { throw CancellationError() }
                        result = try Self.trainUnit(byID[id]!.architecture, candidateID: id, plan: plan, trainer: trainer,
                                                    seed: settings.seed, shouldStop: shouldStop)
                        try store.saveRungResult(result)
                        try sharing?.finished(rung: rung, candidateID: id)
                    }
                    if stored == nil || sharing != nil {
                        // The unit's real cost corrects the pilot's estimate for the next rung's solve.
                        let fixed = costs[id]?.fixed ?? 0
                        costs[id] = (max(1e-9, (result.seconds - fixed) / Double(plan.fidelity.sampleEpochs)), fixed)
                    }
                    resultByID[id] = result
                    events(.unitDone(result, done: resultByID.count, total: plan.candidateIDs.count, stored: stored != nil))
                }
                if !held.isEmpty {
                    if shouldStop() { throw CancellationError() }
                    sharing?.pause()
                }
                waiting = held
            }
            let results = plan.candidateIDs.map { resultByID[$0]! }
            outcome.plans.append(plan)
            outcome.results.append(results)
            let scores = Self.rungScores(results, prior: prior, priorWeight: settings.capacityPriorWeight, families: groups.family)
            let ranked = plan.candidateIDs.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }.map { plan.candidateIDs[$0] }
            members = groups.halved(ranked, smallGroups: .drop)
            rung += 1
        }
        return outcome
    }

    /// Trains one unit of a rung: a fresh network at the rung's fidelity, validated, timed.
    public static func trainUnit(_ architecture: Architecture, candidateID: String, plan: RungPlan, trainer: TaskTrainer, seed: UInt64,
                                 shouldStop: () -> Bool) throws -> RungResult {
        let clock = ContinuousClock()
        let start = clock.now
        let trained = try trainer.trainAndValidate(architecture, fidelity: plan.fidelity, seed: seed &+ UInt64(plan.rung), shouldStop: shouldStop)
        return RungResult(candidateID: candidateID, rung: plan.rung, fidelity: plan.fidelity, validationAccuracy: trained.validationAccuracy,
                          seconds: (clock.now - start).seconds, diverged: trained.diverged)
    }

    /// z(validation accuracy) over the rung's members (of the same family, when `families` is
    /// given) + λ·prior; a diverged member gets the worst accuracy first, so it ranks last
    /// among equals.
    public static func rungScores(_ results: [RungResult], prior: [String: Double], priorWeight: Double,
                                  families: [String: ArchitectureFamily]? = nil) -> [Double] {
        var z = [Double](repeating: 0, count: results.count)
        for members in Dictionary(grouping: results.indices, by: { families?[results[$0].candidateID] }).values {
            let worst = members.filter { !results[$0].diverged }.map { results[$0].validationAccuracy }.min() ?? 0
            let standardized = CapacityPrior.standardized(members.map { results[$0].diverged ? worst : results[$0].validationAccuracy })
            for (offset, index) in members.enumerated() { z[index] = standardized[offset] }
        }
        return results.indices.map { z[$0] + priorWeight * (prior[results[$0].candidateID] ?? 0) - (results[$0].diverged ? 1e6 : 0) }
    }
}

/// Everything the final stage did.
public struct FinalStageOutcome: Sendable {
    public var plans: [RungPlan]
    /// results[r] are rung r's results, in its plan's order.
    public var results: [[RungResult]]

    public init(plans: [RungPlan], results: [[RungResult]]) {
        self.plans = plans
        self.results = results
    }

    public var trainedSeconds: Double { results.joined().reduce(0) { $0 + $1.seconds } }
}

