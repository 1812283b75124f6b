import CLibPQ
import Foundation

/// Why a PostgreSQL operation failed.
public enum PostgresError: Error, CustomStringConvertible, Sendable {
    /// The server cannot be reached, or the connection was lost and did not come back in time.
    case connection(String)
    /// The server refused a statement; `sqlState` is its five-character SQLSTATE code.
    case statement(sqlState: String?, message: String)

    public var description: String {
        switch self {
        case let .connection(message): return message
        case let .statement(state, message): return state.map { "\(message) (SQLSTATE \($0))" } ?? message
        }
    }

    /// A lost connection or a server shutting down: the operation may be retried once the
    /// connection is back (SQLSTATE classes 08 and 57P).
    var isConnectionLoss: Bool {
        switch self {
        case .connection: return true
        case let .statement(state, _): return state.map { $0.hasPrefix("08") || $0.hasPrefix("57P") } ?? false
        }
    }
}

/// One connection to a PostgreSQL server through libpq, safe to share between threads (one
/// statement at a time). Values travel as text parameters, never spliced into SQL.
///
/// A connection lost between statements (a server restart, a network cut) is re-established
/// for up to `reconnectSeconds`; ``transaction(_:)`` then runs its body again, so bodies
/// must be safe to repeat.
public final class PostgresConnection: @unchecked Sendable {
    /// The URL with any password masked, for messages.
    public let displayURL: String
    /// How long a lost connection is retried before operations fail.
    public let reconnectSeconds: Double
    private var handle: OpaquePointer?
    private let lock = NSRecursiveLock()
    private var inTransaction = false

    public init(url: String, reconnectSeconds: Double = 30) throws {
        displayURL = Self.masked(url)
        self.reconnectSeconds = reconnectSeconds
        handle = Self.connect(url)
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let reason = handle.map { Self.message(PQerrorMessage($0)) } ?? "out of memory"
            if let handle { PQfinish(handle) }
            self.handle = nil
            throw PostgresError.connection("\(displayURL): cannot connect to PostgreSQL: \(reason)")
        }
        // Notices such as "relation already exists, skipping" are not for the user.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    /// Timeouts that a URL may override: without them a cut network link leaves a statement
    /// waiting for TCP's own timeout (many minutes) instead of failing and reconnecting.
    static let defaultParameters: KeyValuePairs = [
        "connect_timeout": "10", "tcp_user_timeout": "10000",
        "keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3",
        "application_name": "edgenas",
    ]

    /// The defaults first, then the URL expanded in place: its own settings win.
    private static func connect(_ url: String) -> OpaquePointer? {
        let pairs = defaultParameters.map { ($0.key, $0.value) } + [("dbname", url)]
        let keys = pairs.map { strdup($0.0) }, values = pairs.map { strdup($0.1) }
        defer { (keys + values).forEach { free($0) } }
        let keyPointers = keys.map { UnsafePointer<CChar>($0) } + [nil]
        let valuePointers = values.map { UnsafePointer<CChar>($0) } + [nil]
        return PQconnectdbParams(keyPointers, valuePointers, 1)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Runs one statement with text parameters and returns its rows as text (nil for NULL).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        lock.lock()
        defer { lock.unlock() }
        if inTransaction { return try run(sql, parameters) }
        // Alone, a statement is its own transaction: run it again once the connection is back.
        while true {
            try ensureConnected()
            do { return try run(sql, parameters) } catch let error as PostgresError where error.isConnectionLoss { continue }
        }
    }

    /// Runs `body` in one transaction (BEGIN … COMMIT; ROLLBACK when it throws). When the
    /// connection is lost, it is re-established and `body` runs again from the start.
    public func transaction<Value>(_ body: () throws -> Value) throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        precondition(!inTransaction, "PostgresConnection: nested transaction")
        while true {
            try ensureConnected()
            do {
                inTransaction = true
                defer { inTransaction = false }
                _ = try run("BEGIN", [])
                let value: Value
                do { value = try body() } catch {
                    _ = try? run("ROLLBACK", [])
                    throw error
                }
                _ = try run("COMMIT", [])
                return value
            } catch let error as PostgresError where error.isConnectionLoss {
                continue  // ensureConnected waits for the server or gives up with a clear message
            }
        }
    }

    private func run(_ sql: String, _ parameters: [String?]) throws -> [[String?]] {
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let values = copies.map { UnsafePointer<CChar>($0) }
        let result = values.withUnsafeBufferPointer { buffer in
            PQexecParams(handle, sql, Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
            let message = result.map { Self.message(PQresultErrorMessage($0)) } ?? Self.message(PQerrorMessage(handle))
            if PQstatus(handle) != CONNECTION_OK { throw PostgresError.connection(message) }
            throw PostgresError.statement(sqlState: state, message: message)
        }
        guard let result else { return [] }
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        return (0..<rows).map { row in
            (0..<columns).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil
                    : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
    }

    /// Re-establishes a lost connection, waiting up to `reconnectSeconds` for the server.
    private func ensureConnected() throws {
        guard PQstatus(handle) != CONNECTION_OK else { return }
        let deadline = Date().addingTimeInterval(reconnectSeconds)
        var pause = 0.25
        while true {
            PQreset(handle)
            if PQstatus(handle) == CONNECTION_OK { return }
            if Date() >= deadline {
                throw PostgresError.connection("\(displayURL): lost the connection to PostgreSQL and could not reconnect within "
                    + "\(Int(reconnectSeconds)) s: \(Self.message(PQerrorMessage(handle)))")
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 2)
        }
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `postgresql://user:secret@host/db` as `postgresql://user:***@host/db`.
    static func masked(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}
