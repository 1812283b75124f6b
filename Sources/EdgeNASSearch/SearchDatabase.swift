import EdgeNASCore
import EdgeNASSelection
import Foundation
import GRDB

/// Everything a search needs to resume or to rebuild its leaderboard, as one SQLite file in
/// the run folder: the settings, the scoring plan, each candidate with its costs and (once
/// scored) its raw scores, and the time spent per phase. Every change is its own transaction,
/// so an interrupted run loses at most the candidate being scored.
public final class SearchDatabase: RunStore, Sendable {
    public static let fileName = "search.sqlite"
    static let applicationID: Int32 = 0x4544_4e53  // "EDNS", marks the file as an EdgeNAS run

    public let path: String
    public var location: String { path }
    private let queue: DatabaseQueue

    /// A stored candidate; `evaluation` is nil until it has been scored.
    public struct CandidateRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
        public static let databaseTableName = "candidate"
        public var position: Int
        public var id: String
        public var architectureJSON: String
        public var params: Int
        public var flops: Int
        public var predictedLatencyMilliseconds: Double?
        /// How the candidate came about: `sampled`, or `mutated from ID` in evolution.
        public var origin: String
        public var evaluationJSON: String?

        public func architecture() throws -> Architecture {
            try Architecture(jsonData: Data(architectureJSON.utf8), file: "candidate \(id)")
        }

        public func evaluation() throws -> CandidateEvaluation? {
            guard let evaluationJSON else { return nil }
            return try JSONDecoder().decode(CandidateEvaluation.self, from: Data(evaluationJSON.utf8))
        }

