import EdgeNASCore
import EdgeNASSelection
import Foundation

/// A stored candidate; its `evaluationJSON` is nil until it has been scored.
public typealias CandidateRecord = SearchDatabase.CandidateRecord

/// Everything a run keeps: settings, the scoring plan, the candidates with their scores, the
/// final stage's rungs, the time per phase, and the claims through which workers share the
/// work. ``SearchDatabase`` (SQLite, one machine) and ``PostgresRunStore`` (many machines)
/// hold it in the same schema, built by the same named migrations (``RunStoreSchema``).
public protocol RunStore: RungStore {
    /// Where the run lives, for messages (a path, or a URL without its password).
    var location: String { get }

    func setting(_ key: String) throws -> String?
    func setSetting(_ key: String, _ value: String) throws
    func candidates() throws -> [CandidateRecord]
    /// How many candidates are stored and how many of them are scored (counted, not read:
    /// workers ask after every candidate).
    func progress() throws -> (stored: Int, scored: Int)
    /// Stores new candidates at the next positions, in one transaction, and returns their records.
    @discardableResult func append(_ candidates: [FeasibleCandidate], origin: String) throws -> [CandidateRecord]
    /// Stores a candidate's scores; returns them as stored (the record's `evaluationJSON`).
    @discardableResult func recordEvaluation(_ evaluation: CandidateEvaluation, forCandidate id: String) throws -> String
    func addPhaseTime(_ name: String, seconds: Double) throws
    /// Seconds spent per phase, in ``SearchPhase/order``.
    func phaseTimes() throws -> [(name: String, seconds: Double)]
    /// Every stored result of the final stage, rung by rung, each rung in its plan's order.
    func rungResults() throws -> [RungResult]
    func close() throws

    // MARK: Claims

    /// Adds units of work (``WorkUnit``) that are not there yet, as pending.
    func registerUnits(_ units: [WorkUnit]) throws
    /// Claims the first unit of `kind`, in the order units are handed out, that is pending or
    /// whose holder's heartbeat is older than the grace period; nil when none is. A stale unit
    /// that has had `maxAttempts` claims is recorded as failed instead.
    func claimNext(_ kind: WorkUnit.Kind, worker: String, policy: ClaimPolicy) throws -> Claim?
    /// Claims one named unit (the plan, the final stage, the outputs).
    func claim(_ unit: WorkUnit, worker: String, policy: ClaimPolicy) throws -> ClaimOutcome
    /// Renews the claim's heartbeat; false when the claim was lost (released as stale).
    func heartbeat(_ claim: Claim) throws -> Bool
    /// Records a scoring unit's result and marks the unit done, in one transaction; false
    /// (nothing recorded) when the claim was lost: the unit is then another worker's.
    func completeScoring(_ claim: Claim, candidateID: String, evaluation: CandidateEvaluation) throws -> Bool
    /// Marks a named unit done; false when the claim was lost.
    func finish(_ claim: Claim) throws -> Bool
    /// Gives a unit back after an error: pending again, or failed with `reason` once it has
    /// had `policy.maxAttempts` claims.
    func release(_ claim: Claim, reason: String, policy: ClaimPolicy) throws
    /// Every unit with its state, in the order units are handed out.
    func unitStates() throws -> [UnitState]
}

extension RunStore {
    public func decodedSetting<Value: Decodable>(_ key: String, as type: Value.Type) throws -> Value? {
        guard let text = try setting(key) else { return nil }
        return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
    }

    public func setEncodedSetting<Value: Encodable>(_ key: String, _ value: Value) throws {
        try setSetting(key, try RunStoreSchema.encoded(value))
    }

    @discardableResult
    public func append(_ candidate: FeasibleCandidate, origin: String) throws -> CandidateRecord {
        try append([candidate], origin: origin)[0]
    }

    /// Whether the run did anything worth keeping: a scored candidate or a scoring plan
    /// (calibration can take minutes). A run without either can be started afresh.
    public func holdsWork() throws -> Bool {
        let plan = try setting("plan")
        return try plan != nil || progress().scored > 0
    }

    /// The next candidate to score (``claimNext(_:worker:policy:)``).
    public func claimNextScoring(worker: String, policy: ClaimPolicy) throws -> Claim? {
        try claimNext(.scoring, worker: worker, policy: policy)
    }
}

/// One unit of work that a worker claims.
public enum WorkUnit: Hashable, Sendable {
    /// Calibrating the probes' plan: once per run.
    case plan
    /// Scoring one candidate at the plan's fidelity.
    case score(candidateID: String, position: Int)
    /// Successive halving on the task over the scored candidates, run by one worker.
    case finalStage
    /// Training one candidate in one rung of the final stage: any worker, while the stage's
    /// worker waits for the rung.
    case rungUnit(rung: Int, candidateID: String, index: Int)
    /// Exporting the winner and writing the run folder's files.
    case outputs

