import Foundation
import Testing
import TestSupport

/// Worker processes sharing one run through its store, as on a cluster: their result is a
/// single process's; a killed worker's unit goes to another and is recorded once; workers
/// ride out a database restart and a cut network link; a store from a newer EdgeNAS is
/// refused; a Slurm job array runs them. One at a time: the restart would cut the others'
/// connections.
@Suite(.serialized) struct SharedRunTests {
    typealias Inputs = SearchCommandTests.Inputs

    /// A run's options: the zero-cost `scorer` keeps the workers' share of the test short.
    static func runOptions(_ inputs: Inputs, _ folder: String, scorer: String, candidates: Int) -> [String] {
        ["--space", inputs.space, "--images", inputs.images, "--scorer", scorer, "--candidates", String(candidates), "--seed", "4",
         "--out", folder, "--export", folder + "/winner.onnx"]
    }

    /// Starts `edgenas worker` without waiting; its standard error goes to a file.
    static func startWorker(_ store: String, name: String, log: URL, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = try edgenasBinary()
        process.arguments = ["worker", "--store", store, "--name", name]
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func status(_ store: String) throws -> String {
        let result = try runEdgenas(["search", "--store", store, "--status"])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput
    }

    /// The leaderboard without the columns that depend on timing.
    static func leaderboard(_ folder: String) throws -> [String] {
        try String(contentsOfFile: folder + "/leaderboard.csv", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test(.enabled(if: TestPostgres.available, "needs the test PostgreSQL (scripts/test.sh starts it)"))
    func threeWorkersOnPostgreSQLAndLocalWorkersFindWhatOneProcessFinds() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let single = inputs.folder.appendingPathComponent("single").path
        let alone = try runEdgenas(["search"] + Self.runOptions(inputs, single, scorer: "naswot", candidates: 6))
        #expect(alone.status == 0, "\(alone.standardError)")

        let store = try TestPostgres.freshDatabase()
        let shared = inputs.folder.appendingPathComponent("shared").path
        let initialised = try runEdgenas(["search", "--store", store, "--init"] + Self.runOptions(inputs, shared, scorer: "naswot", candidates: 6))
        #expect(initialised.status == 0, "\(initialised.standardError)")
        #expect(initialised.standardError.contains("is ready: 6 candidates, 0 scored"), "\(initialised.standardError)")
        let workers = try (1...3).map { try Self.startWorker(store, name: "w\($0)", log: inputs.folder.appendingPathComponent("w\($0).log")) }
        workers.forEach { $0.waitUntilExit() }
        let notes = try (1...3).map { try String(contentsOf: inputs.folder.appendingPathComponent("w\($0).log"), encoding: .utf8) }
        #expect(workers.map(\.terminationStatus) == [0, 0, 0], "\(notes)")
        #expect(try Self.leaderboard(shared) == Self.leaderboard(single))
        let status = try Self.status(store)
        #expect(status.contains("units: 6 done, 0 claimed, 0 pending, 0 failed"), "\(status)")
        #expect(status.contains("outputs: done"), "\(status)")
        // The worker that wrote the report did not draw the candidates; the report has the draws all the same.
        #expect(try String(contentsOfFile: shared + "/report.md", encoding: .utf8).contains("| sampling | 6 draws, 0 rejected"))

        // --workers N: the same on the run folder's SQLite store.
        let local = inputs.folder.appendingPathComponent("local").path
        let parallel = try runEdgenas(["search", "--workers", "2"] + Self.runOptions(inputs, local, scorer: "naswot", candidates: 6))
        #expect(parallel.status == 0, "\(parallel.standardError)")
        #expect(parallel.standardError.contains("started 2 workers"), "\(parallel.standardError)")
        #expect(try Self.leaderboard(local) == Self.leaderboard(single))
    }

    @Test func aKilledWorkersCandidateGoesToAnotherWorkerAndIsRecordedOnce() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let single = inputs.folder.appendingPathComponent("single").path
        #expect(try runEdgenas(["search"] + Self.runOptions(inputs, single, scorer: "params", candidates: 5)).status == 0)

        let store = "sqlite:" + inputs.folder.appendingPathComponent("run.sqlite").path
        let shared = inputs.folder.appendingPathComponent("shared").path
        let initialised = try runEdgenas(["search", "--store", store, "--init", "--grace", "2s"]
                                         + Self.runOptions(inputs, shared, scorer: "params", candidates: 5))
        #expect(initialised.status == 0, "\(initialised.standardError)")
        // This worker holds its first candidate far longer than the grace period, as a stuck one would.
        let doomed = try Self.startWorker(store, name: "doomed", log: inputs.folder.appendingPathComponent("doomed.log"),
                                          environment: ["EDGENAS_TEST_HOLD_CLAIM_SECONDS": "300"])
        let deadline = Date().addingTimeInterval(60)
        while try !Self.status(store).contains("doomed: score"), Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        #expect(try Self.status(store).contains("units: 0 done, 1 claimed, 4 pending"))
        kill(doomed.processIdentifier, SIGKILL)
        doomed.waitUntilExit()

        let logs = (1...2).map { inputs.folder.appendingPathComponent("w\($0).log") }
        let workers = try (1...2).map { try Self.startWorker(store, name: "w\($0)", log: logs[$0 - 1]) }
        workers.forEach { $0.waitUntilExit() }
        let notes = try logs.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(workers.map(\.terminationStatus) == [0, 0], "\(notes)")
        #expect(notes.contains("(attempt 2: its last worker stopped)"), "\(notes)")
        let status = try Self.status(store)
        #expect(status.contains("candidates: 5, scored 5; units: 5 done, 0 claimed, 0 pending, 0 failed"), "\(status)")
        #expect(try Self.leaderboard(shared) == Self.leaderboard(single))
    }

    @Test func aWorkerStoppedWithSIGTERMFinishesItsCandidateAndHoldsNothing() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let store = "sqlite:" + inputs.folder.appendingPathComponent("run.sqlite").path
        let shared = inputs.folder.appendingPathComponent("shared").path
        #expect(try runEdgenas(["search", "--store", store, "--init"] + Self.runOptions(inputs, shared, scorer: "params", candidates: 4)).status == 0)
        let log = inputs.folder.appendingPathComponent("worker.log")
        let worker = try Self.startWorker(store, name: "stopped", log: log, environment: ["EDGENAS_TEST_HOLD_CLAIM_SECONDS": "2"])
        let deadline = Date().addingTimeInterval(60)
        while try !Self.status(store).contains("stopped: score"), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        let notes = try String(contentsOf: log, encoding: .utf8)
        #expect(worker.terminationStatus == 130, "\(notes)")
        #expect(notes.contains("the run goes on with any worker: `edgenas worker --store \(store)`"), "\(notes)")
        let status = try Self.status(store)
        #expect(status.contains("0 claimed") && status.contains("0 failed") && !status.contains("scored 0;"), "\(status)")
    }

