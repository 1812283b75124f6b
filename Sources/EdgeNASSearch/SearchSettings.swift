import EdgeNASCore
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

    public init(spaceName: String, spaceJSON: String, deviceID: String?, constraints: SearchConstraints,
                budgetSeconds: Double, candidateCount: Int, strategy: SearchStrategyKind, seed: UInt64,
                scorer: String, population: Int, tournament: Int) {
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
        if strategy == .evolution && (population != other.population || tournament != other.tournament) {
            fields.append("--population/--tournament (\(population)/\(tournament) vs \(other.population)/\(other.tournament))")
        }
        return fields
    }
}
