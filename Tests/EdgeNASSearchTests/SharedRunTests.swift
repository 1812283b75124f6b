import EdgeNASCore
import EdgeNASSearch
import Foundation
import Testing

/// The roles of a process in a shared run, in one process on a SQLite store: preparing
/// calibrates once, two workers score every candidate once between them and only one is
/// left to write the outputs, and the board equals a run by one process.
struct SharedRunRoleTests {
    func runner(_ store: RunStore, scorer: CostDensityScorer) -> SearchRunner {
        SearchRunner(space: tinySpace, settings: settings(), store: store, costModel: flopsAsLatency, scorer: scorer)
    }

    @Test func prepareThenTwoWorkersScoreEachCandidateOnceAndOneWritesTheOutputs() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = try runner(try SearchDatabase(path: folder.appendingPathComponent("alone.sqlite").path, create: true),
                               scorer: CostDensityScorer()).run()

        let location = "sqlite:" + folder.appendingPathComponent("shared.sqlite").path
        let policy = ClaimPolicy(graceSeconds: 5, maxAttempts: 2)
        let preparer = CostDensityScorer()
        let prepared = try SharedRun.run(runner(try RunStores.open(location, create: true), scorer: preparer), as: .prepare,
                                         runFolder: folder, storeLocation: location, policyIfMissing: policy)
        guard case .ready(stored: 12, scored: 0) = prepared else {
            Issue.record("prepare should leave 12 unscored candidates, got \(prepared)")
            return
        }
        #expect(preparer.plansMade == 1)
        #expect(try SharedRun.policy(of: RunStores.open(location, create: false)) == policy)
        #expect(try SharedRun.runFolder(of: RunStores.open(location, create: false)) == folder.standardizedFileURL.path)

        let scorers = [CostDensityScorer(), CostDensityScorer()]
        let outcomes = try scorers.enumerated().map { index, scorer in
            try SharedRun.run(runner(try RunStores.open(location, create: false), scorer: scorer),
                              as: .worker(name: "w\(index)", holdSecondsBeforeScoring: 0), runFolder: folder,
                              storeLocation: location, policyIfMissing: policy)
        }
        // The first worker scores everything and claims the outputs; the second finds nothing left.
        #expect(scorers.map(\.plansMade) == [0, 0], "the plan is calibrated once, by prepare")
        #expect(scorers[0].evaluatedIDs.count + scorers[1].evaluatedIDs.count == 12)
        guard case let .writeOutputs(board, claim) = outcomes[0], claim != nil, case .finished = outcomes[1] else {
            Issue.record("one worker writes the outputs, the other finishes: \(outcomes)")
            return
        }
        #expect(board.entries.map(\.id) == alone.entries.map(\.id))

        let status = try SharedRun.run(runner(try RunStores.open(location, create: false), scorer: CostDensityScorer()), as: .status,
                                       runFolder: folder, storeLocation: location, policyIfMissing: policy)
        guard case let .status(text) = status else {
            Issue.record("status should return its text, got \(status)")
            return
        }
        #expect(text.contains("candidates: 12, scored 12; units: 12 done, 0 claimed, 0 pending, 0 failed"), "\(text)")
        #expect(text.contains("outputs: claimed (w0)"), "\(text)")
    }
}