    @Test func theFinalStagesRungUnitsAreTrainedByMoreThanOneWorker() throws {
        var inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        // Enough images for the task's validation split and its batches.
        inputs.images = try FakeMNIST.write(into: inputs.folder.appendingPathComponent("task-images"), trainCount: 600).path
        let store = "sqlite:" + inputs.folder.appendingPathComponent("run.sqlite").path
        let shared = inputs.folder.appendingPathComponent("shared").path
        let initialised = try runEdgenas(["search", "--store", store, "--init", "--budget", "30s"]
                                         + Self.runOptions(inputs, shared, scorer: "task", candidates: 6))
        #expect(initialised.status == 0, "\(initialised.standardError)")
        let logs = (1...2).map { inputs.folder.appendingPathComponent("w\($0).log") }
        let workers = try (1...2).map { try Self.startWorker(store, name: "w\($0)", log: logs[$0 - 1]) }
        workers.forEach { $0.waitUntilExit() }
        let notes = try logs.map { try String(contentsOf: $0, encoding: .utf8) }
        #expect(workers.map(\.terminationStatus) == [0, 0], "\(notes)")
        // One worker runs the stage; the other trains some of its rungs' candidates.
        let stage = try #require(notes.firstIndex { $0.contains("final stage rung 0:") }, "\(notes)")
        #expect(notes[1 - stage].contains("trained rung 0 unit"), "\(notes)")
        let report = try String(contentsOfFile: shared + "/report.md", encoding: .utf8)
        #expect(report.contains("## Final stage: successive halving on the task") && report.contains("\n| 0 | "), "\(report)")
        #expect(try Self.status(store).contains("final stage: done"))
    }