        public var cost: CandidateCost {
            CandidateCost(params: params, flops: flops, predictedLatencyMilliseconds: predictedLatencyMilliseconds)
        }
    }

    /// Opens the run database at `path`, creating it when `create` is true.
    ///
    /// - Throws: ``SearchError/runDatabase(_:)`` for a file that is not an EdgeNAS run
    ///   database (never touching it), ``SearchError/badInput(_:)`` for a missing one.
    public init(path: String, create: Bool) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !create {
            throw SearchError.badInput("\(path): no search database here; start the run without --resume")
        }
        if exists { try Self.checkIsRunDatabase(path) }
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            // In WAL mode, NORMAL keeps every commit through a crash or a kill of the process
            // (only a power loss can drop the last ones, never corrupt the file), without an
            // fsync per candidate: that sync was most of a zero-cost candidate's time.
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode=WAL") }
            // Only an existing file can hold another version's migrations (a new one on a full
            // disk must fail in the migration, as "disk full").
            if try exists && queue.read({ db in try Self.migrator.hasBeenSuperseded(db) }) {
                throw SearchError.runDatabase("\(path): this run was made by a newer EdgeNAS (its schema has migrations this "
                    + "version does not know); use that version, or start a new run")
            }
            try Self.migrator.migrate(queue)
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_FULL || (error.resultCode == .SQLITE_IOERR && OutputPath.isOutOfSpace(at: path)) {
                throw SearchError.runDatabase("\(path): the disk is full; free some space and run the command again")
            }
            throw SearchError.runDatabase("\(path): cannot open the search database: \(error.message ?? "\(error)")")
        }
    }

    /// Refuses files that SQLite cannot read or that another program wrote, before GRDB
    /// would run migrations on them.
    private static func checkIsRunDatabase(_ path: String) throws {
        do {
            let probe = try DatabaseQueue(path: path, configuration: {
                var configuration = Configuration()
                configuration.readonly = true
                // Workers open the file while others write it: wait for their locks, as the writers do.
                configuration.busyMode = .timeout(10)
                return configuration
            }())
            let applicationID = try probe.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0 }
            try probe.close()
            guard applicationID == Self.applicationID else {
                throw SearchError.runDatabase(
                    "\(path): not an EdgeNAS search database (another program's SQLite file); it was left untouched. "
                        + "Choose another --out folder.")
            }
        } catch let error as DatabaseError {
            throw SearchError.runDatabase(
                "\(path): not a readable search database (\(error.message ?? "\(error)")); it was left untouched. "
                    + "Move it away to start a new run in this folder.")
        }
    }

    /// The shared migrations (``RunStoreSchema``); the first also marks the file as an EdgeNAS run.
    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (index, migration) in RunStoreSchema.migrations(.sqlite).enumerated() {
            migrator.registerMigration(migration.name) { db in
                if index == 0 { try db.execute(sql: "PRAGMA application_id = \(Self.applicationID)") }
                for statement in migration.statements { try db.execute(sql: statement) }
            }
        }
        return migrator
    }

    // MARK: Storage errors

    /// One read; a database that became unreadable is ``SearchError/runDatabase(_:)``.
    private func read<Value>(_ body: (Database) throws -> Value) throws -> Value {
        do { return try queue.read(body) } catch let error as DatabaseError { throw storageError(error) }
    }

    /// One write transaction; a full disk or an unwritable folder is
    /// ``SearchError/runDatabase(_:)`` saying so, with everything committed before kept.
    private func write<Value>(_ body: (Database) throws -> Value) throws -> Value {
        do { return try queue.write(body) } catch let error as DatabaseError { throw storageError(error) }
    }

    private func storageError(_ error: DatabaseError) -> SearchError {
        let full = error.resultCode == .SQLITE_FULL || (error.resultCode == .SQLITE_IOERR && OutputPath.isOutOfSpace(at: path))
        switch error.resultCode {
        case _ where full:
            return .runDatabase("\(path): the disk is full; everything scored so far is saved. Free some space and run "
                + "the same command with --resume to go on")
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_IOERR:
            return .runDatabase("\(path): cannot write the run's state (\(error.message ?? "\(error.resultCode)")); "
                + "everything scored so far is saved. Check the disk and the folder's permissions, then run the same "
                + "command with --resume")
        default:
            return .runDatabase("\(path): the run's state cannot be used (\(error.message ?? "\(error)")); "
                + "start the run again in another --out folder")
        }
    }

    // MARK: The run as a whole

    public func progress() throws -> (stored: Int, scored: Int) {
        try read { db in
            let row = try Row.fetchOne(db, sql: RunStoreSchema.progressQuery)
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
    }

    /// Closes the database; nothing can be read or written through it afterwards.
    public func close() throws {
        try queue.close()
    }

    /// Deletes the run database at `path` with its WAL files, so that the folder no longer
    /// holds a run.
    public static func remove(at path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    // MARK: Settings and plan

    public func setting(_ key: String) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    // MARK: Candidates

    public func candidates() throws -> [CandidateRecord] {
        try read { db in try CandidateRecord.order(Column("position")).fetchAll(db) }
    }

    /// Stores new candidates at the next positions, in one transaction, and returns their records.
    @discardableResult
    public func append(_ candidates: [FeasibleCandidate], origin: String) throws -> [CandidateRecord] {
        guard !candidates.isEmpty else { return [] }
        return try write { db in
            let first = (try Int.fetchOne(db, sql: "SELECT MAX(position) FROM candidate") ?? -1) + 1
            return try candidates.enumerated().map { offset, candidate in
                let record = CandidateRecord(
                    position: first + offset, id: candidate.architecture.id, architectureJSON: candidate.architecture.canonicalJSON,
                    params: candidate.cost.params, flops: candidate.cost.flops,
                    predictedLatencyMilliseconds: candidate.cost.predictedLatencyMilliseconds, origin: origin, evaluationJSON: nil)
                try record.insert(db)
                return record
            }
        }
    }

    /// Stores a candidate's scores; returns them as stored (the record's `evaluationJSON`).
    @discardableResult
    public func recordEvaluation(_ evaluation: CandidateEvaluation, forCandidate id: String) throws -> String {
        let json = try RunStoreSchema.encoded(evaluation)
        try write { db in
            try db.execute(sql: "UPDATE candidate SET evaluationJSON = ? WHERE id = ?", arguments: [json, id])
        }
        return json
    }

    // MARK: Final-stage rungs

    public func rungResults() throws -> [RungResult] {
        let (results, plans) = try read { db in
            (try String.fetchAll(db, sql: "SELECT resultJSON FROM rung_result"),
             try String.fetchAll(db, sql: "SELECT planJSON FROM rung_plan"))
        }
        return try RunStoreSchema.orderedRungResults(resultsJSON: results, plansJSON: plans)
    }

    // MARK: Phases

    public func addPhaseTime(_ name: String, seconds: Double) throws {
        try write { db in
            try db.execute(
                sql: "INSERT INTO phase (name, seconds) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seconds = seconds + excluded.seconds",
                arguments: [name, seconds])
        }
    }

    public func phaseTimes() throws -> [(name: String, seconds: Double)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, seconds FROM phase").map { ($0["name"], $0["seconds"]) }
        }.sorted { SearchPhase.sortsBefore($0.name, $1.name) }
    }
}

