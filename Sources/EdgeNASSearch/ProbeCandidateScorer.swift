import EdgeNASCore
import EdgeNASProbes
import EdgeNASSelection
import EdgeNASTensor
import Foundation

/// Scores candidates with the six probes: the budget-adaptive evaluator calibrates (D, E) on
/// the first candidates within a share of the budget, then every candidate is trained at
/// that point, shrunk when the run falls behind its deadline.
public final class ProbeCandidateScorer: CandidateScorer {
    public let name = "probes"
    public let criteria = ProbeKind.allCases.map { ScoreCriterion(name: $0.rawValue, lowerIsBetter: $0.lowerIsBetter) }
    public let suite: ProbeSuite
    /// Share of the total budget spent on calibration (the rest scores the candidates).
    public let calibrationFraction: Double
    /// How many candidates calibration ranks at its anchor points.
    public let calibrationCandidates: Int
    public let weights: [ProbeKind: Double]
    /// How candidates run side by side; calibration runs the same way, so that it measures
    /// the cost of scoring under the same load.
    public let runs: ConcurrentRuns
    private var schedule: ProbeBudgetSchedule?
    /// Called when the run is late and candidates get a smaller (D, E).
    public var onShrink: (String) -> Void = { _ in }

    public init(suite: ProbeSuite, calibrationFraction: Double = 0.3, calibrationCandidates: Int = 8,
                weights: [ProbeKind: Double] = [:], runs: ConcurrentRuns = .sequential) {
        self.suite = suite
        self.runs = runs
        self.calibrationFraction = calibrationFraction
        self.calibrationCandidates = calibrationCandidates
        self.weights = weights
    }

    public func plan(calibrationCandidates pool: [Architecture], totalBudgetSeconds: Double, candidateCount: Int,
                     progress: @escaping (String) -> Void) throws -> ScoringPlan? {
        let started = ContinuousClock.now
        var lastStage = ""
        let settings = ProbeStageSettings(calibrationFraction: calibrationFraction, calibrationCandidates: calibrationCandidates,
                                          weights: weights, seed: suite.seed, runs: runs)
        // In runner-seconds, as the scoring schedule counts them.
        let runners = Double(runs.runners)
        let plan = try ProbeStage.plan(suite: suite, settings: settings, candidates: pool, budgetSeconds: totalBudgetSeconds * runners,
                                       secondsSpent: { (ContinuousClock.now - started).seconds * runners }) { step in
            // One line per stage change, e.g. "calibration 4/16 runs done: anchors D 256, candidate 1/4".
            if step.stage != lastStage {
                lastStage = step.stage
                progress("calibration \(step.completedRuns)/\(step.totalRuns) runs done: \(step.stage)")
            }
        }
        schedule = ProbeBudgetSchedule(plan: plan)
        return ScoringPlan(encoded: try JSONEncoder().encode(plan), summary: plan.summary)
    }

    public func adopt(_ stored: ScoringPlan) throws {
        schedule = ProbeBudgetSchedule(plan: try JSONDecoder().decode(BudgetPlan.self, from: stored.encoded))
    }

    public func fidelity(secondsLeft: Double, remainingCandidates: Int) -> ScoringFidelity {
        guard var schedule else { return .untrained }
        let setting = schedule.next(secondsLeft: secondsLeft, candidatesLeft: remainingCandidates)
        self.schedule = schedule
        if setting.shrunk {
            onShrink("running late: the remaining \(remainingCandidates) candidates get D \(setting.dataVolume), E \(setting.epochs)")
        }
        return ScoringFidelity(dataVolume: setting.dataVolume, epochs: setting.epochs)
    }

    public func evaluate(_ architecture: Architecture, seed: UInt64, fidelity: ScoringFidelity) throws -> CandidateEvaluation {
        guard let dataVolume = fidelity.dataVolume, let epochs = fidelity.epochs else {
            throw SearchError.badInput("the probe scorer has no plan: calibrate or adopt one first")
        }
        let result = try suite.evaluate(architecture, dataVolume: dataVolume, epochs: epochs, seed: seed)
        return CandidateEvaluation(
            rawScores: Dictionary(uniqueKeysWithValues: result.rawScores.map { ($0.key.rawValue, $0.value) }),
            diverged: result.diverged.map(\.rawValue).sorted(), seconds: result.seconds)
    }

    public func record(_ evaluation: CandidateEvaluation, fidelity: ScoringFidelity) {
        guard let dataVolume = fidelity.dataVolume, let epochs = fidelity.epochs else { return }
        schedule?.record(ProbeResult(rawScores: [:], diverged: [], seconds: evaluation.seconds, dataVolume: dataVolume, epochs: epochs))
    }

    public func totals(_ evaluations: [CandidateEvaluation]) -> [Double] {
        let results = evaluations.map { evaluation in
            ProbeResult(
                rawScores: Dictionary(uniqueKeysWithValues: evaluation.rawScores.compactMap { key, value in
                    ProbeKind(rawValue: key).map { ($0, value) }
                }),
                diverged: Set(evaluation.diverged.compactMap(ProbeKind.init(rawValue:))),
                seconds: evaluation.seconds, dataVolume: 0, epochs: 0)
        }
        return ProbeAggregation.totals(results, weights: weights).map(\.total)
    }
}

/// Scores candidates with one zero-cost proxy at initialisation (no training, no budget).
public final class ProxyCandidateScorer: CandidateScorer {
    public let proxy: ZeroCostProxy
    public let batch: ProxyBatch
    public var name: String { proxy.rawValue }
    public var criteria: [ScoreCriterion] { [ScoreCriterion(name: proxy.rawValue, lowerIsBetter: false)] }

    public init(proxy: ZeroCostProxy, batch: ProxyBatch) {
        self.proxy = proxy
        self.batch = batch
    }

    public func plan(calibrationCandidates: [Architecture], totalBudgetSeconds: Double, candidateCount: Int,
                     progress: @escaping (String) -> Void) throws -> ScoringPlan? { nil }

    public func adopt(_ plan: ScoringPlan) throws {}

    public func evaluate(_ architecture: Architecture, seed: UInt64, fidelity: ScoringFidelity) throws -> CandidateEvaluation {
        let started = ContinuousClock.now
        let value = try proxy.score(architecture, batch: batch, seed: seed)
        // A proxy that is not finite (e.g. an overflowing synflow) ranks last, as a diverged probe does.
        return CandidateEvaluation(rawScores: [proxy.rawValue: value], diverged: value.isFinite ? [] : [proxy.rawValue],
                                   seconds: (ContinuousClock.now - started).seconds)
    }

    public func totals(_ evaluations: [CandidateEvaluation]) -> [Double] {
        let values = evaluations.map { $0.rawScores[proxy.rawValue] ?? -.infinity }
        let worst = values.filter(\.isFinite).min() ?? 0
        return values.map { $0.isFinite ? $0 : worst - 1 }
    }
}
