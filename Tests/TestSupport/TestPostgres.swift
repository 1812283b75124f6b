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

    /// The package's root folder.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Stops and starts the server (the reconnection tests).
    public static func restartServer() throws {
        let result = try runScript("scripts/postgres-test-server.sh", ["restart"])
        guard result.status == 0 else { throw Failure(description: "postgres-test-server.sh restart failed: \(result.output)") }
    }

    /// Runs one of the package's scripts from its root and returns its exit status and output.
    /// posix_spawn and waitpid: Foundation's Process never saw a script end that left a server
    /// running in its process group, and spun waiting for it.
    public static func runScript(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-script-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let quoted = ([script] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let command = "cd '\(packageRoot.path)' && \(quoted) >'\(log.path)' 2>&1 </dev/null"
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { throw Failure(description: "cannot start \(script)") }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xff, output)
    }
}
