import EdgeNASCore
import Foundation

/// One named score a scorer produces per candidate (a probe, or a zero-cost proxy).
public struct ScoreCriterion: Codable, Sendable, Equatable {
    public var name: String
    public var lowerIsBetter: Bool

    public init(name: String, lowerIsBetter: Bool) {
        self.name = name
        self.lowerIsBetter = lowerIsBetter
    }
}

/// What scoring one candidate produced: raw scores by criterion name, the criteria whose
/// training diverged (they get the worst score when totals are formed), and the time taken.
public struct CandidateEvaluation: Codable, Sendable, Equatable {
    public var rawScores: [String: Double]
    public var diverged: [String]
    public var seconds: Double

    public init(rawScores: [String: Double], diverged: [String] = [], seconds: Double) {
        self.rawScores = rawScores
        self.diverged = diverged
        self.seconds = seconds
    }
}

/// Settings a scorer chose before scoring (e.g. the budget-adaptive data volume and epochs),
/// stored with the run so that a resumed search scores the rest exactly as the first part.
public struct ScoringPlan: Codable, Sendable, Equatable {
    /// The scorer's own serialised plan.
    public var encoded: Data
    /// Markdown for the run report: fitted surface, chosen point, predicted reliability and cost.
    public var summary: String

    public init(encoded: Data, summary: String) {
        self.encoded = encoded
        self.summary = summary
    }
}

/// How much one candidate is trained when it is scored (the probes' D and E); nil for
/// scorers that do not train.
public struct ScoringFidelity: Sendable, Equatable {
    public var dataVolume: Int?
    public var epochs: Int?

    public init(dataVolume: Int? = nil, epochs: Int? = nil) {
        self.dataVolume = dataVolume
        self.epochs = epochs
    }

    /// No training: a zero-cost scorer's only fidelity.
    public static let untrained = ScoringFidelity()
}

/// Scores candidates; search needs nothing else of a scorer.
///
/// Scores are relative: `totals` compares a whole pool, so a candidate's total can change
/// when others are added, while its `CandidateEvaluation` never does (that is what is stored).
public protocol CandidateScorer: AnyObject {
    /// The `--scorer` name, e.g. `probes` or `params`.
    var name: String { get }
    var criteria: [ScoreCriterion] { get }

    /// Chooses how to score within the budget, spending part of it on calibration when the
    /// scorer needs it; nil when there is nothing to plan.
    func plan(calibrationCandidates: [Architecture], totalBudgetSeconds: Double, candidateCount: Int,
              progress: @escaping (String) -> Void) throws -> ScoringPlan?

    /// Adopts a plan stored by an earlier, interrupted run.
    func adopt(_ plan: ScoringPlan) throws

    /// How the next candidate is to be scored, given the runner-seconds left for scoring
    /// (wall seconds × candidates scored side by side) and how many candidates are still
    /// to start (this one included): a late run spends less on each. Called one candidate at
    /// a time, in candidate order.
    func fidelity(secondsLeft: Double, remainingCandidates: Int) -> ScoringFidelity

    /// Scores one candidate at `fidelity`; a diverging criterion is reported in the result,
    /// not thrown. Several candidates may be scored at once, so this must not change the
    /// scorer's state.
    func evaluate(_ architecture: Architecture, seed: UInt64, fidelity: ScoringFidelity) throws -> CandidateEvaluation

    /// Learns from a finished candidate (e.g. the real speed); called one at a time.
    func record(_ evaluation: CandidateEvaluation, fidelity: ScoringFidelity)

    /// One total per evaluation, higher is better, comparable only within this pool.
    func totals(_ evaluations: [CandidateEvaluation]) -> [Double]
}

extension CandidateScorer {
    /// Scorers that do not train score every candidate the same way.
    public func fidelity(secondsLeft: Double, remainingCandidates: Int) -> ScoringFidelity { .untrained }

    public func record(_ evaluation: CandidateEvaluation, fidelity: ScoringFidelity) {}
}
