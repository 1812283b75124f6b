import EdgeNASCore
import Foundation

/// A candidate of the selection pipeline: an id that names it in stores and reports.
public struct SelectionCandidate: Sendable {
    public var id: String
    public var architecture: Architecture

    public init(id: String, architecture: Architecture) {
        self.id = id
        self.architecture = architecture
    }
}

/// The capacity prior: within a family, more parameters train to higher accuracy (on the dev
/// data Params ranks tiny MBConvs and ViTs at Kendall tau +0.3 to +0.65), but across families
/// it is wrong (a ViT has many more parameters than a better MBConv). So the prior is
/// z(log Params) within the candidate's family: it orders a family and says nothing across
/// families.
public enum CapacityPrior {
    /// p_i = (log P_i − mean_f) / std_f over the candidates of i's family f; 0 for a family
    /// of one or without spread.
    public static func values(_ architectures: [Architecture]) -> [Double] {
        var result = [Double](repeating: 0, count: architectures.count)
        for family in ArchitectureFamily.allCases {
            let members = architectures.indices.filter { architectures[$0].family == family }
            let z = standardized(members.map { log(Double(max(1, architectures[$0].cost.params))) })
            for (offset, index) in members.enumerated() { result[index] = z[offset] }
        }
        return result
    }

    /// z-scores with the sample standard deviation (n − 1); all 0 without spread.
    public static func standardized(_ values: [Double]) -> [Double] {
        guard values.count > 1 else { return values.map { _ in 0 } }
        let mean = SampleStatistics.mean(values), deviation = SampleStatistics.standardDeviation(values)
        guard deviation > 0, deviation.isFinite else { return values.map { _ in 0 } }
        return values.map { ($0 - mean) / deviation }
    }
}

/// The pipeline's final order of a pool, and why each candidate stands where it does.
///
/// Within one family, candidates that reached a later rung of the final stage rank above
/// those that left earlier; within a rung, by the rung's score
/// (``SuccessiveHalving/rungScores(_:prior:priorWeight:)``); candidates the final stage did
/// not admit follow, by the screening score of the earlier stages.
///
/// Across families, without a family score (the `task` mode, or one family) the same rule
/// holds for the whole pool. With one (the `pipeline` mode: z of each family's mean probe
/// total), a candidate's final score is its family's score plus the z of its standing
/// within its family, the same form as the screening score (family score + prior) with
/// the family's training in place of Params: the probes order the families, the final
/// stage each family.
public struct SelectionRanking: Sendable {
    /// Candidate indices, best first.
    public var order: [Int]
    /// The last rung each candidate was trained in (nil: not admitted to the final stage).
    public var lastRung: [Int?]
    /// The candidate's score in its last rung.
    public var rungScore: [Double?]
    /// Validation accuracy in its last rung.
    public var validationAccuracy: [Double?]
    /// The screening score before the final stage (higher is better).
    public var screeningScore: [Double]

    /// One number per candidate whose order is ``order``: n − position (higher is better),
    /// for rank correlations and regret.
    public var selectionScores: [Double] {
        var scores = [Double](repeating: 0, count: order.count)
        for (position, index) in order.enumerated() { scores[index] = Double(order.count - position) }
        return scores
    }

    /// - Parameters:
    ///   - families, familyScore: each candidate's family and its family's score; without
    ///     them the pool is ordered as one family.
    public init(candidateIDs: [String], screeningScore: [Double], finalStage: FinalStageOutcome?, prior: [String: Double],
                priorWeight: Double, families: [ArchitectureFamily]? = nil, familyScore: [Double]? = nil) {
        let n = candidateIDs.count
        var lastRung = [Int?](repeating: nil, count: n)
        var rungScore = [Double?](repeating: nil, count: n)
        var accuracy = [Double?](repeating: nil, count: n)
        let indexByID = Dictionary(uniqueKeysWithValues: candidateIDs.enumerated().map { ($1, $0) })
        // Ranked by family, a rung is scored within each family, as the stage halved it.
        let byFamily = Self.ranksWithinFamilies(families, hasFamilyScore: familyScore != nil)
        let rungFamilies = byFamily ? Dictionary(uniqueKeysWithValues: zip(candidateIDs, families!)) : nil
        for results in finalStage?.results ?? [] {
            let scores = SuccessiveHalving.rungScores(results, prior: prior, priorWeight: priorWeight, families: rungFamilies)
            for (result, score) in zip(results, scores) {
                guard let index = indexByID[result.candidateID] else { continue }
                lastRung[index] = result.rung
                rungScore[index] = score
                accuracy[index] = result.validationAccuracy
            }
        }
        func isBetter(_ a: Int, _ b: Int) -> Bool {
            switch (lastRung[a], lastRung[b]) {
            case let (ra?, rb?): return ra != rb ? ra > rb : (rungScore[a]!, -a) > (rungScore[b]!, -b)
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return (screeningScore[a], -a) > (screeningScore[b], -b)
            }
        }
        if byFamily, let families, let familyScore {
            var score = [Double](repeating: 0, count: n)
            for family in Set(families) {
                let members = (0..<n).filter { families[$0] == family }.sorted(by: isBetter)
                // Standing within the family, best first, as a z-score (like the prior's spread).
                let standing = CapacityPrior.standardized(members.indices.map { Double(members.count - $0) })
                for (position, index) in members.enumerated() { score[index] = familyScore[index] + standing[position] }
            }
            order = Array(0..<n).sorted { (score[$0], -$0) > (score[$1], -$1) }
        } else {
            order = Array(0..<n).sorted(by: isBetter)
        }
        self.lastRung = lastRung
        self.rungScore = rungScore
        self.validationAccuracy = accuracy
        self.screeningScore = screeningScore
    }

    /// Whether the pool is ranked family by family: it has a family score and mixes
    /// families. The final stage then halves within families too.
    public static func ranksWithinFamilies(_ families: [ArchitectureFamily]?, hasFamilyScore: Bool) -> Bool {
        guard let families, hasFamilyScore else { return false }
        return Set(families).count > 1
    }
}
