import EdgeNASCore
import EdgeNASSearch
import Foundation
import Testing

/// A scorer as cheap as a zero-cost proxy gets (one number per candidate, no network), so
/// that the time a search takes is the runner's own: sampling, storing, ranking.
final class InstantScorer: CandidateScorer {
    let name = "instant"
    let criteria = [ScoreCriterion(name: "instant", lowerIsBetter: false)]
    func plan(calibrationCandidates: [Architecture], totalBudgetSeconds: Double, candidateCount: Int,
              progress: @escaping (String) -> Void) throws -> ScoringPlan? { nil }
    func adopt(_ plan: ScoringPlan) throws {}
    func evaluate(_ architecture: Architecture, seed: UInt64, fidelity: ScoringFidelity) throws -> CandidateEvaluation {
        CandidateEvaluation(rawScores: ["instant": Double(architecture.cost.params)], seconds: 0)
    }
    func totals(_ evaluations: [CandidateEvaluation]) -> [Double] { evaluations.map { $0.rawScores["instant"]! } }
}

@Suite(.serialized) struct SearchScalingTests {
    /// A random search of 10,000 candidates with a zero-cost scorer: scoring the last 2,500
    /// takes about as long as scoring the first 2,500. It took seven times as long while
    /// every candidate re-read and re-ranked all those before it (2.5 s for 250 candidates,
    /// 25 s for 1,000, 203 of 20,000 in 50 s).
    @Test func aZeroCostSearchGrowsLinearlyInItsCandidates() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SearchDatabase(path: folder.appendingPathComponent(SearchDatabase.fileName).path, create: true)
        let count = 10_000
        nonisolated(unsafe) var scoredAt: [ContinuousClock.Instant] = []
        let runner = SearchRunner(space: tinySpace, settings: settings(candidates: count), store: database,
                                  costModel: CostModel(predictLatencyMilliseconds: nil), scorer: InstantScorer(),
                                  events: { event in
                                      switch event {
                                      case .scoringStarted: scoredAt.append(ContinuousClock.now)
                                      case .scored: scoredAt.append(ContinuousClock.now)
                                      default: break
                                      }
                                  })
        let start = ContinuousClock.now
        let board = try runner.run()
        let total = (ContinuousClock.now - start) / .seconds(1)
        #expect(board.entries.count == count && scoredAt.count == count + 1)
        let quarter = count / 4
        let first = (scoredAt[quarter] - scoredAt[0]) / .seconds(1)
        let last = (scoredAt[count] - scoredAt[count - quarter]) / .seconds(1)
        print(String(format: "zero-cost search of %d candidates: %.1f s; scoring the first 2,500 %.2f s, the last 2,500 %.2f s",
                     count, total, first, last))
        // Linear is 1; quadratic would be 7. The margin absorbs a busy machine.
        #expect(last < 4 * first, "the last 2,500 candidates took \(last) s, the first 2,500 \(first) s")
    }
}
