import EdgeNASCore
import EdgeNASProbes
import Foundation

/// Which stages pick the model.
public enum SelectionMode: String, CaseIterable, Sendable, Codable {
    /// Probes, then the final stage on the user's task, with the capacity prior throughout.
    case pipeline
    /// The six probes alone (the paper's score).
    case probes
    /// The final stage alone: successive halving on the user's task from the capacity prior's order.
    case task
}

/// How the pipeline spends a budget.
public struct SelectionSettings: Sendable {
    public var mode: SelectionMode
    /// Share of the budget for the final stage in `pipeline` mode; the probes get the rest
    /// (`probes` mode spends it all on probes, `task` mode all on the final stage).
    public var finalStageShare: Double
    public var probe: ProbeStageSettings
    public var finalStage: FinalStageSettings

    /// The final-stage share measured best on the dev data (see the README's selection section).
    public static let defaultFinalStageShare = 0.7

    public init(mode: SelectionMode = .pipeline, finalStageShare: Double = SelectionSettings.defaultFinalStageShare,
                probe: ProbeStageSettings = .init(), finalStage: FinalStageSettings = .init()) {
        self.mode = mode
        self.finalStageShare = finalStageShare
        self.probe = probe
        self.finalStage = finalStage
    }

    /// The final stage's share in this mode.
    public var effectiveFinalStageShare: Double {
        switch mode {
        case .pipeline: return finalStageShare
        case .probes: return 0
        case .task: return 1
        }
    }
}

/// What the pipeline reports while it runs.
public enum SelectionEvent: Sendable {
    case probe(ProbeStageEvent)
    case finalStage(FinalStageEvent)
}

/// The outcome of a selection: each stage's results and the final order.
public struct SelectionOutcome: Sendable {
    public var probe: ProbeStageOutcome?
    public var finalStage: FinalStageOutcome?
    public var ranking: SelectionRanking
    /// The capacity prior per candidate (z of log Params within its family).
    public var prior: [Double]
    public var probeSeconds: Double
    public var finalStageSeconds: Double
}

/// The selection pipeline that `rank` and `search` both run:
///
/// 1. the capacity prior, free (``CapacityPrior``);
/// 2. the probes within (1 − F) of the budget, where they earn their place: across families;
/// 3. successive halving on the user's task within the rest, entered in the prior's order
///    (the leaders of every family), each family halving on its own;
/// 4. the final order: families by their probes, each family by its training.
///
/// A stage with no share is skipped; ``SelectionRanking`` orders the pool from what ran.
public final class SelectionPipeline {
    public let settings: SelectionSettings
    private let probeSuite: ProbeSuite?
    private let task: TaskTrainer?
    private let rungStore: RungStore
    private let events: (SelectionEvent) -> Void
    private let shouldStop: () -> Bool

    /// - Parameters:
    ///   - probeSuite: needed unless the mode is `task`.
    ///   - task: needed unless the mode is `probes`.
    public init(settings: SelectionSettings, probeSuite: ProbeSuite?, task: TaskTrainer?, rungStore: RungStore = MemoryRungStore(),
                events: @escaping (SelectionEvent) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }) {
        precondition(settings.mode == .task || probeSuite != nil, "SelectionPipeline: mode \(settings.mode) needs a probe suite")
        precondition(settings.mode == .probes || task != nil, "SelectionPipeline: mode \(settings.mode) needs a task")
        self.settings = settings
        self.probeSuite = probeSuite
        self.task = task
        self.rungStore = rungStore
        self.events = events
        self.shouldStop = shouldStop
    }

    /// The score candidates rank by when the final stage does not reach them.
    ///
    /// `probes` mode: the probe total alone. `task` mode: the prior alone. `pipeline` mode:
    /// prior + z(family's mean probe total) (``familyScores(probeTotals:families:)``): the
    /// probes judge families, the prior ranks within one. A candidate's own deviation from
    /// its family's mean probe total is left out because within a family the probes rank at
    /// chance (dev data: Kendall tau −0.08 to +0.12 at 15–20 minutes), so it would only add
    /// noise to the prior.
    public static func screeningScores(mode: SelectionMode, probeTotals: [Double]?, prior: [Double],
                                       families: [ArchitectureFamily]) -> [Double] {
        switch mode {
        case .probes: return prior.indices.map { probeTotals?[$0] ?? 0 }
        case .task: return prior
        case .pipeline:
            guard let probeTotals else { return prior }
            let family = familyScores(probeTotals: probeTotals, families: families)
            return prior.indices.map { prior[$0] + family[$0] }
        }
    }

    /// z over families of each family's mean probe total, per candidate (all 0 for one family).
    public static func familyScores(probeTotals: [Double], families: [ArchitectureFamily]) -> [Double] {
        var familyMean: [ArchitectureFamily: Double] = [:]
        for family in Set(families) {
            familyMean[family] = SampleStatistics.mean(families.indices.filter { families[$0] == family }.map { probeTotals[$0] })
        }
        return CapacityPrior.standardized(families.map { familyMean[$0]! })
    }

    /// The order in which candidates enter the final stage, best first: by the capacity
    /// prior, which is z within each family, so the stage trains the leaders of every family
    /// rather than only the family the probes prefer. Each family's order then rests on its
    /// own training; the probes still order the families (``SelectionRanking``). Ties go to
    /// the earlier candidate.
    public static func finalStageEntryOrder(prior: [Double]) -> [Int] {
        prior.indices.sorted { (prior[$0], -$0) > (prior[$1], -$1) }
    }

    public func run(_ candidates: [SelectionCandidate], budgetSeconds: Double) throws -> SelectionOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let prior = CapacityPrior.values(candidates.map(\.architecture))
        let share = settings.effectiveFinalStageShare
        var probe: ProbeStageOutcome?
        if share < 1, let probeSuite {
            probe = try ProbeStage(suite: probeSuite, settings: settings.probe)
                .run(candidates, budgetSeconds: budgetSeconds * (1 - share), events: { [events] in events(.probe($0)) },
                     shouldStop: shouldStop)
        }
        let probeSeconds = (clock.now - start).seconds
        let families = candidates.map(\.architecture.family)
        let probeTotals = probe?.totals.map(\.total)
        let screening = Self.screeningScores(mode: settings.mode, probeTotals: probeTotals, prior: prior, families: families)
        var finalStage: FinalStageOutcome?
        let priorByID = Dictionary(uniqueKeysWithValues: zip(candidates.map(\.id), prior))
        let familyScore = settings.mode == .pipeline ? probeTotals.map { Self.familyScores(probeTotals: $0, families: families) } : nil
        if share > 0, let task {
            let order = Self.finalStageEntryOrder(prior: prior)
            let halving = SuccessiveHalving(settings: settings.finalStage, trainer: task, store: rungStore,
                                            events: { [events] in events(.finalStage($0)) }, shouldStop: shouldStop)
            finalStage = try halving.run(order.map { candidates[$0] }, prior: priorByID,
                                         budgetSeconds: budgetSeconds - probeSeconds,
                                         withinFamilies: SelectionRanking.ranksWithinFamilies(families, hasFamilyScore: familyScore != nil))
        }
        let ranking = SelectionRanking(candidateIDs: candidates.map(\.id), screeningScore: screening, finalStage: finalStage,
                                       prior: priorByID, priorWeight: settings.finalStage.capacityPriorWeight,
                                       families: families, familyScore: familyScore)
        return SelectionOutcome(probe: probe, finalStage: finalStage, ranking: ranking, prior: prior, probeSeconds: probeSeconds,
                                finalStageSeconds: (clock.now - start).seconds - probeSeconds)
    }
}
