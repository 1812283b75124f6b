import Foundation

/// One process's part in a run shared through a store: what it was asked to do (show the
/// status, rebuild the outputs, prepare the run, start local workers, or work), and what is
/// left for the caller (print the status, write the outputs, or nothing).
public enum SharedRun {
    static let runFolderKey = "run_folder"
    static let policyKey = "claim_policy"

    /// What every worker of the run reads: the claim policy and the folder for the outputs.
    public static func recordSettings(in store: RunStore, runFolder: URL, policy: ClaimPolicy) throws {
        try store.setSetting(runFolderKey, runFolder.standardizedFileURL.path)
        try store.setEncodedSetting(policyKey, policy)
    }

    /// The run's claim policy (the default for a run that recorded none).
    public static func policy(of store: RunStore) throws -> ClaimPolicy {
        try store.decodedSetting(policyKey, as: ClaimPolicy.self) ?? ClaimPolicy()
    }

    /// The folder the run's outputs go to; nil when the store holds no shared run.
    public static func runFolder(of store: RunStore) throws -> String? {
        try store.setting(runFolderKey)
    }

    public enum Role: Sendable {
        /// Show the run's progress.
        case status
        /// Rank what is stored, for the caller to write the outputs.
        case report
        /// Draw the candidates and calibrate the plan, then stop (`search --init`).
        case prepare
        /// Start `count` worker processes of `executable` on this machine and wait for them.
        case localWorkers(count: Int, threads: Int, executable: URL)
        /// Claim units until none is left.
        case worker(name: String, holdSecondsBeforeScoring: Double)
    }

    public enum Outcome {
        case status(String)
        /// Prepared: the candidates stored and scored so far.
        case ready(stored: Int, scored: Int)
        /// The caller writes the outputs from `leaderboard`, holding `claim` when there is one.
        case writeOutputs(Leaderboard, Claim?)
        /// Nothing left to claim; another worker writes the outputs.
        case finished
    }

    /// Runs this process's `role` on the runner's store. A run without a recorded policy (one
    /// process started it, workers go on with it) is given `runFolder` and `policyIfMissing`.
    public static func run(_ runner: SearchRunner, as role: Role, runFolder: URL, storeLocation: String,
                           policyIfMissing: ClaimPolicy) throws -> Outcome {
        switch role {
        case .status:
            return .status(try SharedRunStatus(store: runner.store, leaderboard: runner.leaderboard()).text)
        case .report:
            return .writeOutputs(try runner.leaderboard(), nil)
        default:
            break
        }
        if try runner.store.setting(policyKey) == nil {
            try recordSettings(in: runner.store, runFolder: runFolder, policy: policyIfMissing)
        }
        try runner.prepareForWorkers()
        let policy = try policy(of: runner.store)
        func options(_ name: String, hold: Double = 0) -> WorkerOptions {
            WorkerOptions(name: name, policy: policy, pollSeconds: min(1, policy.graceSeconds / 4), holdSecondsBeforeScoring: hold)
        }
        switch role {
        case .status, .report:
            preconditionFailure("handled above")
        case .prepare:
            try runner.calibrate(options(WorkerOptions.defaultName))
            let progress = try runner.store.progress()
            return .ready(stored: progress.stored, scored: progress.scored)
        case let .localWorkers(count, threads, executable):
            try LocalWorkers.run(count: count, store: storeLocation, threads: threads, executable: executable) { location in
                runner.events(.worker(.localWorkersStarted(count: count, threads: threads, location: location)))
            }
            return .writeOutputs(try runner.leaderboard(), nil)
        case let .worker(name, hold):
            switch try runner.work(options(name, hold: hold)) {
            case let .writeOutputs(board, claim): return .writeOutputs(board, claim)
            case .finished: return .finished
            }
        }
    }
}

/// `search --workers N`: N worker processes on one store, waited for.
enum LocalWorkers {
    static func run(count: Int, store: String, threads: Int, executable: URL, started: (String) -> Void) throws {
        let location = RunStores.sqlitePath(store).map { "sqlite:" + URL(fileURLWithPath: $0).standardizedFileURL.path } ?? store
        var processes: [Process] = []
        for index in 0..<count {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["worker", "--store", location, "--threads", String(threads), "--name", "local-\(index + 1)"]
            // The workers' results are the store's; their notes go to standard error.
            process.standardOutput = FileHandle.nullDevice
            do { try process.run() } catch {
                processes.forEach { $0.terminate() }
                throw SearchError.workers("cannot start worker \(index + 1) (\(executable.path)): \(error)")
            }
            processes.append(process)
        }
        started(location)
        for process in processes { process.waitUntilExit() }
        let statuses = processes.map(\.terminationStatus)
        if statuses.allSatisfy({ $0 != 0 }) {
            throw SearchError.workers("every worker failed (exit status \(statuses.map(String.init).joined(separator: ", ")))")
        }
    }
}

/// `search --store URL --status`: the shared run's progress as a few lines.
struct SharedRunStatus {
    var text: String

    init(store: RunStore, leaderboard: Leaderboard) throws {
        let units = try store.unitStates()
        let scoring = units.filter { WorkUnit.candidateID(ofScoringKey: $0.unit) != nil }
        let count = { (state: UnitState.State) in scoring.filter { $0.state == state }.count }
        let progress = try store.progress()
        var lines = ["run \(store.location)",
                     "candidates: \(progress.stored), scored \(progress.scored); units: \(count(.done)) done, "
                        + "\(count(.claimed)) claimed, \(count(.pending)) pending, \(count(.failed)) failed"]
        let claimed = units.filter { $0.state == .claimed }
        let workers = Set(claimed.compactMap(\.worker))
        for unit in claimed {
            lines.append(String(format: "  %@: %@, attempt %d, heartbeat %.0f s ago", unit.worker ?? "?", unit.unit, unit.attempts,
                                unit.heartbeatAgeSeconds ?? 0))
        }
        for unit in units where unit.state == .failed {
            lines.append("  failed \(unit.unit): \(unit.reason ?? "")")
        }
        // Worker-seconds per candidate so far, shared among the workers holding claims now.
        let seconds = try store.candidates().compactMap { try $0.evaluation()?.seconds }
        let left = count(.pending) + count(.claimed)
        if left > 0, !seconds.isEmpty, !workers.isEmpty {
            let eta = seconds.reduce(0, +) / Double(seconds.count) * Double(left) / Double(workers.count)
            lines.append(String(format: "ETA of the scoring: %.0f s at %d worker(s)", eta, workers.count))
        }
        for unit in units where [WorkUnit.plan.key, WorkUnit.finalStage.key, WorkUnit.outputs.key].contains(unit.unit) {
            lines.append("\(unit.unit): \(unit.state.rawValue)" + (unit.worker.map { " (\($0))" } ?? ""))
        }
        if let best = leaderboard.winner {
            lines.append(String(format: "best so far: %@ (Params %d, total %.3f)", best.id, best.params, best.total))
        }
        text = lines.joined(separator: "\n")
    }
}
