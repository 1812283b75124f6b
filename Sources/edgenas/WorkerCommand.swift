import ArgumentParser
import Foundation

/// `edgenas worker`: one of many identical processes that share a run through its store.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a shared run and work on it until it is done.",
        discussion: """
            Claims units of the run in --store one at a time: the probes' calibration (once per \
            run, by the first worker to claim it), one candidate's scoring at the run's plan, the \
            final stage, and the outputs. Each claim carries a heartbeat; a claim whose worker \
            stops (killed, cut off) for the run's grace period goes to another worker, at most \
            --retries times (set when the run started) before the unit is recorded as failed. A \
            result is committed with its unit in one transaction and never recorded twice. The \
            worker exits when nothing is left; the one that claims the outputs exports the winner \
            and writes the run folder (the folder the run was started with, or --out).

            Start the run first, then as many workers as there are machines or cores:
              edgenas search --store postgresql://edgenas@db-host/run1 --space spaces/fmnist-vit.json \\
                  --candidates 500 --budget 2h --out runs/vit --init
              edgenas worker --store postgresql://edgenas@db-host/run1 --threads 2   # on each machine
              edgenas search --store postgresql://edgenas@db-host/run1 --status

            deploy/ has a Slurm job array and a Kubernetes Indexed Job that run this command.

            Exit status: 0 done, 64 bad input (no run in the store, a newer schema), 70 internal \
            error, 130 interrupted (Ctrl-C or SIGTERM: the unit in hand is finished and committed \
            first; a second signal quits at once, and the claim goes to another worker after the \
            grace period).
            """)

    @Option(help: ArgumentHelp("The run's store: postgresql://USER@HOST:PORT/DB or sqlite:PATH.", valueName: "URL"))
    var store: String

    @Option(help: "Engine threads of this worker (default 1, for one worker per core; on 2 cores one worker × 2 threads scored the probes 6–8 % faster than two × 1, see deploy/README.md).")
    var threads: Int?

    @Option(help: ArgumentHelp("This worker's name in --status (default HOST:PID).", valueName: "NAME"))
    var name: String?

    @Option(help: ArgumentHelp("Where to write the outputs if this worker writes them (default: the run's folder).", valueName: "DIR"))
    var out: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var arguments = ["--store", store, "--parallel", "1", "--threads", String(threads ?? 1)]
        if let name { arguments += ["--worker-name", name] }
        if let out { arguments += ["--out", out] }
        var search = try Search.parse(arguments)
        try search.run()
    }
}
