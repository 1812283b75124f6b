import EdgeNASCore

/// One candidate's aggregated probe score.
public struct AggregatedScore: Sendable, Codable, Equatable {
    /// Σ_p w_p · z_p over the probes; higher is better.
    public var total: Double
    /// z_p: the probe's score standardised across the pool, sign-flipped for error probes so
    /// that higher is better everywhere.
    public var standardized: [ProbeKind: Double]
}

/// Turns raw probe scores of a candidate pool into one comparable total per candidate.
public enum ProbeAggregation {
    /// Standardises each probe across `results` and sums with `weights` (missing = 1).
    ///
    /// z_p(i) = (s_p(i) − mean_p) / std_p with s = −raw for error probes and s = raw otherwise;
    /// a diverged (or missing) score first takes the pool's worst value on that probe, so the
    /// candidate ranks last there and the rest of the pool is unaffected. A probe with no
    /// spread (or one candidate) contributes 0. Sample standard deviation (n − 1).
    public static func totals(_ results: [ProbeResult], weights: [ProbeKind: Double] = [:]) -> [AggregatedScore] {
        var scores = [AggregatedScore](repeating: AggregatedScore(total: 0, standardized: [:]), count: results.count)
        for kind in ProbeKind.allCases {
            let standardized = standardize(results.map { result -> Double? in
                guard !result.diverged.contains(kind), let raw = result.rawScores[kind], raw.isFinite else { return nil }
                return kind.lowerIsBetter ? -raw : raw
            })
            let weight = weights[kind] ?? 1
            for index in results.indices {
                scores[index].standardized[kind] = standardized[index]
                scores[index].total += weight * standardized[index]
            }
        }
        return scores
    }

    /// z-scores of `values` (higher is better), nil replaced by the worst present value.
    static func standardize(_ values: [Double?]) -> [Double] {
        let present = values.compactMap { $0 }
        guard let worst = present.min() else { return values.map { _ in 0 } }
        let filled = values.map { $0 ?? worst }
        let mean = SampleStatistics.mean(filled)
        let deviation = SampleStatistics.standardDeviation(filled)
        guard deviation > 0 else { return filled.map { _ in 0 } }
        return filled.map { ($0 - mean) / deviation }
    }
}

extension ProbeResult {
    /// One candidate's results from several probe seeds at the same (D, E), as one result:
    /// each probe's raw score is the mean over the seeds where it stayed finite, and a probe
    /// that diverged under every seed stays diverged. Averaging seeds cuts the seed noise
    /// that dominates brief probe training.
    public static func seedAverage(_ results: [ProbeResult]) -> ProbeResult {
        precondition(!results.isEmpty, "seedAverage of no results")
        var scores: [ProbeKind: Double] = [:]
        var diverged: Set<ProbeKind> = []
        for kind in ProbeKind.allCases {
            let values = results.compactMap { $0.diverged.contains(kind) ? nil : $0.rawScores[kind] }.filter(\.isFinite)
            if values.isEmpty {
                if results.contains(where: { $0.diverged.contains(kind) }) { diverged.insert(kind) }
            } else {
                scores[kind] = SampleStatistics.mean(values)
            }
        }
        return ProbeResult(rawScores: scores, diverged: diverged, seconds: results.reduce(0) { $0 + $1.seconds },
                           dataVolume: results[0].dataVolume, epochs: results[0].epochs)
    }
}
