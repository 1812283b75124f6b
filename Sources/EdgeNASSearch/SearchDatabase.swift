import EdgeNASCore
import EdgeNASSelection
import Foundation
import GRDB

/// Everything a search needs to resume or to rebuild its leaderboard, as one SQLite file in
/// the run folder: the settings, the scoring plan, each candidate with its costs and (once
/// scored) its raw scores, and the time spent per phase. Every change is its own transaction,
/// so an interrupted run loses at most the candidate being scored.
public final class SearchDatabase: Sendable {
    public static let fileName = "search.sqlite"
    static let applicationID: Int32 = 0x4544_4e53  // "EDNS", marks the file as an EdgeNAS run

    public let path: String
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
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode=WAL") }
            try Self.migrator.migrate(queue)
        } catch let error as DatabaseError {
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

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: settings, plan, candidates, phases") { db in
            try db.execute(sql: "PRAGMA application_id = \(Self.applicationID)")
            try db.create(table: "setting") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
            try db.create(table: "candidate") { table in
                table.primaryKey("position", .integer)
                table.column("id", .text).notNull().unique()
                table.column("architectureJSON", .text).notNull()
                table.column("params", .integer).notNull()
                table.column("flops", .integer).notNull()
                table.column("predictedLatencyMilliseconds", .double)
                table.column("origin", .text).notNull()
                table.column("evaluationJSON", .text)
            }
            try db.create(table: "phase") { table in
                table.primaryKey("name", .text)
                table.column("seconds", .double).notNull()
            }
        }
        migrator.registerMigration("v2: final-stage rungs") { db in
            try db.create(table: "rung_plan") { table in
                table.primaryKey("rung", .integer)
                table.column("planJSON", .text).notNull()
            }
            try db.create(table: "rung_result") { table in
                table.column("rung", .integer).notNull()
                table.column("candidateID", .text).notNull()
                table.column("resultJSON", .text).notNull()
                table.primaryKey(["rung", "candidateID"])
            }
        }
        return migrator
    }

    // MARK: Settings and plan

    public func setting(_ key: String) throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    public func decodedSetting<Value: Decodable>(_ key: String, as type: Value.Type) throws -> Value? {
        guard let text = try setting(key) else { return nil }
        return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
    }

    public func setEncodedSetting<Value: Encodable>(_ key: String, _ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try setSetting(key, String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    // MARK: Candidates

    public func candidates() throws -> [CandidateRecord] {
        try queue.read { db in try CandidateRecord.order(Column("position")).fetchAll(db) }
    }

    /// Stores a new candidate at the next position and returns its record.
    @discardableResult
    public func append(_ candidate: FeasibleCandidate, origin: String) throws -> CandidateRecord {
        try queue.write { db in
            let position = (try Int.fetchOne(db, sql: "SELECT MAX(position) FROM candidate") ?? -1) + 1
            let record = CandidateRecord(
                position: position, id: candidate.architecture.id, architectureJSON: candidate.architecture.canonicalJSON,
                params: candidate.cost.params, flops: candidate.cost.flops,
                predictedLatencyMilliseconds: candidate.cost.predictedLatencyMilliseconds, origin: origin, evaluationJSON: nil)
            try record.insert(db)
            return record
        }
    }

    public func recordEvaluation(_ evaluation: CandidateEvaluation, forCandidate id: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(evaluation), as: UTF8.self)
        try queue.write { db in
            try db.execute(sql: "UPDATE candidate SET evaluationJSON = ? WHERE id = ?", arguments: [json, id])
        }
    }

    // MARK: Final-stage rungs

    private static func encoded<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Every stored result of the final stage, rung by rung.
    public func rungResults() throws -> [RungResult] {
        try queue.read { db in
            try String.fetchAll(db, sql: "SELECT resultJSON FROM rung_result ORDER BY rung, rowid")
        }.map { try JSONDecoder().decode(RungResult.self, from: Data($0.utf8)) }
    }

    // MARK: Phases

    public func addPhaseTime(_ name: String, seconds: Double) throws {
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO phase (name, seconds) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seconds = seconds + excluded.seconds",
                arguments: [name, seconds])
        }
    }

    /// Seconds spent per phase, in the order the phases first ran.
    public func phaseTimes() throws -> [(name: String, seconds: Double)] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT name, seconds FROM phase ORDER BY rowid").map { ($0["name"], $0["seconds"]) }
        }
    }
}

extension SearchDatabase: RungStore {
    public func rungPlan(_ rung: Int) throws -> RungPlan? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT planJSON FROM rung_plan WHERE rung = ?", arguments: [rung]) }
            .map { try JSONDecoder().decode(RungPlan.self, from: Data($0.utf8)) }
    }

    public func saveRungPlan(_ plan: RungPlan) throws {
        let json = try Self.encoded(plan)
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
        let json = try Self.encoded(result)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO rung_result (rung, candidateID, resultJSON) VALUES (?, ?, ?)",
                           arguments: [result.rung, result.candidateID, json])
        }
    }
}
