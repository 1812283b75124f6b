import EdgeNASCore
import EdgeNASSelection
import Foundation

/// How candidates are proposed.
public enum SearchStrategyKind: String, Codable, Sendable, CaseIterable {
    /// Independent uniform samples, resampled until they meet the limits (the paper's default).
    case random
    /// Regularised evolution: tournament selection on scores so far, one mutation per child,
    /// the oldest member leaves the population.
    case evolution
}

/// Everything that decides a search's result; stored in the run database and compared on
/// `--resume`, so that a resumed run cannot silently change its own terms.
public struct SearchSettings: Codable, Sendable, Equatable {
    public var spaceName: String
    /// The space as canonical text, so a resumed run uses exactly the space it started with.
    public var spaceJSON: String
    public var deviceID: String?
    public var constraints: SearchConstraints
    public var budgetSeconds: Double
    public var candidateCount: Int
    public var strategy: SearchStrategyKind
    public var seed: UInt64
    public var scorer: String
    /// Evolution only: population size (the first `population` candidates are random samples)
    /// and tournament size.
    public var population: Int
    public var tournament: Int
    /// Share of the budget for the final stage on the task (pipeline scorer; nil in runs
    /// stored before the final stage existed, which had none).
    public var finalStageShare: Double?
    /// λ of the capacity prior in the final stage's rung scores.
    public var capacityPriorWeight: Double?

    // Recorded since runs remember every option that shapes their outputs; nil in runs of
    // older versions (``completed(from:imagesPath:legacyExportPath:)`` fills them in).

    /// The run's identity (8 hex digits), which names its default export.
    public var runID: String?
    /// The quantile the latency limit was resolved from, when it was given as one.
    public var maxLatencyQuantile: Double?
    /// `--attempts`: draws per candidate before the limits are declared infeasible.
    public var attemptsPerCandidate: Int?
    /// The real images of the probes and of training the winner (absolute path).
    public var imagesPath: String?
    /// Epochs the winner is trained before export.
    public var trainEpochs: Int?
    /// Where the winner is exported (absolute path).
    public var exportPath: String?
    /// `--matmul-precision` of the engine's large matrix products ("fp32" or "bf16"): every
    /// candidate of a run is scored at one. Runs of older versions scored in fp32.
    public var matmulPrecision: String?

    public init(spaceName: String, spaceJSON: String, deviceID: String?, constraints: SearchConstraints,
                budgetSeconds: Double, candidateCount: Int, strategy: SearchStrategyKind, seed: UInt64,
                scorer: String, population: Int, tournament: Int, finalStageShare: Double? = nil,
                capacityPriorWeight: Double? = nil) {
        self.spaceName = spaceName
        self.spaceJSON = spaceJSON
        self.deviceID = deviceID
        self.constraints = constraints
        self.budgetSeconds = budgetSeconds
        self.candidateCount = candidateCount
        self.strategy = strategy
        self.seed = seed
        self.scorer = scorer
        self.population = population
        self.tournament = tournament
        self.finalStageShare = finalStageShare
        self.capacityPriorWeight = capacityPriorWeight
    }

    /// The selection mode of the scorer, nil for a zero-cost proxy.
    public var selectionMode: SelectionMode? { SelectionMode(rawValue: scorer) }

    /// The share of the budget the final stage gets: F for the pipeline, all for `task`, none otherwise.
    public var effectiveFinalStageShare: Double {
        guard let mode = selectionMode else { return 0 }
        return SelectionSettings(mode: mode, finalStageShare: finalStageShare ?? 0).effectiveFinalStageShare
    }
}
