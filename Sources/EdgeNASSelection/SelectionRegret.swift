import EdgeNASCore

/// Selection quality as a number: the accuracy a pick under a cost limit loses against the
/// best architecture that meets the limit.
///
/// For a limit L on a cost c (predicted latency, or FLOPs when no table is given), the
/// feasible set is {i : c_i ≤ L}; the scorer's pick is the feasible i with the highest score
/// and its regret, in accuracy points, is 100 · (max_{feasible} acc − acc_pick). The random
/// pick's regret is its expectation over the feasible set, 100 · (max − mean). Limits sit at
/// ``limitQuantiles`` of the costs of the set being judged, so they cut the same share of any
/// set.
public enum SelectionRegret {
    /// The quantiles of the set's cost where the limits sit: 0.3, 0.5, 0.7 and 1.0 (no limit).
    public static let limitQuantiles: [Double] = [0.3, 0.5, 0.7, 1.0]

    /// The cost limits at ``limitQuantiles`` of `costs` (linear interpolation).
    public static func limits(costs: [Double], quantiles: [Double] = limitQuantiles) -> [Double] {
        guard !costs.isEmpty else { return [] }
        return quantiles.map { SampleStatistics.quantile(costs, $0) }
    }

    /// Regret in accuracy points of the highest-scored candidate with cost ≤ `limit`; nil when
    /// nothing is feasible. Ties in score go to the earlier candidate, as a stable sort would.
    public static func regretPoints(scores: [Double], accuracies: [Double], costs: [Double], limit: Double) -> Double? {
        precondition(scores.count == accuracies.count && costs.count == accuracies.count,
                     "regret: \(scores.count) scores, \(accuracies.count) accuracies, \(costs.count) costs")
        let feasible = costs.indices.filter { costs[$0] <= limit }
        guard let best = feasible.map({ accuracies[$0] }).max() else { return nil }
        var pick = feasible[0]
        for index in feasible where scores[index] > scores[pick] || (scores[pick].isNaN && !scores[index].isNaN) { pick = index }
        return 100 * (best - accuracies[pick])
    }

    /// Expected regret in accuracy points of a uniformly random feasible pick; nil when nothing is feasible.
    public static func randomRegretPoints(accuracies: [Double], costs: [Double], limit: Double) -> Double? {
        let feasible = costs.indices.filter { costs[$0] <= limit }.map { accuracies[$0] }
        guard let best = feasible.max() else { return nil }
        return 100 * (best - SampleStatistics.mean(feasible))
    }

    /// Mean regret over the limits at ``limitQuantiles`` of `costs`, with each limit's value.
    public static func meanRegret(scores: [Double]?, accuracies: [Double], costs: [Double]) -> RegretSummary? {
        let limits = limits(costs: costs)
        let values = limits.compactMap { limit in
            scores.map { regretPoints(scores: $0, accuracies: accuracies, costs: costs, limit: limit) }
                ?? randomRegretPoints(accuracies: accuracies, costs: costs, limit: limit)
        }
        guard !values.isEmpty else { return nil }
        return RegretSummary(limits: limits, regretPoints: values, meanRegretPoints: SampleStatistics.mean(values))
    }
}

/// Regret of one scorer on one set under the standard limits.
public struct RegretSummary: Sendable, Codable, Equatable {
    /// The cost limits, at ``SelectionRegret/limitQuantiles`` of the set's costs.
    public var limits: [Double]
    /// Accuracy points lost at each limit.
    public var regretPoints: [Double]
    public var meanRegretPoints: Double

    enum CodingKeys: String, CodingKey {
        case limits
        case regretPoints = "regret_points"
        case meanRegretPoints = "mean_regret_points"
    }
}
