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
    func evaluate(_ architecture: Architecture, seed: UInt64, deadline: ContinuousClock.Instant,
                  remainingCandidates: Int) throws -> CandidateEvaluation {
        CandidateEvaluation(rawScores: ["instant": Double(architecture.cost.params)], seconds: 0)
    }
    func totals(_ evaluations: [CandidateEvaluation]) -> [Double] { evaluations.map { $0.rawScores["instant"]! } }
}

@Suite(.serialized) struct SearchScalingTests {
    /// Seconds a whole random search of `count` candidates takes, and its leaderboard size.
    static func searchSeconds(candidates count: Int) throws -> (seconds: Double, ranked: Int) {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SearchDatabase(path: folder.appendingPathComponent(SearchDatabase.fileName).path, create: true)
        let runner = SearchRunner(space: tinySpace, settings: settings(candidates: count), database: database,
                                  costModel: CostModel(predictLatencyMilliseconds: nil), scorer: InstantScorer(),
                                  events: { _ in })
        let start = ContinuousClock.now
        let board = try runner.run()
        return ((ContinuousClock.now - start) / .seconds(1), board.entries.count)
    }

    /// 10,000 candidates with a zero-cost scorer cost about four times 2,500: the time per
    /// candidate does not grow with the number already scored (it did, when every candidate
    /// re-read and re-ranked all the others: 2.5 s for 250, 25 s for 1,000).
    /// 10,000 candidates with a zero-cost scorer cost about four times 2,500: the time per
    /// candidate does not grow with the number already scored (it did, when every candidate
    /// re-read and re-ranked all the others: 2.5 s for 250, 25 s for 1,000).
    @Test func probeCurrentScaling() throws {
        for n in [250, 1000, 2500] { let r = try Self.searchSeconds(candidates: n); print("PROBE \(n) \(r.seconds)") }
    }

    @Test func aZeroCostSearchGrowsLinearlyInItsCandidates() throws {
        let small = try Self.searchSeconds(candidates: 2_500)
        let large = try Self.searchSeconds(candidates: 10_000)
        #expect(small.ranked == 2_500 && large.ranked == 10_000)
        let ratio = large.seconds / small.seconds
        print(String(format: "zero-cost search: 2,500 candidates %.2f s, 10,000 candidates %.2f s (ratio %.2f; linear 4, quadratic 16)",
                     small.seconds, large.seconds, ratio))
        // Linear is 4; the margin absorbs a shared machine's noise, quadratic would be 16.
        #expect(ratio < 7, "10,000 candidates took \(large.seconds) s, 2,500 took \(small.seconds) s")
    }
}