    public var key: String {
        switch self {
        case .plan: return "plan"
        case let .score(id, _): return "score \(id)"
        case .finalStage: return "final stage"
        case let .rungUnit(rung, id, _): return "rung \(rung) \(id)"
        case .outputs: return "outputs"
        }
    }

    /// The units handed out in turn by ``RunStore/claimNext(_:worker:policy:)``.
    public enum Kind: String, Sendable {
        case scoring = "score %"
        case rungUnit = "rung %"
    }

    /// The rung and candidate a rung unit's key names.
    public static func rungUnit(ofKey key: String) -> (rung: Int, candidateID: String)? {
        let parts = key.split(separator: " ")
        guard parts.count == 3, parts[0] == "rung", let rung = Int(parts[1]) else { return nil }
        return (rung, String(parts[2]))
    }

    /// The order units are handed out: the plan first, then candidates in their order.
    var position: Int {
        switch self {
        case .plan: return -1
        case let .score(_, position): return position
        case let .rungUnit(rung, _, index): return (1 << 39) + rung << 20 + index
        case .finalStage: return 1 << 40
        case .outputs: return (1 << 40) + 1
        }
    }

    /// The candidate a scoring key names.
    public static func candidateID(ofScoringKey key: String) -> String? {
        key.hasPrefix("score ") ? String(key.dropFirst(6)) : nil
    }
}

/// How long a silent worker keeps its claim, and how often a unit is tried.
public struct ClaimPolicy: Sendable, Equatable, Codable {
    /// A claim whose heartbeat is older than this is released for another worker.
    public var graceSeconds: Double
    /// Claims of one unit before it is recorded as failed.
    public var maxAttempts: Int

    public init(graceSeconds: Double = 60, maxAttempts: Int = 3) {
        self.graceSeconds = graceSeconds
        self.maxAttempts = maxAttempts
    }

    /// How often a worker renews its heartbeat: several times per grace period.
    public var heartbeatSeconds: Double { max(0.05, graceSeconds / 4) }
}

/// A unit held by one worker; the token tells this claim from a later one of the same unit.
public struct Claim: Sendable, Equatable {
    public var unit: String
    public var token: String
    /// 1 for the first claim of the unit.
    public var attempt: Int
}

public enum ClaimOutcome: Sendable, Equatable {
    case claimed(Claim)
    /// Another worker holds it and its heartbeat is fresh.
    case busy
    case done
    case failed(reason: String)
}

public struct UnitState: Sendable, Equatable {
    public enum State: String, Sendable { case pending, claimed, done, failed }
    public var unit: String
    public var state: State
    public var worker: String?
    public var attempts: Int
    public var reason: String?
    /// Seconds since the holder's last heartbeat (claimed units).
    public var heartbeatAgeSeconds: Double?
    /// Seconds since the unit was last claimed, renewed or finished; nil when never claimed.
    public var secondsSinceHeartbeat: Double?
}

/// The schema both run stores share: named migrations in one order, in SQL both SQLite and
/// PostgreSQL run (the type names are the dialect's), and the claim statements.
public enum RunStoreSchema {
    public enum Dialect: Sendable { case sqlite, postgresql }

    /// (name, statements) in the order they apply. Names are never changed once released:
    /// a store records the names it has applied, and a binary that finds a name it does not
    /// know refuses the store (it was made by a newer EdgeNAS).
    public static func migrations(_ dialect: Dialect) -> [(name: String, statements: [String])] {
        // SQLite's INTEGER is 64-bit; PostgreSQL's is 32-bit (FLOPs overflow it).
        let integer = dialect == .sqlite ? "INTEGER" : "BIGINT"
        let double = dialect == .sqlite ? "DOUBLE" : "DOUBLE PRECISION"
        return [
            ("v1: settings, plan, candidates, phases", [
                "CREATE TABLE setting (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
                """
                CREATE TABLE candidate (position \(integer) PRIMARY KEY, id TEXT NOT NULL UNIQUE, architectureJSON TEXT NOT NULL,
                    params \(integer) NOT NULL, flops \(integer) NOT NULL, predictedLatencyMilliseconds \(double),
                    origin TEXT NOT NULL, evaluationJSON TEXT)
                """,
                "CREATE TABLE phase (name TEXT NOT NULL PRIMARY KEY, seconds \(double) NOT NULL)",
            ]),
            ("v2: final-stage rungs", [
                "CREATE TABLE rung_plan (rung \(integer) NOT NULL PRIMARY KEY, planJSON TEXT NOT NULL)",
                """
                CREATE TABLE rung_result (rung \(integer) NOT NULL, candidateID TEXT NOT NULL, resultJSON TEXT NOT NULL,
                    PRIMARY KEY (rung, candidateID))
                """,
            ]),
            ("v3: claims", [
                """
                CREATE TABLE claim (unit TEXT NOT NULL PRIMARY KEY, position \(integer) NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending', worker TEXT, token TEXT, attempts \(integer) NOT NULL DEFAULT 0,
                    heartbeat_at \(double), reason TEXT)
                """,
                "CREATE INDEX claim_by_state ON claim (state, position)",
            ]),
        ]
    }

