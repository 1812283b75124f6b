@testable import EdgeNASProbes
import Testing

private func result(_ scores: [ProbeKind: Double], diverged: Set<ProbeKind> = []) -> ProbeResult {
    ProbeResult(rawScores: scores, diverged: diverged, seconds: 1, dataVolume: 32, epochs: 1)
}

@Suite struct AggregationTests {
    @Test func eachProbeIsStandardisedAndErrorsAreSignFlipped() {
        let results = [result([.lgj: 1, .csb: 0.2]), result([.lgj: 2, .csb: 0.4]), result([.lgj: 3, .csb: 0.9])]
        let totals = ProbeAggregation.totals(results)
        let lgj = totals.map { $0.standardized[.lgj]! }
        // Lower LGJ error is better: the first candidate gets the highest z.
        #expect(abs(lgj[0] - 1) < 1e-12 && abs(lgj[1]) < 1e-12 && abs(lgj[2] + 1) < 1e-12)
        let csb = totals.map { $0.standardized[.csb]! }
        #expect(abs(csb.reduce(0, +)) < 1e-12)
        let mean = csb.reduce(0, +) / 3
        let variance = csb.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 2
        #expect(abs(variance - 1) < 1e-12)
        #expect(csb[2] > csb[1] && csb[1] > csb[0])
        for index in 0..<3 { #expect(abs(totals[index].total - lgj[index] - csb[index]) < 1e-12) }
    }

    @Test func aDivergedProbeScoresWorstWithoutDisturbingTheOthers() {
        let results = [result([.mf: 0.1]), result([.mf: 0.3]), result([:], diverged: [.mf]), result([.mf: .nan])]
        let z = ProbeAggregation.totals(results).map { $0.standardized[.mf]! }
        #expect(z[2] == z.min()! && z[3] == z.min()!)
        #expect(z[2] == z[1])  // worst is the worst finite error, 0.3
        #expect(z[0] > z[1])
        #expect(z.allSatisfy { $0.isFinite })
    }

    @Test func weightsScaleEachProbesContribution() {
        let results = [result([.rm: 0.5, .vm: 0.1]), result([.rm: 1.0, .vm: 0.3])]
        let equal = ProbeAggregation.totals(results)
        let weighted = ProbeAggregation.totals(results, weights: [.rm: 0, .vm: 2])
        #expect(abs(equal[0].total) < 1e-12)  // RM favours 0, VM favours 1, equally
        #expect(abs(weighted[1].total - 2 * weighted[1].standardized[.vm]!) < 1e-12)
        #expect(weighted[1].total > 0 && weighted[0].total < 0)
    }

    @Test func aProbeWithoutSpreadContributesNothing() {
        let totals = ProbeAggregation.totals([result([.oip: 0.2]), result([.oip: 0.2])])
        #expect(totals.allSatisfy { $0.standardized[.oip] == 0 && $0.total == 0 })
    }
}

struct SeedAverageTests {
    @Test func seedsAreAveragedPerProbeAndOnlyAlwaysDivergedProbesStayDiverged() {
        let first = ProbeResult(rawScores: [.lgj: 1, .csb: 0.5], diverged: [.mf, .rm], seconds: 2, dataVolume: 64, epochs: 2)
        let second = ProbeResult(rawScores: [.lgj: 3, .csb: 0.7, .mf: 0.4], diverged: [.rm], seconds: 3, dataVolume: 64, epochs: 2)
        let average = ProbeResult.seedAverage([first, second])
        #expect(average.rawScores[.lgj] == 2)
        #expect(abs(average.rawScores[.csb]! - 0.6) < 1e-12)
        #expect(average.rawScores[.mf] == 0.4)
        #expect(average.diverged == [.rm])
        #expect(average.seconds == 5 && average.dataVolume == 64 && average.epochs == 2)
    }
}
