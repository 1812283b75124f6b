import ArgumentParser
import EdgeNASTensor

/// `--threads`, shared by every command that runs the engine.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads of the engine (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// The engine's worker count for this command.
    var threadCount: Int { threads ?? Compute.defaultThreadCount }

    /// Runs `body` with the engine on `threadCount` workers.
    func scoped<Result>(_ body: () throws -> Result) rethrows -> Result {
        try Compute.withThreads(threadCount, body)
    }
}
