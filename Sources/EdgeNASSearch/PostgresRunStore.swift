import EdgeNASCore
import EdgeNASPostgres
import EdgeNASSelection
import Foundation

/// A run in a PostgreSQL database, for workers on many machines (`--store postgresql://…`):
/// the same schema and migrations as ``SearchDatabase``, one run per database. Claims are
/// taken with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on, or
/// share, one unit.
public final class PostgresRunStore: RunStore, @unchecked Sendable {
    public var location: String { connection.displayURL }
    private let connection: PostgresConnection
    private var statements: ClaimStatements { ClaimStatements(dialect: .postgresql) }
    /// Any constant: serialises the migrations of workers that start at once.
    private static let migrationLock = 0x4544_4e53

    /// Connects and brings the schema up to date; a database whose schema has migrations
    /// this version does not know is refused, untouched.
    public init(url: String, reconnectSeconds: Double = 30) throws {
        do {
            connection = try PostgresConnection(url: url, reconnectSeconds: reconnectSeconds)
            try migrate()
        } catch let error as PostgresError {
            throw SearchError.runDatabase(error.description)
        }
    }

    private func migrate() throws {
        let migrations = RunStoreSchema.migrations(.postgresql)
        try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock($1)", [String(Self.migrationLock)])
            try connection.execute("CREATE TABLE IF NOT EXISTS schema_migration (name TEXT NOT NULL PRIMARY KEY)")
            let applied = Set(try connection.execute("SELECT name FROM schema_migration").compactMap { $0[0] })
            let unknown = applied.subtracting(migrations.map(\.name))
            guard unknown.isEmpty else {
                throw SearchError.runDatabase("\(location): this run was made by a newer EdgeNAS (its schema has migrations this "
                    + "version does not know: \(unknown.sorted().joined(separator: ", "))); use that version, or start a new run")
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try connection.execute(statement) }
                try connection.execute("INSERT INTO schema_migration (name) VALUES ($1)", [migration.name])
            }
        }
    }

    /// One operation; a failure is ``SearchError/runDatabase(_:)`` naming the store.
    @discardableResult
    private func operation<Value>(_ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let error as PostgresError {
            // A connection error names the server already.
            let message = if case .connection = error { error.description } else { "\(location): \(error.description)" }
            throw SearchError.runDatabase(message + "; everything committed so far is kept")
        }
    }

    @discardableResult
    private func transaction<Value>(_ body: () throws -> Value) throws -> Value {
        try operation { try connection.transaction(body) }
    }

    public func close() throws {}

    // MARK: Settings, candidates, phases

    public func setting(_ key: String) throws -> String? {
        try operation { try connection.execute("SELECT value FROM setting WHERE key = $1", [key]).first?[0] ?? nil }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try operation {
            try connection.execute("INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                   [key, value])
        }
    }

    public func candidates() throws -> [CandidateRecord] {
        try operation {
            try connection.execute("""
                SELECT position, id, architectureJSON, params, flops, predictedLatencyMilliseconds, origin, evaluationJSON
                FROM candidate ORDER BY position
                """).map { row in
                CandidateRecord(position: Int(row[0]!)!, id: row[1]!, architectureJSON: row[2]!, params: Int(row[3]!)!,
                                flops: Int(row[4]!)!, predictedLatencyMilliseconds: row[5].flatMap(Double.init), origin: row[6]!,
                                evaluationJSON: row[7])
            }
        }
    }

    public func progress() throws -> (stored: Int, scored: Int) {
        let row = try operation { try connection.execute(RunStoreSchema.progressQuery).first }
        return (row?[0].flatMap { Int($0) } ?? 0, row?[1].flatMap { Int($0) } ?? 0)
    }

    @discardableResult
    public func append(_ candidates: [FeasibleCandidate], origin: String) throws -> [CandidateRecord] {
        guard !candidates.isEmpty else { return [] }
        return try transaction {
            let first = (try connection.execute("SELECT MAX(position) FROM candidate").first?[0].flatMap { Int($0) } ?? -1) + 1
            return try candidates.enumerated().map { offset, candidate in
                let record = CandidateRecord(
                    position: first + offset, id: candidate.architecture.id, architectureJSON: candidate.architecture.canonicalJSON,
                    params: candidate.cost.params, flops: candidate.cost.flops,
                    predictedLatencyMilliseconds: candidate.cost.predictedLatencyMilliseconds, origin: origin, evaluationJSON: nil)
                try connection.execute("""
                    INSERT INTO candidate (position, id, architectureJSON, params, flops, predictedLatencyMilliseconds, origin)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """, [String(record.position), record.id, record.architectureJSON, String(record.params), String(record.flops),
                          record.predictedLatencyMilliseconds.map { String($0) }, origin])
                return record
            }
        }
    }

    @discardableResult
    public func recordEvaluation(_ evaluation: CandidateEvaluation, forCandidate id: String) throws -> String {
        let json = try RunStoreSchema.encoded(evaluation)
        try operation { try connection.execute("UPDATE candidate SET evaluationJSON = $1 WHERE id = $2", [json, id]) }
        return json
    }

    public func addPhaseTime(_ name: String, seconds: Double) throws {
        try operation {
            try connection.execute("""
                INSERT INTO phase (name, seconds) VALUES ($1, $2)
                ON CONFLICT (name) DO UPDATE SET seconds = phase.seconds + excluded.seconds
                """, [name, String(seconds)])
        }
    }

    public func phaseTimes() throws -> [(name: String, seconds: Double)] {
        try operation {
            try connection.execute("SELECT name, seconds FROM phase").map { ($0[0]!, Double($0[1]!)!) }
        }.sorted { SearchPhase.sortsBefore($0.name, $1.name) }
    }

    // MARK: Final-stage rungs

    public func rungResults() throws -> [RungResult] {
        let (results, plans) = try operation {
            (try connection.execute("SELECT resultJSON FROM rung_result").compactMap { $0[0] },
             try connection.execute("SELECT planJSON FROM rung_plan").compactMap { $0[0] })
        }
        return try RunStoreSchema.orderedRungResults(resultsJSON: results, plansJSON: plans)
    }

    public func rungPlan(_ rung: Int) throws -> RungPlan? {
        try operation { try connection.execute("SELECT planJSON FROM rung_plan WHERE rung = $1", [String(rung)]).first?[0] ?? nil }
            .map { try JSONDecoder().decode(RungPlan.self, from: Data($0.utf8)) }
    }

    public func saveRungPlan(_ plan: RungPlan) throws {
        let json = try RunStoreSchema.encoded(plan)
        try operation { try connection.execute("INSERT INTO rung_plan (rung, planJSON) VALUES ($1, $2)", [String(plan.rung), json]) }
    }

    public func rungResult(rung: Int, candidateID: String) throws -> RungResult? {
        try operation {
            try connection.execute("SELECT resultJSON FROM rung_result WHERE rung = $1 AND candidateID = $2",
                                   [String(rung), candidateID]).first?[0] ?? nil
        }.map { try JSONDecoder().decode(RungResult.self, from: Data($0.utf8)) }
    }

    /// The primary key (rung, candidate) refuses a second result for one unit.
    public func saveRungResult(_ result: RungResult) throws {
        let json = try RunStoreSchema.encoded(result)
        try operation {
            try connection.execute("INSERT INTO rung_result (rung, candidateID, resultJSON) VALUES ($1, $2, $3)",
                                   [String(result.rung), result.candidateID, json])
        }
    }

    // MARK: Claims

    private func ledgerTransaction<Value>(_ body: (ClaimLedger) throws -> Value) throws -> Value {
        try transaction { try body(ClaimLedger(statements: statements, execute: { try self.connection.execute($0, $1) })) }
    }

    public func registerUnits(_ units: [WorkUnit]) throws { try ledgerTransaction { try $0.register(units) } }

    public func claimNext(_ kind: WorkUnit.Kind, worker: String, policy: ClaimPolicy) throws -> Claim? {
        try ledgerTransaction { try $0.claimNext(kind, worker: worker, policy: policy) }
    }

    public func claim(_ unit: WorkUnit, worker: String, policy: ClaimPolicy) throws -> ClaimOutcome {
        try ledgerTransaction { try $0.claim(unit, worker: worker, policy: policy) }
    }

    public func heartbeat(_ claim: Claim) throws -> Bool { try ledgerTransaction { try $0.heartbeat(claim) } }

    public func completeScoring(_ claim: Claim, candidateID: String, evaluation: CandidateEvaluation) throws -> Bool {
        let json = try RunStoreSchema.encoded(evaluation)
        return try ledgerTransaction { try $0.completeScoring(claim, candidateID: candidateID, evaluationJSON: json) }
    }

    public func finish(_ claim: Claim) throws -> Bool { try ledgerTransaction { try $0.finish(claim) } }

    public func release(_ claim: Claim, reason: String, policy: ClaimPolicy) throws {
        try ledgerTransaction { try $0.release(claim, reason: reason, policy: policy) }
    }

    public func unitStates() throws -> [UnitState] { try ledgerTransaction { try $0.states() } }
}

/// Opens the store a `--store` value names: `postgresql://…` (or `postgres://…`), else a
/// SQLite run database (`sqlite:PATH` or a path).
public enum RunStores {
    public static func isPostgreSQL(_ location: String) -> Bool {
        location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
    }

    /// The SQLite path a location names, or nil for PostgreSQL.
    public static func sqlitePath(_ location: String) -> String? {
        guard !isPostgreSQL(location) else { return nil }
        return location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
    }

    public static func open(_ location: String, create: Bool) throws -> RunStore {
        if let path = sqlitePath(location) { return try SearchDatabase(path: path, create: create) }
        return try PostgresRunStore(url: location)
    }
}
