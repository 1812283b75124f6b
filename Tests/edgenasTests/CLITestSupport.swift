import Foundation

/// The built `edgenas` binary: the test runner lives in the build products directory, next to it.
func edgenasBinary() throws -> URL {
    let products = Bundle.main.bundleURL.deletingLastPathComponent()
    let candidates = [products.appendingPathComponent("edgenas"), Bundle.main.bundleURL.appendingPathComponent("edgenas")]
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "edgenas binary not found near \(products.path)"])
    }
    return binary
}

/// Runs `edgenas` as a user would; `interruptAfter` sends SIGINT (Ctrl-C) after that many
/// seconds, `interruptWhen` as soon as the standard error written so far satisfies it.
/// `workingDirectory` is where relative paths (such as the default exports/) resolve;
/// `unprivileged` runs it as user nobody when the tests run as root, so that permissions
/// apply as they do for a user; `environment` sets (or, with nil, removes) variables of the
/// test's own environment.
func runEdgenas(_ arguments: [String], interruptAfter: Double? = nil, interruptWhen: (@Sendable (String) -> Bool)? = nil,
                workingDirectory: URL? = nil, unprivileged: Bool = false, environment: [String: String?] = [:])
    throws -> (status: Int32, standardOutput: String, standardError: String) {
    let process = Process()
    if unprivileged && geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try edgenasBinary().path] + arguments
    } else {
        process.executableURL = try edgenasBinary()
        process.arguments = arguments
    }
    if let workingDirectory { process.currentDirectoryURL = workingDirectory }
    if !environment.isEmpty {
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
    }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    if let interruptAfter {
        Thread.sleep(forTimeInterval: interruptAfter)
        kill(process.processIdentifier, SIGINT)
    }
    // Read both pipes while the process runs, so that a chatty process cannot block on a full pipe.
    nonisolated(unsafe) var errorData = Data()
    let processID = process.processIdentifier
    let errorReader = Thread {
        var interrupted = false
        while true {
            let chunk = error.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            errorData.append(chunk)
            if !interrupted, let interruptWhen, interruptWhen(String(decoding: errorData, as: UTF8.self)) {
                interrupted = true
                kill(processID, SIGINT)
            }
        }
    }
    errorReader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errorReader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// A fresh directory under the system's temporary directory.
func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
