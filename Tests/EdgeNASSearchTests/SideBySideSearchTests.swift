import EdgeNASCore
import EdgeNASProbes
import EdgeNASSearch
import EdgeNASTensor
import Foundation
import Testing

/// `search --parallel`: candidates scored side by side find what a sequential run finds.
@Suite struct SideBySideSearchTests {
    /// A real scorer that builds and runs each network (NASWOT on a fixed batch), stateless
    /// as side-by-side scoring needs.
    static func naswot() -> ProxyCandidateScorer {
        let count = 8 * 28 * 28
        let images = Tensor(shape: [8, 1, 28, 28], storage: (0..<count).map { Float(sin(Double($0) * 0.37)) })
        return ProxyCandidateScorer(proxy: .naswot, batch: ProxyBatch(images: images, labels: Array(0..<8)))
    }

    static func search(strategy: SearchStrategyKind, runs: ConcurrentRuns, path: String, create: Bool = true,
                       shouldStop: @escaping () -> Bool = { false }) throws -> Leaderboard {
        var searchSettings = settings(strategy: strategy, candidates: 10)
        searchSettings.scorer = "naswot"
        let runner = SearchRunner(space: tinySpace, settings: searchSettings, store: try SearchDatabase(path: path, create: create),
                                  costModel: CostModel(predictLatencyMilliseconds: nil), scorer: naswot(), runs: runs,
                                  shouldStop: shouldStop)
        return try runner.run()
    }

    @Test(arguments: [SearchStrategyKind.random, .evolution])
    func sideBySideScoringFindsWhatASequentialRunFinds(_ strategy: SearchStrategyKind) throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sequential = try Self.search(strategy: strategy, runs: ConcurrentRuns(runners: 1, threadsPerRunner: 1),
                                         path: folder.appendingPathComponent("one.sqlite").path)
        let sideBySide = try Self.search(strategy: strategy, runs: ConcurrentRuns(runners: 3, threadsPerRunner: 1),
                                         path: folder.appendingPathComponent("three.sqlite").path)
        #expect(sequential.entries.count == 10)
        #expect(sideBySide.entries == sequential.entries)
    }

    /// A stop lets the candidates in flight finish and keeps them; the resumed run scores the
    /// rest and ends where an uninterrupted run ends.
    @Test func anInterruptedSideBySideSearchResumes() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(SearchDatabase.fileName).path
        let runs = ConcurrentRuns(runners: 2, threadsPerRunner: 1)
        var polls = 0
        #expect(throws: SearchError.self) {
            _ = try Self.search(strategy: .random, runs: runs, path: path, shouldStop: { polls += 1; return polls > 4 })
        }
        let stored = try SearchDatabase(path: path, create: false).candidates()
        let scoredBeforeStop = stored.filter { $0.evaluationJSON != nil }.count
        #expect(scoredBeforeStop == 4, "the four started before the stop are kept")
        let resumed = try Self.search(strategy: .random, runs: runs, path: path, create: false)
        let straight = try Self.search(strategy: .random, runs: ConcurrentRuns(runners: 1, threadsPerRunner: 1),
                                       path: folder.appendingPathComponent("straight.sqlite").path)
        #expect(resumed.entries == straight.entries)
    }
}
