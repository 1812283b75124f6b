import EdgeNASCore
import Foundation

/// Keeps a scoring run inside its deadline: starts from a plan's (D*, E*) and, when the
/// seconds left no longer pay for it at the speed measured so far, re-solves the plan for
/// the smaller share. Shared by `edgenas rank` and `edgenas search`.
public struct ProbeBudgetSchedule: Sendable {
    public private(set) var plan: BudgetPlan
    public private(set) var dataVolume: Int
    public private(set) var epochs: Int
    /// Measured over predicted seconds of each result so far (1 = the cost model is right).
    private var slowdownRatios: [Double] = []

    public init(plan: BudgetPlan) {
        self.plan = plan
        dataVolume = plan.dataVolume
        epochs = plan.epochs
    }

    /// Mean measured/predicted time so far, at least 0.5 so that one fast run cannot blow the budget.
    public var slowdown: Double { slowdownRatios.isEmpty ? 1 : max(0.5, SampleStatistics.mean(slowdownRatios)) }

    /// The (D, E) for the next candidate; `shrunk` is true when it is smaller than before
    /// because the run is late (5 % tolerance).
    public mutating func next(secondsLeft: Double, candidatesLeft: Int) -> (dataVolume: Int, epochs: Int, shrunk: Bool) {
        let share = secondsLeft / Double(max(candidatesLeft, 1))
        let current = BudgetPoint(dataVolume: Double(dataVolume), epochs: Double(epochs))
        guard plan.cost.measuredSeconds(current) * slowdown > share * 1.05 else { return (dataVolume, epochs, false) }
        let shrunk = plan.replanned(perCandidateBudgetSeconds: max(share / slowdown, 0))
        guard shrunk.dataVolume * shrunk.epochs < dataVolume * epochs else { return (dataVolume, epochs, false) }
        dataVolume = shrunk.dataVolume
        epochs = shrunk.epochs
        return (dataVolume, epochs, true)
    }

    /// Learns the real speed from a finished candidate.
    public mutating func record(_ result: ProbeResult) {
        let predicted = plan.cost.measuredSeconds(BudgetPoint(dataVolume: Double(result.dataVolume), epochs: Double(result.epochs)))
        slowdownRatios.append(result.seconds / max(predicted, 1e-9))
    }

    /// The (D, E) of one more pass over all `candidates` with a new probe seed that fits in
    /// `secondsLeft` at the speed measured so far, or nil when none fits or when the best that
    /// fits is predicted to rank less than 80 % as reliably as the plan (a pass of mostly
    /// noise would dilute the average rather than sharpen it; an uncalibrated plan takes any
    /// pass with at least half its training).
    public func extraPassSetting(secondsLeft: Double, candidates: Int) -> (dataVolume: Int, epochs: Int)? {
        let share = 0.97 * secondsLeft / Double(max(candidates, 1)) / slowdown
        guard share > plan.cost.fixedSeconds else { return nil }
        let choice = plan.replanned(perCandidateBudgetSeconds: share)
        let seconds = plan.cost.measuredSeconds(BudgetPoint(dataVolume: Double(choice.dataVolume), epochs: Double(choice.epochs)))
        guard seconds <= share else { return nil }
        if plan.anchors.isEmpty {
            // Uncalibrated: no reliability to compare, so a pass is worth it at half the plan's training or more.
            guard 2 * choice.dataVolume * choice.epochs >= plan.dataVolume * plan.epochs else { return nil }
        } else {
            guard choice.predictedReliability >= 0.8 * plan.predictedReliability else { return nil }
        }
        return (choice.dataVolume, choice.epochs)
    }
}
