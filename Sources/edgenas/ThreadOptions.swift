import ArgumentParser
import EdgeNASTensor

/// `--threads`, shared by every command that runs the engine.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets the engine's worker count when `--threads` was given.
    func apply() {
        if let threads { Compute.threadCount = threads }
    }
}
