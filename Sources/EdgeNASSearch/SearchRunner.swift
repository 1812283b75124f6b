import EdgeNASCore
import EdgeNASSelection
import EdgeNASTensor
import Foundation

/// What a running search reports, for progress bars and logs.
public enum SearchEvent: Sendable {
    /// Candidates meeting the limits are drawn: how many the run has, and the attempts so far.
    case sampled(found: Int, needed: Int, attempts: Int, rejected: Int)
    /// The scorer is calibrating; the text says what it is doing.
    case planning(String)
    /// A plan is fixed (new or adopted from the database).
    case planned(ScoringPlan)
    /// Scoring starts: how many candidates are already scored and how many there will be.
    case scoringStarted(alreadyScored: Int, total: Int)
    /// One more candidate is scored; `best` is the leader among all scored so far.
    case scored(done: Int, total: Int, latestID: String, best: LeaderboardEntry?)
    /// The final stage on the task made progress.
    case finalStage(FinalStageEvent)
    /// A worker on a shared store claimed, lost or gave back a unit, or is waiting.
    case worker(WorkerEvent)
}

/// The phases of a search, as stored in its database and shown in its report.
public enum SearchPhase {
    public static let sample = "sample"
    public static let plan = "plan"
    public static let score = "score"
    public static let finalStage = "final stage"
    /// Training (when asked), export and timing of the winner: outside the budget.
    public static let export = "export"
    /// Scoring by workers sharing a store: the sum of their seconds, which --budget does not
    /// bound (each worker scores at the plan's fidelity; more workers finish sooner).
    public static let workerScore = "score (worker-seconds)"
    /// The phases that --budget pays for.
    public static let budgeted: Set<String> = [plan, score, finalStage]
    /// The order phases are listed in.
    public static let order = [sample, plan, score, workerScore, finalStage, export]

    /// Known phases in ``order``, then any other by name.
    static func sortsBefore(_ a: String, _ b: String) -> Bool {
        let ia = order.firstIndex(of: a) ?? order.count, ib = order.firstIndex(of: b) ?? order.count
        return ia != ib ? ia < ib : a < b
    }
}

/// Runs a search from its database: draws the candidates, plans the scoring, scores what is
/// not yet scored (each result committed as it completes), and ranks. Running it again on
/// the same database resumes; on a finished database it only rebuilds the leaderboard.
public final class SearchRunner {
    public let space: SearchSpaceUnion
    public let settings: SearchSettings
    public let store: RunStore
    public let scorer: CandidateScorer
    private var sampler: ConstrainedSampler
    let events: (SearchEvent) -> Void
    /// Polled between candidates; true ends the run with ``SearchError/interrupted(scored:total:)``.
    let shouldStop: () -> Bool
    let clock = ContinuousClock()
    /// Trains the final stage's candidates; nil when the scorer has no final stage.
    let task: TaskTrainer?
    /// Candidates scored side by side (the final stage trains one at a time).
    let runs: ConcurrentRuns