extension SearchDatabase: RungStore {
    public func rungPlan(_ rung: Int) throws -> RungPlan? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT planJSON FROM rung_plan WHERE rung = ?", arguments: [rung]) }
            .map { try JSONDecoder().decode(RungPlan.self, from: Data($0.utf8)) }
    }

    public func saveRungPlan(_ plan: RungPlan) throws {
        let json = try RunStoreSchema.encoded(plan)
        try queue.write { db in try db.execute(sql: "INSERT INTO rung_plan (rung, planJSON) VALUES (?, ?)", arguments: [plan.rung, json]) }
    }

    public func rungResult(rung: Int, candidateID: String) throws -> RungResult? {
        try queue.read { db in
            try String.fetchOne(db, sql: "SELECT resultJSON FROM rung_result WHERE rung = ? AND candidateID = ?",
                                arguments: [rung, candidateID])
        }.map { try JSONDecoder().decode(RungResult.self, from: Data($0.utf8)) }
    }

    /// The primary key (rung, candidate) refuses a second result for one unit.
    public func saveRungResult(_ result: RungResult) throws {
        let json = try RunStoreSchema.encoded(result)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO rung_result (rung, candidateID, resultJSON) VALUES (?, ?, ?)",
                           arguments: [result.rung, result.candidateID, json])
        }
    }
}

// MARK: Claims

extension SearchDatabase {
    /// Runs the shared claim protocol in one IMMEDIATE transaction: the write lock is taken
    /// at BEGIN, so two processes never both read a unit as free (a deferred transaction
    /// would fail with SQLITE_BUSY on its upgrade instead of waiting).
    private func claimTransaction<Value>(_ body: (ClaimLedger) throws -> Value) throws -> Value {
        do {
            return try queue.writeWithoutTransaction { db in
                var value: Value?
                try db.inTransaction(.immediate) {
                    value = try body(ClaimLedger(statements: ClaimStatements(dialect: .sqlite), execute: { sql, arguments in
                        let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
                        return rows.map { row in (0..<row.count).map { Self.text(row[$0] as DatabaseValue) } }
                    }))
                    return .commit
                }
                return value!
            }
        } catch let error as DatabaseError { throw storageError(error) }
    }

    private static func text(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .null: return nil
        case let .int64(number): return String(number)
        case let .double(number): return String(number)
        case let .string(text): return text
        case let .blob(data): return String(decoding: data, as: UTF8.self)
        }
    }

    public func registerUnits(_ units: [WorkUnit]) throws { try claimTransaction { try $0.register(units) } }

    public func claimNext(_ kind: WorkUnit.Kind, worker: String, policy: ClaimPolicy) throws -> Claim? {
        try claimTransaction { try $0.claimNext(kind, worker: worker, policy: policy) }
    }

    public func claim(_ unit: WorkUnit, worker: String, policy: ClaimPolicy) throws -> ClaimOutcome {
        try claimTransaction { try $0.claim(unit, worker: worker, policy: policy) }
    }

    public func heartbeat(_ claim: Claim) throws -> Bool { try claimTransaction { try $0.heartbeat(claim) } }

    public func completeScoring(_ claim: Claim, candidateID: String, evaluation: CandidateEvaluation) throws -> Bool {
        let json = try RunStoreSchema.encoded(evaluation)
        return try claimTransaction { try $0.completeScoring(claim, candidateID: candidateID, evaluationJSON: json) }
    }

    public func finish(_ claim: Claim) throws -> Bool { try claimTransaction { try $0.finish(claim) } }

    public func release(_ claim: Claim, reason: String, policy: ClaimPolicy) throws {
        try claimTransaction { try $0.release(claim, reason: reason, policy: policy) }
    }

    public func unitStates() throws -> [UnitState] { try claimTransaction { try $0.states() } }
}
