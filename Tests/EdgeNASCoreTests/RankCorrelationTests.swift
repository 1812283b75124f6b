import EdgeNASCore
import Testing

struct RankCorrelationTests {
    @Test func perfectAndReversedOrders() {
        let x: [Double] = [1, 2, 3, 4, 5]
        #expect(RankCorrelation.kendallTau(x, [10, 20, 30, 40, 50]) == 1)
        #expect(RankCorrelation.kendallTau(x, [5, 4, 3, 2, 1]) == -1)
        #expect(RankCorrelation.spearmanRho(x, [1, 4, 9, 16, 25])! > 0.999_999)
    }

    // Values computed with scipy.stats.kendalltau / spearmanr (tau-b, average ranks).
    @Test func tiesMatchScipy() throws {
        let x: [Double] = [1, 2, 2, 3, 4, 4, 5]
        let y: [Double] = [3, 1, 2, 2, 5, 4, 6]
        let tau = try #require(RankCorrelation.kendallTau(x, y))
        let rho = try #require(RankCorrelation.spearmanRho(x, y))
        #expect(abs(tau - 0.6155870112510923) < 1e-12)
        #expect(abs(rho - 0.7431505414602935) < 1e-12)
    }

    @Test func constantSideHasNoCorrelation() {
        #expect(RankCorrelation.kendallTau([1, 1, 1], [1, 2, 3]) == nil)
        #expect(RankCorrelation.spearmanRho([1, 2, 3], [4, 4, 4]) == nil)
        #expect(RankCorrelation.kendallTau([1], [1]) == nil)
    }

    @Test func averageRanksShareTies() {
        #expect(RankCorrelation.averageRanks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
    }

    @Test func quantilesInterpolate() {
        #expect(SampleStatistics.median([4, 1, 3, 2]) == 2.5)
        #expect(SampleStatistics.quantile([1, 2, 3, 4, 5], 0.9) == 4.6)
        #expect(abs(SampleStatistics.standardDeviation([2, 4, 4, 4, 5, 5, 7, 9]) - 2.138089935299395) < 1e-12)
    }
}
