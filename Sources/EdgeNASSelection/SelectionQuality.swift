import EdgeNASCore

/// How well one scorer ranks and selects on one subset of a pool with known accuracies.
public struct SelectionQualityRow: Sendable, Codable, Equatable {
    public var scorer: String
    public var subset: String
    public var count: Int
    public var kendallTau: Double?
    public var spearmanRho: Double?
    /// Mean top-1 regret in accuracy points under the limits at ``SelectionRegret/limitQuantiles``
    /// of the subset's costs, with each limit's value.
    public var regret: RegretSummary?

    enum CodingKeys: String, CodingKey {
        case scorer, subset, count, regret
        case kendallTau = "kendall_tau"
        case spearmanRho = "spearman_rho"
    }
}

/// Rank correlations and regret, overall and per family, for several scorers at once.
public enum SelectionQuality {
    /// The name of the random pick's row (its regret is the expectation; it has no tau).
    public static let randomPick = "random"

    /// - Parameters:
    ///   - scorers: name and one score per candidate (higher is better), e.g. the selection,
    ///     Params and FLOPs; the random pick's expected regret is added.
    ///   - accuracies: nil where unknown; such candidates are left out.
    ///   - costs: what the limits bound (predicted latency, or FLOPs).
    public static func rows(scorers: [(name: String, scores: [Double])], families: [ArchitectureFamily],
                            accuracies: [Double?], costs: [Double]) -> [SelectionQualityRow] {
        let present = ArchitectureFamily.allCases.filter { families.contains($0) }
        // A one-family pool's family row would repeat its "all" row.
        let subsets: [(String, [Int])] = [("all", Array(families.indices))]
            + (present.count > 1 ? present.map { family in (family.rawValue, families.indices.filter { families[$0] == family }) } : [])
        var rows: [SelectionQualityRow] = []
        for (subset, indices) in subsets {
            let known = indices.filter { accuracies[$0] != nil }
            guard known.count >= 2 else { continue }
            let truth = known.map { accuracies[$0]! }, cost = known.map { costs[$0] }
            for (name, scores) in scorers {
                let values = known.map { scores[$0] }
                rows.append(SelectionQualityRow(
                    scorer: name, subset: subset, count: known.count, kendallTau: RankCorrelation.kendallTau(values, truth),
                    spearmanRho: RankCorrelation.spearmanRho(values, truth),
                    regret: SelectionRegret.meanRegret(scores: values, accuracies: truth, costs: cost)))
            }
            rows.append(SelectionQualityRow(scorer: randomPick, subset: subset, count: known.count, kendallTau: nil, spearmanRho: nil,
                                            regret: SelectionRegret.meanRegret(scores: nil, accuracies: truth, costs: cost)))
        }
        return rows
    }

    /// The small-model bias of a score: Kendall tau of the score against Params within each
    /// family (+1: it only ranks by size, −1: it prefers the small ones). Needs no accuracies.
    public static func capacityBias(scores: [Double], architectures: [Architecture]) -> [(family: String, kendallTau: Double?)] {
        ArchitectureFamily.allCases.compactMap { family in
            let members = architectures.indices.filter { architectures[$0].family == family }
            guard members.count >= 2 else { return nil }
            return (family.rawValue, RankCorrelation.kendallTau(members.map { scores[$0] },
                                                                members.map { Double(architectures[$0].cost.params) }))
        }
    }
}