    public init(space: SearchSpaceUnion, settings: SearchSettings, store: RunStore, costModel: CostModel,
                scorer: CandidateScorer, task: TaskTrainer? = nil, attemptsPerCandidate: Int = 2000, runs: ConcurrentRuns = .sequential,
                events: @escaping (SearchEvent) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }) {
        self.runs = runs
        precondition(settings.effectiveFinalStageShare == 0 || task != nil, "SearchRunner: scorer \(settings.scorer) needs a task")
        self.task = task
        self.space = space
        self.settings = settings
        self.store = store
        self.scorer = scorer
        self.sampler = ConstrainedSampler(constraints: settings.constraints, costModel: costModel,
                                          attemptsPerCandidate: attemptsPerCandidate)
        self.events = events
        self.shouldStop = shouldStop
    }

    /// Sampling statistics of this process (a resumed run counts only its own attempts).
    public var samplingAttempts: (attempts: Int, rejected: Int) { (sampler.attempts, sampler.rejected) }

    public func run() throws -> Leaderboard {
        let initialCount = settings.strategy == .random ? settings.candidateCount
            : min(settings.population, settings.candidateCount)
        try timed(SearchPhase.sample) { try drawInitialCandidates(count: initialCount) }
        try timed(SearchPhase.plan) { try planScoring() }
        try timed(SearchPhase.score) { try scoreAll() }
        if settings.effectiveFinalStageShare > 0 { try timed(SearchPhase.finalStage) { try runFinalStage() } }
        return try leaderboard()
    }

    /// The ranking of everything scored so far, in the selection pipeline's order when the
    /// scorer is the pipeline or the task stage.
    public func leaderboard() throws -> Leaderboard {
        let board = try Leaderboard(records: try store.candidates(), scorer: scorer)
        guard let mode = settings.selectionMode, mode != .probes else { return board }
        return try board.ranked(mode: mode, rungResults: try store.rungResults(), priorWeight: finalStageSettings.capacityPriorWeight)
    }

    var finalStageSettings: FinalStageSettings {
        FinalStageSettings(capacityPriorWeight: settings.capacityPriorWeight ?? FinalStageSettings().capacityPriorWeight, seed: settings.seed)
    }

    /// Seconds of the budget already spent on planning, scoring and the final stage, over every resumption.
    private func spentSeconds(phases: Set<String>) throws -> Double {
        try store.phaseTimes().filter { phases.contains($0.name) }.reduce(0) { $0 + $1.seconds }
    }

    /// Successive halving on the task, entered in the prior's order, with whatever budget
    /// the earlier phases left (`budgetSeconds` when given); each unit is stored as it
    /// finishes, so a resumed run retrains nothing.
    func runFinalStage(budgetSeconds: Double? = nil, sharing: RungUnitSharing? = nil, trainers: Int = 1) throws {
        guard let task else { return }
        let board = try leaderboard()
        let candidates = try board.entries.map { entry in
            SelectionCandidate(id: entry.id, architecture: try Architecture(jsonData: Data(entry.architectureJSON.utf8), file: "candidate \(entry.id)"))
        }
        let priorValues = CapacityPrior.values(candidates.map(\.architecture))
        let prior = Dictionary(uniqueKeysWithValues: zip(candidates.map(\.id), priorValues))
        let left = try budgetSeconds ?? (settings.budgetSeconds - spentSeconds(phases: SearchPhase.budgeted))
        let halving = SuccessiveHalving(settings: finalStageSettings, trainer: task, store: store,
                                        events: { [events] in events(.finalStage($0)) }, shouldStop: shouldStop)
        halving.sharing = sharing
        halving.parallelTrainers = trainers
        do {
            // As the leaderboard ranks it (``Leaderboard/ranked``: the pipeline has a family score).
            _ = try halving.run(SelectionPipeline.finalStageEntryOrder(prior: priorValues).map { candidates[$0] }, prior: prior,
                                budgetSeconds: max(0, left),
                                withinFamilies: SelectionRanking.ranksWithinFamilies(candidates.map(\.architecture.family),
                                                                                     hasFamilyScore: settings.selectionMode == .pipeline))
        } catch is CancellationError {
            throw SearchError.interrupted(scored: settings.candidateCount, total: settings.candidateCount)
        }
    }

    // MARK: Phases

    /// Draws the first `count` candidates of the seeded stream; candidates already in the
    /// database were drawn from the same stream, so a resumed run appends only the rest.
    func drawInitialCandidates(count: Int) throws {
        let stored = try store.candidates()
        guard stored.count < count else { return }
        var generator = SeededGenerator(seed: settings.seed)
        var drawn: [FeasibleCandidate] = []
        var seen = Set<String>()
        while drawn.count < count {
            let candidate = try drawFresh(index: drawn.count, excluding: seen, using: &generator)
            seen.insert(candidate.architecture.id)
            drawn.append(candidate)
            events(.sampled(found: drawn.count, needed: count, attempts: sampler.attempts, rejected: sampler.rejected))
        }
        try store.append(Array(drawn.dropFirst(stored.count)), origin: "sampled")
    }

    /// The part of the budget for planning and scoring; the final stage gets the rest.
    private var scoringBudgetSeconds: Double { settings.budgetSeconds * (1 - settings.effectiveFinalStageShare) }

    func planScoring() throws {
        if let stored = try store.decodedSetting("plan", as: ScoringPlan.self) {
            try scorer.adopt(stored)
            events(.planned(stored))
            return
        }
        let calibration = try store.candidates().map { try $0.architecture() }
        let plan = try scorer.plan(
            calibrationCandidates: calibration, totalBudgetSeconds: scoringBudgetSeconds,
            candidateCount: settings.candidateCount, progress: { [events] in events(.planning($0)) })
        if let plan {
            try store.setEncodedSetting("plan", plan)
            events(.planned(plan))
        }
    }

    private func scoreAll() throws {
        // The scoring share of the budget covers planning and scoring across every resumption of the run.
        let deadline = clock.now + .seconds(max(0, scoringBudgetSeconds - (try spentSeconds(phases: [SearchPhase.plan, SearchPhase.score]))))
        // N candidates side by side get N runner-seconds per second of the deadline.
        let runners = Double(runs.runners)
        // The candidates live in memory while they are scored: reading them all back and
        // re-ranking them after every candidate made a zero-cost search quadratic.
        var records = try store.candidates()
        var leader = try RunningLeader(records: records, scorer: scorer)
        let alreadyScored = leader.scoredCount
        events(.scoringStarted(alreadyScored: alreadyScored, total: settings.candidateCount))
        var scoredCount = alreadyScored
        var startedCount = alreadyScored
        while true {
            // A stop request is polled once per candidate, before it starts (in `prepare`).
            let pending = records.indices.filter { records[$0].evaluationJSON == nil }
            if pending.isEmpty {
                guard records.count < settings.candidateCount else { break }
                // A child is bred from the scores of every candidate before it, so it is
                // proposed only once they are all in: side-by-side runs then score what a
                // sequential run scores.
                records.append(try proposeChild(records: records))
                continue
            }
            do {
                try runs.forEach(pending.count, prepare: { offset -> (Architecture, ScoringFidelity) in
                    if shouldStop() { throw CancellationError() }
                    let secondsLeft = max(0, (deadline - clock.now).seconds) * runners
                    let fidelity = scorer.fidelity(secondsLeft: secondsLeft, remainingCandidates: settings.candidateCount - startedCount)
                    startedCount += 1
                    return (try records[pending[offset]].architecture(), fidelity)
                }, work: { _, next in
                    (try scorer.evaluate(next.0, seed: settings.seed, fidelity: next.1), next.1)
                }, finish: { offset, result in
                    let (evaluation, fidelity) = result
                    let index = pending[offset]
                    scorer.record(evaluation, fidelity: fidelity)
                    records[index].evaluationJSON = try store.recordEvaluation(evaluation, forCandidate: records[index].id)
                    leader.add(records[index], evaluation)
                    scoredCount += 1
                    events(.scored(done: scoredCount, total: settings.candidateCount, latestID: records[index].id,
                                   best: leader.best(final: scoredCount == settings.candidateCount)))
                })
            } catch is CancellationError {
                // Runs in flight finished and were stored before the stop took effect.
                throw SearchError.interrupted(scored: scoredCount, total: settings.candidateCount)
            }
        }
    }

    /// Regularised evolution: the population is the most recent `population` candidates; the
    /// best of `tournament` random members is mutated until the child meets the limits.
    private func proposeChild(records: [CandidateRecord]) throws -> CandidateRecord {
        let board = try Leaderboard(records: records, scorer: scorer)
        let totalByID = Dictionary(uniqueKeysWithValues: board.entries.map { ($0.id, $0.total) })
        let population = Array(records.suffix(settings.population))
        // Each child has its own stream, named by its position, so a resumed run proposes the same child.
        var generator = SeededGenerator(seed: settings.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(records.count))
        var contenders: [CandidateRecord] = []
        for _ in 0..<min(settings.tournament, population.count) {
            contenders.append(population[generator.uniformIndex(below: population.count)])
        }
        let parent = contenders.max { (totalByID[$0.id] ?? -.infinity) < (totalByID[$1.id] ?? -.infinity) }!
        let parentArchitecture = try parent.architecture()
        let seen = Set(records.map(\.id))
        let child: FeasibleCandidate
        do {
            child = try sampler.next(excluding: seen, found: records.count, needed: settings.candidateCount,
                                     draw: { space.mutate(parentArchitecture, using: &$0) }, using: &generator)
        } catch SearchError.infeasible {
            // Every mutation of this parent breaks a limit or repeats a member: fall back to a fresh sample.
            let sample = try drawFresh(index: records.count, excluding: seen, using: &generator)
            return try store.append(sample, origin: "sampled")
        }
        return try store.append(child, origin: "mutated from \(parent.id)")
    }

    /// A fresh sample for candidate `index` under the limits: from the union member whose
    /// share it is (found once, not per redraw), another member standing in after
    /// ``SearchSpaceUnion/drawsBeforeOtherMembers`` draws.
    private func drawFresh(index: Int, excluding seen: Set<String>, using generator: inout SeededGenerator) throws -> FeasibleCandidate {
        let member = space.memberIndex(forCandidate: index)
        var attempt = 0
        return try sampler.next(excluding: seen, found: index, needed: settings.candidateCount, draw: {
            defer { attempt += 1 }
            return space.sample(member: member, attempt: attempt, using: &$0)
        }, using: &generator)
    }

    func timed(_ phase: String, _ body: () throws -> Void) throws {
        let start = clock.now
        defer {
            try? store.addPhaseTime(phase, seconds: (clock.now - start).seconds)
        }
        try body()
    }
}