    @Test(.enabled(if: TestPostgres.available, "needs the test PostgreSQL (scripts/test.sh starts it)"))
    func aWorkerRidesOutADatabaseRestart() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let store = try TestPostgres.freshDatabase()
        let shared = inputs.folder.appendingPathComponent("shared").path
        let initialised = try runEdgenas(["search", "--store", store, "--init", "--grace", "20s"]
                                         + Self.runOptions(inputs, shared, scorer: "params", candidates: 4))
        #expect(initialised.status == 0, "\(initialised.standardError)")
        let log = inputs.folder.appendingPathComponent("worker.log")
        let worker = try Self.startWorker(store, name: "w", log: log, environment: ["EDGENAS_TEST_HOLD_CLAIM_SECONDS": "1.5"])
        Thread.sleep(forTimeInterval: 2)
        try TestPostgres.restartServer()
        worker.waitUntilExit()
        let notes = try String(contentsOf: log, encoding: .utf8)
        #expect(worker.terminationStatus == 0, "\(notes)")
        #expect(try Self.status(store).contains("units: 4 done, 0 claimed, 0 pending, 0 failed"))
        #expect(FileManager.default.fileExists(atPath: shared + "/report.md"))
    }

    @Test(.enabled(if: TestPostgres.available, "needs the test PostgreSQL (scripts/test.sh starts it)"))
    func aStoreFromANewerEdgeNASOrWithoutARunIsRefused() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let store = try TestPostgres.freshDatabase()
        let empty = try runEdgenas(["worker", "--store", store])
        #expect(empty.status == 64)
        #expect(empty.standardError.contains("holds no shared run; start one with `edgenas search --store"), "\(empty.standardError)")

        let shared = inputs.folder.appendingPathComponent("shared").path
        #expect(try runEdgenas(["search", "--store", store, "--init"] + Self.runOptions(inputs, shared, scorer: "params", candidates: 3)).status == 0)
        let again = try runEdgenas(["search", "--store", store] + Self.runOptions(inputs, shared, scorer: "params", candidates: 3))
        #expect(again.status == 64)
        #expect(again.standardError.contains("already holds a run: join it with `edgenas worker --store"), "\(again.standardError)")

        try TestPostgres.execute("INSERT INTO schema_migration (name) VALUES ('v99: from a later version')", on: store)
        let newer = try runEdgenas(["worker", "--store", store])
        #expect(newer.status == 64)
        #expect(newer.standardError.contains("made by a newer EdgeNAS"), "\(newer.standardError)")
        #expect(newer.standardError.contains("v99: from a later version"), "\(newer.standardError)")
    }
}

/// scripts/network-fault-test.sh: a worker in its own network namespace has its link cut
/// mid-candidate; another takes its claim after the grace period and the run completes, and
/// the cut-off worker exits saying it lost the connection (about 80 s: TCP's user timeout,
/// then 30 s of reconnection attempts). Needs root and iproute2, as CI has.
extension SharedRunTests {
    static var canCutANetwork: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && TestPostgres.available
    }

    @Test(.enabled(if: canCutANetwork, "needs root, iproute2 and the test PostgreSQL"))
    func aWorkerCutOffMidCandidateLosesItsClaimAndTheRunCompletes() throws {
        let (status, text) = try TestPostgres.runScript("scripts/network-fault-test.sh", [try edgenasBinary().path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("(attempt 2: its last worker stopped)"), "\(text)")
        #expect(text.contains("network-fault-test.sh: passed"), "\(text)")
    }
}

/// scripts/slurm-test.sh: a one-node Slurm (controller and node daemon on localhost, munge)
/// runs deploy/slurm-workers.sbatch as a job array of 2 workers on one run in the test
/// PostgreSQL, which completes (about 40 s). Needs root and Debian's slurm-wlm, as CI has.
extension SharedRunTests {
    static var canRunSlurm: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/slurmctld") && TestPostgres.available
    }

    @Test(.enabled(if: canRunSlurm, "needs root, slurm-wlm and munge (scripts/setup.sh --for-tests) and the test PostgreSQL"))
    func aSlurmJobArrayOfTwoWorkersCompletesARun() throws {
        let (status, text) = try TestPostgres.runScript("scripts/slurm-test.sh", [try edgenasBinary().path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("edgenas-worker-") && text.contains("slurm-test.sh: passed"), "\(text)")
    }
}
