import EdgeNASCore
import EdgeNASSelection
import Foundation

/// What a worker on a shared store reports, besides the scores.
public enum WorkerEvent: Sendable {
    case claimed(unit: String, attempt: Int)
    /// The unit's heartbeat went stale and another worker took it: this result was dropped.
    case claimLost(unit: String)
    /// Scoring failed; the unit is pending again, or failed once it had every attempt.
    case released(unit: String, reason: String)
    /// Nothing to claim now: other workers hold the rest.
    case waiting(String)
    /// A unit that used every attempt; the run goes on without it.
    case unitFailed(unit: String, reason: String)
    /// This worker trained one candidate of a final-stage rung for the stage's worker.
    case trainedRungUnit(RungResult)
    /// `search --workers N` started its worker processes on the store at `location`.
    case localWorkersStarted(count: Int, threads: Int, location: String)
}

/// How a worker ends.
public enum WorkerOutcome {
    /// This worker holds the outputs unit: it writes the run folder from `leaderboard`, then
    /// calls ``RunStore/finish(_:)`` with the claim.
    case writeOutputs(Leaderboard, Claim)
    /// The run is done, or another worker is writing its outputs.
    case finished(Leaderboard)
}

/// Who a worker is and how it claims.
public struct WorkerOptions: Sendable {
    /// Unique among the run's workers (host and process id by default), shown in `--status`.
    public var name: String
    public var policy: ClaimPolicy
    /// How long an idle worker waits before it looks for work again.
    public var pollSeconds: Double
    /// Fault injection for the tests of lost workers: sleep this long holding each scoring
    /// claim before scoring, as a slow candidate would.
    public var holdSecondsBeforeScoring: Double

    public init(name: String, policy: ClaimPolicy = ClaimPolicy(), pollSeconds: Double = 1, holdSecondsBeforeScoring: Double = 0) {
        self.name = name
        self.policy = policy
        self.pollSeconds = pollSeconds
        self.holdSecondsBeforeScoring = holdSecondsBeforeScoring
    }

    /// `host:pid`, unique across machines and processes.
    public static var defaultName: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }
}

/// Renews a claim's heartbeat on its own thread while the claim's work runs.
final class Heartbeat: @unchecked Sendable {
    private let store: RunStore
    private let claim: Claim
    private let interval: Double
    private let stopped = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var lostClaim = false

    init(store: RunStore, claim: Claim, interval: Double) {
        self.store = store
        self.claim = claim
        self.interval = interval
    }

    /// True when a renewal found the claim taken by another worker.
    var lost: Bool { lock.withLock { lostClaim } }

    func start() {
        Thread { [self] in
            while stopped.wait(timeout: .now() + interval) == .timedOut {
                // A failed renewal (the database is briefly away) is retried at the next beat;
                // the grace period is several beats long.
                if let renewed = try? store.heartbeat(claim), !renewed {
                    lock.withLock { lostClaim = true }
                    break
                }
            }
            finished.signal()
        }.start()
    }

    func stop() {
        stopped.signal()
        finished.wait()
    }
}

extension SearchRunner {
    /// A run to be shared by workers: draws every candidate and registers the units of work
    /// (the plan, one scoring per unscored candidate, the final stage, the outputs). Only the
    /// random strategy: evolution breeds each child from every score before it. Safe to repeat,
    /// and a run started by one process can be handed to workers this way.
    public func prepareForWorkers() throws {
        guard settings.strategy == .random else {
            throw SearchError.badInput("workers score random-strategy runs only: evolution breeds each child from every score "
                + "before it, so its candidates cannot be handed out in advance")
        }
        try timed(SearchPhase.sample) { try drawInitialCandidates(count: settings.candidateCount) }
        // The report is written by whichever worker claims the outputs: it reads the draws from here.
        if samplingAttempts.attempts > 0 {
            try store.setEncodedSetting(Self.samplingKey, [samplingAttempts.attempts, samplingAttempts.rejected])
        }
        var units: [WorkUnit] = [.plan]
        units += try store.candidates().filter { $0.evaluationJSON == nil }.map { WorkUnit.score(candidateID: $0.id, position: $0.position) }
        if settings.effectiveFinalStageShare > 0 { units.append(.finalStage) }
        units.append(.outputs)
        try store.registerUnits(units)
    }

    static let samplingKey = "sampling_attempts"

    /// Draws and rejections of the sampling, by the process that drew the candidates of a
    /// shared run (this process's own otherwise).
    public func runSamplingAttempts() throws -> (attempts: Int, rejected: Int) {
        guard samplingAttempts.attempts == 0, let stored = try store.decodedSetting(Self.samplingKey, as: [Int].self),
              stored.count == 2 else { return samplingAttempts }
        return (stored[0], stored[1])
    }

    /// Runs `body` while a heartbeat keeps `claim`; true in `lost` when the claim went to
    /// another worker meanwhile.
    public func holding<Value>(_ claim: Claim, policy: ClaimPolicy, _ body: () throws -> Value) rethrows -> (value: Value, lost: Bool) {
        let heartbeat = Heartbeat(store: store, claim: claim, interval: policy.heartbeatSeconds)
        heartbeat.start()
        let value: Value
        do { value = try body() } catch {
            heartbeat.stop()
            throw error
        }
        heartbeat.stop()
        return (value, heartbeat.lost)
    }

