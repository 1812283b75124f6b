import Foundation

/// The PostgreSQL server that scripts/test.sh starts (scripts/postgres-test-server.sh); the
/// PostgreSQL cases are skipped, visibly, when it is not running.
public enum TestPostgres {
    public static let url = ProcessInfo.processInfo.environment["EDGENAS_TEST_POSTGRES_URL"]
    public static var available: Bool { url != nil }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Runs one SQL statement with psql on the database at `url`.
    public static func execute(_ sql: String, on url: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "psql failed on: \(sql)") }
    }

    /// A new, empty database on the test server, as a store URL.
    public static func freshDatabase() throws -> String {
        let name = "edgenas_test_\(UUID().uuidString.prefix(8).lowercased())"
        try execute("CREATE DATABASE \(name)", on: url!)
        var components = URLComponents(string: url!)!
        components.path = "/\(name)"
        return components.string!
    }

    /// Stops and starts the server (the reconnection tests).
    public static func restartServer() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/postgres-test-server.sh")
        // posix_spawn and waitpid: Foundation's Process never saw this script end (the server
        // it starts stays in the script's process group), and spun waiting for it.
        var pid: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup(script.path), strdup("restart"), nil]
        defer { arguments.forEach { free($0) } }
        guard posix_spawn(&pid, script.path, nil, nil, arguments, environ) == 0 else {
            throw Failure(description: "cannot start \(script.path)")
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else { throw Failure(description: "\(script.path) restart failed (status \(status))") }
    }
}
