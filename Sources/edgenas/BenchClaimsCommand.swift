import ArgumentParser
import EdgeNASSearch
import Foundation

/// `edgenas bench claims`: the claim throughput of a run store under many workers.
struct BenchClaims: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claims",
        abstract: "Measure how many units a run store hands out per second to many workers, and check none twice.",
        discussion: """
            --workers threads, each with its own connection, claim a unit and commit an empty \
            result for it in a loop until --units are done: the store's side of a worker's life \
            without the scoring. Use an empty database (createdb) or a new SQLite path.

            Example:
              createdb -U edgenas claims && edgenas bench claims --store postgresql://edgenas@localhost/claims --workers 32
            """)

    @Option(help: ArgumentHelp("An empty store: postgresql://… or sqlite:PATH.", valueName: "URL"))
    var store: String

    @Option(help: "Simulated workers, one connection each (default 32).")
    var workers = 32

    @Option(help: "Units to hand out (default 4000).")
    var units = 4000

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func validate() throws {
        guard workers >= 1, units >= 1 else { throw ValidationError("--workers and --units must be at least 1") }
    }

    func run() throws {
        let result: ClaimBenchmark.Result
        do { result = try ClaimBenchmark.run(location: store, workers: workers, units: units) } catch let error as SearchError {
            throw CommandFailure.badInput(error.description)
        }
        if json {
            print(String(format: #"{"workers": %d, "units": %d, "claims": %d, "double_claims": %d, "seconds": %.3f, "claims_per_second": %.1f}"#,
                         result.workers, result.units, result.claims, result.doubleClaims, result.seconds, result.claimsPerSecond))
            return
        }
        print(String(format: "%d workers: %d units in %.2f s, %.0f claims/s (claim + commit), %d double claims",
                     result.workers, result.claims, result.seconds, result.claimsPerSecond, result.doubleClaims))
        if result.doubleClaims > 0 { throw CommandFailure.internalError("\(result.doubleClaims) units were claimed twice") }
    }
}