    /// Works on a shared run until nothing is left: calibrates the plan if no worker has,
    /// scores candidates one claim at a time at the plan's fidelity (so scores from every
    /// worker compare), runs the final stage if it falls to this worker, and claims the outputs.
    public func work(_ options: WorkerOptions) throws -> WorkerOutcome {
        guard try store.unitStates().contains(where: { $0.unit == WorkUnit.outputs.key }) else {
            throw SearchError.badInput("\(store.location): the run was not prepared for workers; start it with `search --store`")
        }
        try calibrate(options)
        try scoreClaims(options)
        if settings.effectiveFinalStageShare > 0 {
            // The final stage gets its share of the budget; the workers' scoring is not charged to it.
            // One worker runs the stage and plans its rungs; the others train rung units meanwhile.
            let sharing = StoreRungSharing(runner: self, options: options)
            try runNamedUnit(.finalStage, options, whileBusy: { try trainRungUnit(options) }) {
                // The workers seen lately wait for the stage and train its units: its rungs are
                // planned for that many trainers, so that the stage spends its share of the budget.
                let trainers = try activeWorkers(options)
                try timed(SearchPhase.finalStage) {
                    try runFinalStage(budgetSeconds: settings.budgetSeconds * settings.effectiveFinalStageShare, sharing: sharing,
                                      trainers: trainers)
                }
            }
        }
        let board = try leaderboard()
        switch try store.claim(.outputs, worker: options.name, policy: options.policy) {
        case let .claimed(claim): return .writeOutputs(board, claim)
        case .busy, .done, .failed: return .finished(board)
        }
    }

    /// Calibrates the scoring plan once per run (waiting while another worker does), then
    /// adopts it: every worker scores at the same (D, E) with the same probe data.
    public func calibrate(_ options: WorkerOptions) throws {
        try runNamedUnit(.plan, options) { try timed(SearchPhase.plan) { try planScoring() } }
        // Adopts the stored plan; a zero-cost scorer has none, and plans nothing again.
        try planScoring()
    }

    /// Claims a once-per-run unit and runs it; while another worker holds it, does
    /// `whileBusy` (true when it found work) or waits.
    private func runNamedUnit(_ unit: WorkUnit, _ options: WorkerOptions, whileBusy: () throws -> Bool = { false },
                              _ body: () throws -> Void) throws {
        while true {
            if shouldStop() { throw CancellationError() }
            switch try store.claim(unit, worker: options.name, policy: options.policy) {
            case let .claimed(claim):
                events(.worker(.claimed(unit: claim.unit, attempt: claim.attempt)))
                do {
                    let (_, lost) = try holding(claim, policy: options.policy, body)
                    if try lost || !store.finish(claim) { events(.worker(.claimLost(unit: claim.unit))) }
                } catch {
                    // Given back at once (a stop, or an error), so no other worker waits out the grace period.
                    try? store.release(claim, reason: "\(error)", policy: options.policy)
                    throw error
                }
                return
            case .done:
                return
            case let .failed(reason):
                throw SearchError.runDatabase("\(store.location): the run's \(unit.key) failed: \(reason)")
            case .busy:
                if try whileBusy() { continue }
                events(.worker(.waiting("another worker holds the \(unit.key)")))
                Thread.sleep(forTimeInterval: options.pollSeconds)
            }
        }
    }

    /// Workers (this one included) that claimed or finished a unit within two grace periods.
    private func activeWorkers(_ options: WorkerOptions) throws -> Int {
        let window = 2 * max(options.policy.graceSeconds, 30)
        // Scoring and rung units only: the plan may have been calibrated by a process that has left (search --init).
        let recent = try store.unitStates().filter {
            ($0.unit.hasPrefix("score ") || $0.unit.hasPrefix("rung ")) && ($0.secondsSinceHeartbeat ?? .infinity) <= window
        }.compactMap(\.worker)
        return Set(recent + [options.name]).count
    }

    /// Trains one rung unit that the final stage's worker offered; false when none is free.
    private func trainRungUnit(_ options: WorkerOptions) throws -> Bool {
        guard let task, let claim = try store.claimNext(.rungUnit, worker: options.name, policy: options.policy) else { return false }
        guard let (rung, id) = WorkUnit.rungUnit(ofKey: claim.unit), let plan = try store.rungPlan(rung),
              let record = try store.candidates().first(where: { $0.id == id }) else {
            try store.release(claim, reason: "no rung plan or candidate for \(claim.unit)", policy: ClaimPolicy(maxAttempts: 0))
            return true
        }
        if try store.rungResult(rung: rung, candidateID: id) == nil {
            let (result, lost) = try holding(claim, policy: options.policy) {
                try SuccessiveHalving.trainUnit(try record.architecture(), candidateID: id, plan: plan, trainer: task, seed: settings.seed,
                                                shouldStop: shouldStop)
            }
            guard !lost else {
                events(.worker(.claimLost(unit: claim.unit)))
                return true
            }
            try StoreRungSharing.save(result, in: store)
            events(.worker(.trainedRungUnit(result)))
        }
        _ = try store.finish(claim)
        return true
    }