    /// Counts the candidates and the scored ones, in both dialects.
    static let progressQuery = "SELECT count(*), count(evaluationJSON) FROM candidate"

    static func encoded<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The stored rung results (JSON) in rung order, each rung in its plan's order (the order
    /// they were trained), from the stored rung plans (JSON).
    static func orderedRungResults(resultsJSON: [String], plansJSON: [String]) throws -> [RungResult] {
        let decoder = JSONDecoder()
        let plans = Dictionary(try plansJSON.map { try decoder.decode(RungPlan.self, from: Data($0.utf8)) }.map { ($0.rung, $0) },
                               uniquingKeysWith: { first, _ in first })
        let results = try resultsJSON.map { try decoder.decode(RungResult.self, from: Data($0.utf8)) }
        return results.sorted { a, b in
            if a.rung != b.rung { return a.rung < b.rung }
            let order = plans[a.rung]?.candidateIDs ?? []
            let ia = order.firstIndex(of: a.candidateID) ?? Int.max, ib = order.firstIndex(of: b.candidateID) ?? Int.max
            return ia != ib ? ia < ib : a.candidateID < b.candidateID
        }
    }
}

/// The claim statements, written once for both dialects: `$N` parameters (rewritten to
/// SQLite's `?N`), the database's clock (so that workers on machines with skewed clocks agree
/// on a heartbeat's age), and row locks that PostgreSQL skips instead of waiting on.
struct ClaimStatements {
    let dialect: RunStoreSchema.Dialect

    /// Seconds since 1970 on the database server.
    private var now: String {
        dialect == .sqlite ? "((julianday('now') - 2440587.5) * 86400.0)" : "extract(epoch from clock_timestamp())"
    }
    private var skipLocked: String { dialect == .sqlite ? "" : " FOR UPDATE SKIP LOCKED" }
    private var lockRow: String { dialect == .sqlite ? "" : " FOR UPDATE" }

    private func sql(_ text: String) -> String {
        guard dialect == .sqlite else { return text }
        return text.replacingOccurrences(of: "$", with: "?")
    }

    var register: String {
        sql("INSERT INTO claim (unit, position) VALUES ($1, $2) ON CONFLICT (unit) DO NOTHING")
    }

    /// $1 grace seconds, $2 max attempts.
    var failExhausted: String {
        sql("""
            UPDATE claim SET state = 'failed', token = NULL,
                reason = 'no heartbeat from worker ' || coalesce(worker, '?') || ' for ' || CAST($1 AS TEXT) || ' s, after '
                    || CAST(attempts AS TEXT) || ' claim(s)'
            WHERE state = 'claimed' AND heartbeat_at < \(now) - CAST($1 AS \(doubleType)) AND attempts >= CAST($2 AS \(integerType))
            """)
    }

    /// $1 grace seconds, $2 the kind's key pattern.
    var next: String {
        sql("""
            SELECT unit FROM claim WHERE unit LIKE $2
                AND (state = 'pending' OR (state = 'claimed' AND heartbeat_at < \(now) - CAST($1 AS \(doubleType))))
            ORDER BY position LIMIT 1\(skipLocked)
            """)
    }

    /// $1 unit; returns state, token, whether stale ($2 grace seconds), attempts, reason.
    var lockUnit: String {
        sql("""
            SELECT state, token, CASE WHEN heartbeat_at < \(now) - CAST($2 AS \(doubleType)) THEN 1 ELSE 0 END, attempts, reason
            FROM claim WHERE unit = $1\(lockRow)
            """)
    }

    /// $1 unit, $2 worker, $3 token; returns the attempt number.
    var take: String {
        sql("""
            UPDATE claim SET state = 'claimed', worker = $2, token = $3, attempts = attempts + 1, heartbeat_at = \(now), reason = NULL
            WHERE unit = $1 RETURNING CAST(attempts AS TEXT)
            """)
    }

    /// $1 unit, $2 token.
    var heartbeat: String {
        sql("UPDATE claim SET heartbeat_at = \(now) WHERE unit = $1 AND token = $2 AND state = 'claimed' RETURNING unit")
    }

    /// $1 unit, $2 token.
    var finish: String {
        sql("UPDATE claim SET state = 'done', heartbeat_at = \(now) WHERE unit = $1 AND token = $2 AND state = 'claimed' RETURNING unit")
    }

