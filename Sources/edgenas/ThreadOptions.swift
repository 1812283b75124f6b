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

    /// Side-by-side runs of candidates: `parallel` of them (default: as many as fit on the
    /// cores at `--threads` each), each on `--threads` workers (default: the cores shared
    /// out). With neither given, one candidate per core on one thread each: on 2 cores that
    /// scored the dev set 1.2–1.5× faster than one candidate on both (the probes' small
    /// steps do not split well across threads; see benchmarks/engine-speed.md).
    func runs(parallel: Int?) -> ConcurrentRuns {
        let cores = Compute.defaultThreadCount
        let runners = parallel ?? max(1, cores / (threads ?? 1))
        return ConcurrentRuns(runners: runners, threadsPerRunner: threads ?? max(1, cores / runners))
    }

    /// Runs `body` with the engine on `threadCount` workers.
    func scoped<Result>(_ body: () throws -> Result) rethrows -> Result {
        try Compute.withThreads(threadCount, body)
    }
}
