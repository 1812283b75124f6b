import ArgumentParser
import EdgeNASSearch
import Foundation

/// `search`'s options for runs shared by workers through a store (SQLite or PostgreSQL).
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A run store that workers share: postgresql://USER@HOST:PORT/DB (one run per database), or a "
                               + "SQLite file (sqlite:PATH, one machine). With --space it starts the run there; without, "
                               + "this process joins the run as a worker (as `edgenas worker`).", valueName: "URL"))
    var store: String?

    @Flag(name: .customLong("init"), help: "With --store: draw the candidates and calibrate the probes' plan, then exit; workers do the rest.")
    var initOnly = false

    @Flag(help: "With --store: show the run's progress (done, claimed, failed, ETA, best so far) and exit.")
    var status = false

    @Flag(help: "With --store: write the run folder's outputs (leaderboard, Pareto plot, report, export) from the store and exit.")
    var report = false

    @Option(help: ArgumentHelp("Score with N worker processes on this machine, sharing the run folder's SQLite store (or --store).",
                               valueName: "N"))
    var workers: Int?

    @Option(help: ArgumentHelp("Starting a shared run: how long a worker may go without a heartbeat before its claim goes to "
                               + "another worker (default 60s).", valueName: "TIME"))
    var grace: DurationArgument?

    @Option(help: ArgumentHelp("Starting a shared run: claims of one unit before it is recorded as failed (default 3).", valueName: "N"))
    var retries: Int?

    @Option(help: ArgumentHelp("This worker's name in --status (default HOST:PID).", valueName: "NAME"))
    var workerName: String?

    func validate(startsRun: Bool, out: String?, resume: Bool) throws {
        let modes = [initOnly, status, report].filter { $0 }.count
        if modes > 1 { throw ValidationError("give one of --init, --status and --report") }
        if (modes > 0 || grace != nil || retries != nil) && store == nil && workers == nil {
            throw ValidationError("--init, --status, --report, --grace and --retries need --store (or --workers)")
        }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
        if let retries, retries < 1 { throw ValidationError("--retries must be at least 1, got \(retries)") }
        if store != nil && resume { throw ValidationError("--store goes on with its run by itself: leave out --resume") }
        if let store, startsRun, out == nil {
            throw ValidationError("starting a run in \(store) needs --out, the folder its outputs go to")
        }
        if let store, startsRun && (status || report) { throw ValidationError("--status and --report read the run in \(store): leave out --space") }
        if let store, RunStores.isPostgreSQL(store), workers != nil {
            throw ValidationError("--workers starts processes on this machine on a SQLite store; with PostgreSQL, start "
                + "`edgenas worker --store URL` on each machine (deploy/ has Slurm and Kubernetes launchers)")
        }
    }

    /// The run folder recorded in the store, for a command that names none.
    func storedRunFolder() throws -> String? {
        guard let store else { return nil }
        let opened: RunStore
        do { opened = try RunStores.open(store, create: false) } catch { throw CommandFailure.badInput("\(error)") }
        guard let folder = try SharedRun.runFolder(of: opened) else {
            throw CommandFailure.badInput("\(opened.location) holds no shared run; start one with `edgenas search --store \(store) "
                + "--space SPACE --out DIR ...`")
        }
        return folder
    }

    /// A new run needs a store without one.
    func refuseOccupiedStore() throws {
        guard let store, RunStores.isPostgreSQL(store) || FileManager.default.fileExists(atPath: RunStores.sqlitePath(store)!) else { return }
        let opened: RunStore
        do { opened = try RunStores.open(store, create: true) } catch { throw CommandFailure.badInput("\(error)") }
        if try opened.setting("settings") != nil {
            throw CommandFailure.badInput("\(opened.location) already holds a run: join it with `edgenas worker --store \(store)`, "
                + "see it with `edgenas search --store \(store) --status`, or start the new run in another database")
        }
    }

    /// The claim policy a run started here records.
    var claimPolicy: ClaimPolicy { ClaimPolicy(graceSeconds: grace?.seconds ?? 60, maxAttempts: retries ?? 3) }

    /// This process's part of a shared run (``SharedRun``), chosen by the options; prints what
    /// is for the user. Returns the leaderboard when this process writes the outputs (with the
    /// outputs claim when it holds one), nil when it has nothing more to do.
    func run(_ runner: SearchRunner, runFolder: URL, storeLocation: String, threads: Int?) throws -> (Leaderboard, Claim?)? {
        let role: SharedRun.Role
        if status { role = .status } else if report { role = .report } else if initOnly { role = .prepare }
        else if let workers {
            role = .localWorkers(count: workers, threads: threads ?? 1, executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
        } else {
            let hold = ProcessInfo.processInfo.environment["EDGENAS_TEST_HOLD_CLAIM_SECONDS"].flatMap(Double.init) ?? 0
            role = .worker(name: workerName ?? WorkerOptions.defaultName, holdSecondsBeforeScoring: hold)
        }
        switch try SharedRun.run(runner, as: role, runFolder: runFolder, storeLocation: storeLocation, policyIfMissing: claimPolicy) {
        case let .status(text):
            print(text)
            return nil
        case let .ready(stored, scored):
            writeToStandardError("the run in \(runner.store.location) is ready: \(stored) candidates, \(scored) scored. "
                + "Start workers with `edgenas worker --store \(storeLocation)`\n")
            return nil
        case let .writeOutputs(board, claim):
            return (board, claim)
        case .finished:
            writeToStandardError("\(workerName ?? WorkerOptions.defaultName): nothing left to claim; another worker writes the outputs\n")
            return nil
        }
    }

    static func log(_ event: WorkerEvent) {
        switch event {
        case let .claimed(unit, attempt) where attempt > 1:
            writeToStandardError("claimed \(unit) (attempt \(attempt): its last worker stopped)\n")
        case .claimed, .waiting:
            break
        case let .claimLost(unit):
            writeToStandardError("\(unit): the claim went stale and another worker took it; this result was dropped\n")
        case let .released(unit, reason):
            writeToStandardError("\(unit) failed (\(reason)); given back for another attempt\n")
        case let .unitFailed(unit, reason):
            writeToStandardError("\(unit) failed for good: \(reason); the run goes on without it\n")
        case let .localWorkersStarted(count, threads, location):
            writeToStandardError("started \(count) workers × \(threads) thread(s) on \(location)\n")
        case let .trainedRungUnit(result):
            writeToStandardError(String(format: "trained rung %d unit %@ for the final stage: validation accuracy %.4f\n",
                                        result.rung, result.candidateID, result.validationAccuracy))
        }
    }
}
