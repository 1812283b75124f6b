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

    /// The fields in which `other` differs from these settings, for a resume error.
    public func differences(from other: SearchSettings) -> [String] {
        var fields: [String] = []
        if spaceJSON != other.spaceJSON { fields.append("space (\(spaceName) vs \(other.spaceName))") }
        if deviceID != other.deviceID { fields.append("device (\(deviceID ?? "none") vs \(other.deviceID ?? "none"))") }
        if constraints != other.constraints { fields.append("limits (\(constraints.summary) vs \(other.constraints.summary))") }
        if budgetSeconds != other.budgetSeconds { fields.append("--budget (\(Int(budgetSeconds)) s vs \(Int(other.budgetSeconds)) s)") }
        if candidateCount != other.candidateCount { fields.append("--candidates (\(candidateCount) vs \(other.candidateCount))") }
        if strategy != other.strategy { fields.append("--strategy (\(strategy.rawValue) vs \(other.strategy.rawValue))") }
        if seed != other.seed { fields.append("--seed (\(seed) vs \(other.seed))") }
        if scorer != other.scorer { fields.append("--scorer (\(scorer) vs \(other.scorer))") }
        if finalStageShare != other.finalStageShare {
            fields.append("--final-stage-share (\(finalStageShare.map { "\($0)" } ?? "none") vs \(other.finalStageShare.map { "\($0)" } ?? "none"))")
        }
        if capacityPriorWeight != other.capacityPriorWeight {
            fields.append("--prior-weight (\(capacityPriorWeight.map { "\($0)" } ?? "none") vs \(other.capacityPriorWeight.map { "\($0)" } ?? "none"))")
        }
        if strategy == .evolution && (population != other.population || tournament != other.tournament) {
            fields.append("--population/--tournament (\(population)/\(tournament) vs \(other.population)/\(other.tournament))")
        }
        return fields
    }
}
