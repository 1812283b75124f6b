import Foundation

/// Rank statistics shared by latency validation (predicted vs measured) and scoring
/// (score vs test accuracy, rank stability across probe seeds).
public enum RankCorrelation {
    /// Kendall's tau-b of two paired samples: concordant minus discordant pairs, with the
    /// tie correction, so that tied scores (e.g. equal Params) neither help nor hurt.
    /// Returns nil when fewer than two pairs exist or either side is constant.
    public static func kendallTau(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "kendallTau needs paired samples")
        guard x.count >= 2 else { return nil }
        var concordant = 0.0, discordant = 0.0, tiedOnlyX = 0.0, tiedOnlyY = 0.0
        for i in 0..<x.count {
            for j in (i + 1)..<x.count {
                let dx = x[i] - x[j], dy = y[i] - y[j]
                if dx == 0 && dy == 0 { continue }
                if dx == 0 { tiedOnlyX += 1; continue }
                if dy == 0 { tiedOnlyY += 1; continue }
                if (dx > 0) == (dy > 0) { concordant += 1 } else { discordant += 1 }
            }
        }
        let denominator = ((concordant + discordant + tiedOnlyX) * (concordant + discordant + tiedOnlyY)).squareRoot()
        guard denominator > 0 else { return nil }
        return (concordant - discordant) / denominator
    }

    /// Spearman's rho: the Pearson correlation of the ranks, ties given their average rank.
    public static func spearmanRho(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "spearmanRho needs paired samples")
        guard x.count >= 2 else { return nil }
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// Pearson's correlation coefficient; nil when either side is constant.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "pearson needs paired samples")
        guard x.count >= 2 else { return nil }
        let n = Double(x.count)
        let meanX = x.reduce(0, +) / n, meanY = y.reduce(0, +) / n
        var covariance = 0.0, varianceX = 0.0, varianceY = 0.0
        for (a, b) in zip(x, y) {
            covariance += (a - meanX) * (b - meanY)
            varianceX += (a - meanX) * (a - meanX)
            varianceY += (b - meanY) * (b - meanY)
        }
        guard varianceX > 0, varianceY > 0 else { return nil }
        return covariance / (varianceX * varianceY).squareRoot()
    }

    /// Ranks starting at 1; equal values share the mean of the ranks they span.
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for k in start...end { ranks[order[k]] = rank }
            start = end + 1
        }
        return ranks
    }
}

/// Order statistics of repeated measurements (latencies in milliseconds, scores).
public enum SampleStatistics {
    /// The q-quantile (0...1) with linear interpolation between order statistics
    /// (NumPy's default), so that medians of even counts average the middle pair.
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty, "quantile of an empty sample")
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    public static func median(_ values: [Double]) -> Double { quantile(values, 0.5) }

    public static func mean(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "mean of an empty sample")
        return values.reduce(0, +) / Double(values.count)
    }

    /// Sample standard deviation (n − 1); 0 for a single value.
    public static func standardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let m = mean(values)
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }
}
