import EdgeNASCore
import EdgeNASSearch
import Foundation

/// The tiny MBConv reference space, inline so the tests read no files outside the package.
let tinySpace = SearchSpaceUnion(try! SearchSpace(jsonData: Data("""
    {"format": "edgenas.space/1", "name": "fmnist-mbconv-tiny", "family": "mbconv",
     "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, "activation": "relu6",
     "stem": {"channels": 8, "kernel": 3, "stride": 1},
     "stages": [
       {"channels": [8, 16], "stride": 1, "depth": [1, 2], "kernel": [3, 5, 7], "expand": [1, 2, 4], "se": [false, true]},
       {"channels": [16, 24], "stride": 2, "depth": [1, 2, 3], "kernel": [3, 5, 7], "expand": [2, 4, 6], "se": [false, true]},
       {"channels": [24, 32, 40], "stride": 2, "depth": [1, 2, 3], "kernel": [3, 5, 7], "expand": [2, 4, 6], "se": [false, true]},
       {"channels": [40, 48, 64], "stride": 2, "depth": [1, 2, 3], "kernel": [3, 5, 7], "expand": [2, 4, 6], "se": [false, true]}],
     "head": {"channels": [0, 128]}}
    """.utf8)))

/// Scores by analytic cost: MACs per parameter ("compute density", higher is better) and
/// Params (lower is better). Real numbers with a known order, cheap enough to run searches
/// in tests; counts its calls so that tests can check what a resumed run rescored.
final class CostDensityScorer: CandidateScorer {
    let name = "density"
    let criteria = [ScoreCriterion(name: "density", lowerIsBetter: false), ScoreCriterion(name: "params", lowerIsBetter: true)]
    private(set) var evaluatedIDs: [String] = []
    private(set) var plansMade = 0
    private(set) var adoptedPlans = 0

    func plan(calibrationCandidates: [Architecture], totalBudgetSeconds: Double, candidateCount: Int,
              progress: @escaping (String) -> Void) throws -> ScoringPlan? {
        plansMade += 1
        return ScoringPlan(encoded: Data("{\"calibrated_on\": \(calibrationCandidates.count)}".utf8), summary: "density plan")
    }

    func adopt(_ plan: ScoringPlan) throws { adoptedPlans += 1 }

    func evaluate(_ architecture: Architecture, seed: UInt64, fidelity: ScoringFidelity) throws -> CandidateEvaluation {
        evaluatedIDs.append(architecture.id)
        let cost = architecture.cost
        return CandidateEvaluation(rawScores: ["density": Double(cost.macs) / Double(cost.params), "params": Double(cost.params)], seconds: 0)
    }

    func totals(_ evaluations: [CandidateEvaluation]) -> [Double] {
        evaluations.map { $0.rawScores["density"]! }
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-search-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func settings(strategy: SearchStrategyKind = .random, candidates: Int = 12, constraints: SearchConstraints = .init(),
              seed: UInt64 = 7) -> SearchSettings {
    SearchSettings(spaceName: tinySpace.name, spaceJSON: "tiny", deviceID: nil, constraints: constraints, budgetSeconds: 60,
                   candidateCount: candidates, strategy: strategy, seed: seed, scorer: "density", population: 5, tournament: 3)
}

/// A latency stand-in from analytic cost for constraint tests: 1 ms per MFLOP.
let flopsAsLatency = CostModel(predictLatencyMilliseconds: { Double($0.cost.flops) / 1e6 })