    private func scoreClaims(_ options: WorkerOptions) throws {
        let records = Dictionary(uniqueKeysWithValues: try store.candidates().map { ($0.id, $0) })
        // Every worker scores at the plan's own point: no worker shrinks it for lateness.
        let fidelity = scorer.fidelity(secondsLeft: .greatestFiniteMagnitude, remainingCandidates: 1)
        var reportedFailures = Set<String>()
        events(.scoringStarted(alreadyScored: try store.progress().scored, total: records.count))
        while true {
            if shouldStop() { throw SearchError.interrupted(scored: try store.progress().scored, total: records.count) }
            guard let claim = try store.claimNextScoring(worker: options.name, policy: options.policy) else {
                let scoring = try store.unitStates().filter { WorkUnit.candidateID(ofScoringKey: $0.unit) != nil }
                for unit in scoring where unit.state == .failed && !reportedFailures.contains(unit.unit) {
                    reportedFailures.insert(unit.unit)
                    events(.worker(.unitFailed(unit: unit.unit, reason: unit.reason ?? "failed")))
                }
                let held = scoring.filter { $0.state == .claimed || $0.state == .pending }.count
                if held == 0 { return }
                events(.worker(.waiting("\(held) candidate(s) held by other workers")))
                Thread.sleep(forTimeInterval: options.pollSeconds)
                continue
            }
            events(.worker(.claimed(unit: claim.unit, attempt: claim.attempt)))
            guard let id = WorkUnit.candidateID(ofScoringKey: claim.unit), let record = records[id] else {
                try store.release(claim, reason: "no candidate \(claim.unit) in the run", policy: ClaimPolicy(maxAttempts: 0))
                continue
            }
            let evaluation: CandidateEvaluation
            do {
                (evaluation, _) = try holding(claim, policy: options.policy) {
                    if options.holdSecondsBeforeScoring > 0 { Thread.sleep(forTimeInterval: options.holdSecondsBeforeScoring) }
                    return try scorer.evaluate(try record.architecture(), seed: settings.seed, fidelity: fidelity)
                }
            } catch {
                let reason = "\(error)"
                try store.release(claim, reason: reason, policy: options.policy)
                events(.worker(.released(unit: claim.unit, reason: reason)))
                continue
            }
            guard try store.completeScoring(claim, candidateID: id, evaluation: evaluation) else {
                events(.worker(.claimLost(unit: claim.unit)))
                continue
            }
            try store.addPhaseTime(SearchPhase.workerScore, seconds: evaluation.seconds)
            let done = try store.progress().scored
            events(.scored(done: done, total: records.count, latestID: id, best: nil))
        }
    }
}

/// The final stage's side of rung units shared through the run's store: each rung's units are
/// registered as claimable, and a unit this worker claims keeps a heartbeat until it is trained.
final class StoreRungSharing: RungUnitSharing {
    private let runner: SearchRunner
    private let options: WorkerOptions
    private var held: [String: (claim: Claim, heartbeat: Heartbeat)] = [:]

    init(runner: SearchRunner, options: WorkerOptions) {
        self.runner = runner
        self.options = options
    }

    func offer(_ plan: RungPlan) throws {
        try runner.store.registerUnits(plan.candidateIDs.enumerated().map { .rungUnit(rung: plan.rung, candidateID: $1, index: $0) })
    }

    func claim(rung: Int, candidateID: String) throws -> Bool {
        let unit = WorkUnit.rungUnit(rung: rung, candidateID: candidateID, index: 0)
        switch try runner.store.claim(unit, worker: options.name, policy: options.policy) {
        case let .claimed(claim):
            let heartbeat = Heartbeat(store: runner.store, claim: claim, interval: options.policy.heartbeatSeconds)
            heartbeat.start()
            held[unit.key] = (claim, heartbeat)
            return true
        case .busy, .done:
            // Done by another worker: its result is stored, and the stage reads it.
            return false
        case .failed:
            // Every other attempt failed: the stage's worker trains it itself.
            return true
        }
    }

    func finished(rung: Int, candidateID: String) throws {
        guard let (claim, heartbeat) = held.removeValue(forKey: WorkUnit.rungUnit(rung: rung, candidateID: candidateID, index: 0).key) else { return }
        heartbeat.stop()
        _ = try runner.store.finish(claim)
    }

    func pause() { Thread.sleep(forTimeInterval: options.pollSeconds) }

    /// Stores a unit's result; one stored meanwhile by a worker that held a stale claim stands.
    static func save(_ result: RungResult, in store: RunStore) throws {
        do { try store.saveRungResult(result) } catch {
            guard try store.rungResult(rung: result.rung, candidateID: result.candidateID) != nil else { throw error }
        }
    }
}
