import Foundation

/// How fast a store hands out units to many workers at once, and whether it ever hands one
/// unit to two: `workers` threads, each with its own connection, claim and complete units
/// with an empty result as fast as they can (`edgenas bench claims`).
public enum ClaimBenchmark {
    public struct Result: Sendable {
        public var workers: Int
        public var units: Int
        /// Claims made; more than `units` would mean a unit was handed out twice.
        public var claims: Int
        public var distinctUnits: Int
        public var seconds: Double
        /// Claim-and-complete round trips per second, all workers together.
        public var claimsPerSecond: Double { Double(claims) / seconds }
        public var doubleClaims: Int { claims - distinctUnits }
    }

    /// Runs on a store without a run (the units are named `bench N`; no candidates are stored).
    public static func run(location: String, workers: Int, units: Int) throws -> Result {
        let store = try RunStores.open(location, create: true)
        guard try store.setting("settings") == nil, try store.unitStates().isEmpty else {
            throw SearchError.badInput("\(store.location) holds a run or earlier units; benchmark on an empty database")
        }
        try store.registerUnits((0..<units).map { .score(candidateID: "bench \($0)", position: $0) })
        let tally = Tally()
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var mine: [String] = []
            do {
                // Each worker its own connection, as separate processes would have.
                let store = try RunStores.open(location, create: false)
                while let claim = try store.claimNextScoring(worker: "bench-\(worker)", policy: ClaimPolicy()) {
                    mine.append(claim.unit)
                    _ = try store.completeScoring(claim, candidateID: claim.unit, evaluation: CandidateEvaluation(rawScores: [:], seconds: 0))
                }
            } catch {
                tally.fail("\(error)")
            }
            tally.add(mine)
        }
        let seconds = Date().timeIntervalSince(start)
        if let failure = tally.failures.first { throw SearchError.runDatabase("a benchmark worker failed: \(failure)") }
        return Result(workers: workers, units: units, claims: tally.claimed.count, distinctUnits: Set(tally.claimed).count, seconds: seconds)
    }
}

/// The units each benchmark thread claimed, gathered under a lock.
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var claimed: [String] = []
    private(set) var failures: [String] = []
    func add(_ units: [String]) { lock.withLock { claimed += units } }
    func fail(_ failure: String) { lock.withLock { failures.append(failure) } }
}