    /// $1 evaluation JSON, $2 candidate id.
    var recordScore: String {
        sql("UPDATE candidate SET evaluationJSON = $1 WHERE id = $2 AND evaluationJSON IS NULL")
    }

    /// $1 unit, $2 token, $3 max attempts, $4 reason.
    var release: String {
        sql("""
            UPDATE claim SET state = CASE WHEN attempts >= CAST($3 AS \(integerType)) THEN 'failed' ELSE 'pending' END,
                token = NULL, reason = $4
            WHERE unit = $1 AND token = $2 AND state = 'claimed'
            """)
    }

    var states: String {
        """
        SELECT unit, state, worker, CAST(attempts AS TEXT), reason, CAST(\(now) - heartbeat_at AS TEXT)
        FROM claim ORDER BY position
        """
    }

    private var doubleType: String { dialect == .sqlite ? "REAL" : "DOUBLE PRECISION" }
    private var integerType: String { dialect == .sqlite ? "INTEGER" : "BIGINT" }
}

/// The claim protocol over any SQL connection: the one implementation both stores run, each
/// call inside the store's own transaction.
struct ClaimLedger {
    let statements: ClaimStatements
    /// Runs one statement with text parameters and returns its rows as text.
    let execute: (String, [String?]) throws -> [[String?]]

    @discardableResult
    private func query(_ sql: String, _ arguments: [String?]) throws -> [[String?]] { try execute(sql, arguments) }

    func register(_ units: [WorkUnit]) throws {
        for unit in units { try query(statements.register, [unit.key, String(unit.position)]) }
    }

    func claimNext(_ kind: WorkUnit.Kind, worker: String, policy: ClaimPolicy) throws -> Claim? {
        try query(statements.failExhausted, [String(policy.graceSeconds), String(policy.maxAttempts)])
        guard let unit = try query(statements.next, [String(policy.graceSeconds), kind.rawValue]).first?.first ?? nil else { return nil }
        return try take(unit, worker: worker)
    }

    func claim(_ unit: WorkUnit, worker: String, policy: ClaimPolicy) throws -> ClaimOutcome {
        guard let row = try query(statements.lockUnit, [unit.key, String(policy.graceSeconds)]).first else {
            return .failed(reason: "the run has no unit \(unit.key)")
        }
        let stale = row[2] == "1", attempts = Int(row[3] ?? "0") ?? 0
        switch row[0] ?? "" {
        case "done": return .done
        case "failed": return .failed(reason: row[4] ?? "failed")
        case "claimed" where !stale: return .busy
        case "claimed" where attempts >= policy.maxAttempts:
            try query(statements.failExhausted, [String(policy.graceSeconds), String(policy.maxAttempts)])
            return .failed(reason: try query(statements.lockUnit, [unit.key, String(policy.graceSeconds)]).first?[4] ?? "failed")
        default: return .claimed(try take(unit.key, worker: worker))
        }
    }

    private func take(_ unit: String, worker: String) throws -> Claim {
        let token = UUID().uuidString.lowercased()
        let attempt = Int(try query(statements.take, [unit, worker, token]).first?.first.flatMap { $0 } ?? "1") ?? 1
        return Claim(unit: unit, token: token, attempt: attempt)
    }

    func heartbeat(_ claim: Claim) throws -> Bool {
        !(try query(statements.heartbeat, [claim.unit, claim.token])).isEmpty
    }

    func finish(_ claim: Claim) throws -> Bool {
        !(try query(statements.finish, [claim.unit, claim.token])).isEmpty
    }

    /// Checks the claim, records the score only if no score is stored, and marks the unit done.
    func completeScoring(_ claim: Claim, candidateID: String, evaluationJSON: String) throws -> Bool {
        guard let row = try query(statements.lockUnit, [claim.unit, "0"]).first, row[1] == claim.token else { return false }
        // Done with this token: a retried commit (the connection dropped after COMMIT).
        if row[0] == "done" { return true }
        guard row[0] == "claimed" else { return false }
        try query(statements.recordScore, [evaluationJSON, candidateID])
        return try finish(claim)
    }

    func release(_ claim: Claim, reason: String, policy: ClaimPolicy) throws {
        try query(statements.release, [claim.unit, claim.token, String(policy.maxAttempts), reason])
    }

    func states() throws -> [UnitState] {
        try query(statements.states, []).map { row in
            UnitState(unit: row[0] ?? "", state: UnitState.State(rawValue: row[1] ?? "") ?? .pending, worker: row[2],
                      attempts: Int(row[3] ?? "0") ?? 0, reason: row[4],
                      heartbeatAgeSeconds: row[1] == "claimed" ? row[5].flatMap(Double.init) : nil,
                      secondsSinceHeartbeat: row[5].flatMap(Double.init))
        }
    }
}
