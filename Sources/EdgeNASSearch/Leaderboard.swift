import EdgeNASCore
import EdgeNASSelection
import Foundation

/// One scored candidate in rank order.
public struct LeaderboardEntry: Sendable, Codable, Equatable {
    public var rank: Int
    public var id: String
    public var params: Int
    public var flops: Int
    public var predictedLatencyMilliseconds: Double?
    /// Raw score per criterion (probe or proxy), before standardisation.
    public var scores: [String: Double]
    public var diverged: [String]
    public var total: Double
    public var architectureJSON: String
    /// The last final-stage rung the candidate was trained in, and its validation accuracy there.
    public var lastRung: Int?
    public var validationAccuracy: Double?

    enum CodingKeys: String, CodingKey {
        case rank, id, params, flops, scores, diverged, total
        case lastRung = "last_rung"
        case validationAccuracy = "validation_acc"
        case predictedLatencyMilliseconds = "predicted_latency_ms"
        case architectureJSON = "arch"
    }
}

extension LeaderboardEntry {
    /// The architecture's family name (`mbconv`, `vit`, `mamba`), read from its JSON.
    public var family: String {
        let object = try? JSONSerialization.jsonObject(with: Data(architectureJSON.utf8)) as? [String: Any]
        return object?["family"] as? String ?? "unknown"
    }

    /// An entry (rank 0 until ranked) for a scored record.
    init(record: SearchDatabase.CandidateRecord, evaluation: CandidateEvaluation, total: Double) {
        self.init(rank: 0, id: record.id, params: record.params, flops: record.flops,
                  predictedLatencyMilliseconds: record.predictedLatencyMilliseconds, scores: evaluation.rawScores,
                  diverged: evaluation.diverged.sorted(), total: total, architectureJSON: record.architectureJSON)
    }
}

/// The leader of a search while it runs, for progress lines. Totals are relative (a new
/// candidate can change every total), so the leader is found over the whole pool, but only
/// as often as that stays a small share of the time: a new search is re-ranked at most
/// once per 20 times the ranking takes, and never more than five times a second.
struct RunningLeader {
    private let scorer: CandidateScorer
    private var records: [SearchDatabase.CandidateRecord] = []
    private var evaluations: [CandidateEvaluation] = []
    private var leader: LeaderboardEntry?
    private var nextUpdate = ContinuousClock.now

    init(records: [SearchDatabase.CandidateRecord], scorer: CandidateScorer) throws {
        self.scorer = scorer
        for record in records {
            if let evaluation = try record.evaluation() { add(record, evaluation) }
        }
    }

    var scoredCount: Int { evaluations.count }

    mutating func add(_ record: SearchDatabase.CandidateRecord, _ evaluation: CandidateEvaluation) {
        records.append(record)
        evaluations.append(evaluation)
    }

    /// The leader among everything scored; `final` forces an exact answer.
    mutating func best(final: Bool) -> LeaderboardEntry? {
        let now = ContinuousClock.now
        guard final || leader == nil || now >= nextUpdate else { return leader }
        let totals = scorer.totals(evaluations)
        leader = nil
        for index in totals.indices {
            let entry = LeaderboardEntry(record: records[index], evaluation: evaluations[index], total: totals[index])
            if leader.map({ Leaderboard.ranksAbove(entry, $0) }) ?? true { leader = entry }
        }
        leader?.rank = 1
        let spent = ContinuousClock.now - now
        nextUpdate = ContinuousClock.now + max(spent * 20, .milliseconds(200))
        return leader
    }
}

/// Scored candidates ranked by total score (ties broken by lower predicted latency, then id,
/// so the order is reproducible).
public struct Leaderboard: Sendable {
    public var criteria: [ScoreCriterion]
    public var entries: [LeaderboardEntry]

    public var winner: LeaderboardEntry? { entries.first }

    /// Ranks every scored record of a run database with `scorer`'s aggregation.
    public init(records: [SearchDatabase.CandidateRecord], scorer: CandidateScorer) throws {
        var scored: [(SearchDatabase.CandidateRecord, CandidateEvaluation)] = []
        for record in records {
            if let evaluation = try record.evaluation() { scored.append((record, evaluation)) }
        }
        let totals = scorer.totals(scored.map(\.1))
        var entries = zip(scored, totals).map { pair, total in LeaderboardEntry(record: pair.0, evaluation: pair.1, total: total) }
        entries.sort(by: Self.ranksAbove)
        for index in entries.indices { entries[index].rank = index + 1 }
        self.criteria = scorer.criteria
        self.entries = entries
    }

    /// The order of the board: higher total first, then lower predicted latency, then id.
    static func ranksAbove(_ a: LeaderboardEntry, _ b: LeaderboardEntry) -> Bool {
        if a.total != b.total { return a.total > b.total }
        let latencyA = a.predictedLatencyMilliseconds ?? 0, latencyB = b.predictedLatencyMilliseconds ?? 0
        if latencyA != latencyB { return latencyA < latencyB }
        return a.id < b.id
    }

    /// The board in the selection pipeline's order: candidates that went further in the final
    /// stage first, then by rung score, then the rest by screening score (the stage-2 total
    /// with the capacity prior, as ``SelectionPipeline/screeningScores(mode:probeTotals:prior:families:)``).
    public func ranked(mode: SelectionMode, rungResults: [RungResult], priorWeight: Double) throws -> Leaderboard {
        let architectures = try entries.map { try Architecture(jsonData: Data($0.architectureJSON.utf8), file: "candidate \($0.id)") }
        let prior = CapacityPrior.values(architectures)
        let families = architectures.map(\.family)
        let probeTotals = mode == .task ? nil : entries.map(\.total)
        let screening = SelectionPipeline.screeningScores(mode: mode, probeTotals: probeTotals, prior: prior, families: families)
        let familyScore = mode == .pipeline ? probeTotals.map { SelectionPipeline.familyScores(probeTotals: $0, families: families) } : nil
        let byRung = Dictionary(grouping: rungResults, by: \.rung).sorted { $0.key < $1.key }.map(\.value)
        let stage = byRung.isEmpty ? nil : FinalStageOutcome(plans: [], results: byRung)
        let ranking = SelectionRanking(candidateIDs: entries.map(\.id), screeningScore: screening, finalStage: stage,
                                       prior: Dictionary(uniqueKeysWithValues: zip(entries.map(\.id), prior)), priorWeight: priorWeight,
                                       families: families, familyScore: familyScore)
        var board = self
        board.entries = ranking.order.enumerated().map { position, index in
            var entry = entries[index]
            entry.rank = position + 1
            entry.lastRung = ranking.lastRung[index]
            entry.validationAccuracy = ranking.validationAccuracy[index]
            return entry
        }
        return board
    }

    /// `rank,id,params,flops,predicted_latency_ms,score_<criterion>…,total,diverged`, one row per candidate.
    public func csv() -> String {
        let header = ["rank", "id", "params", "flops", "predicted_latency_ms"] + criteria.map { "score_\($0.name)" }
            + ["total", "diverged", "last_rung", "validation_acc"]
        var lines = [header.joined(separator: ",")]
        for entry in entries {
            var fields = [String(entry.rank), entry.id, String(entry.params), String(entry.flops),
                          entry.predictedLatencyMilliseconds.map { String(format: "%.4f", $0) } ?? ""]
            fields += criteria.map { entry.scores[$0.name].map { Self.number($0) } ?? "" }
            fields += [Self.number(entry.total), entry.diverged.joined(separator: " "), entry.lastRung.map(String.init) ?? "",
                       entry.validationAccuracy.map { String(format: "%.4f", $0) } ?? ""]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object per line, the architecture included, for scripts.
    public func jsonLines() throws -> String {
        try entries.map { try Self.json($0) }.joined(separator: "\n") + "\n"
    }

    static func json(_ entry: LeaderboardEntry) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var object = try JSONSerialization.jsonObject(with: try encoder.encode(entry)) as! [String: Any]
        // Embed the architecture as an object, not as a string holding JSON.
        object["arch"] = try JSONSerialization.jsonObject(with: Data(entry.architectureJSON.utf8))
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func number(_ value: Double) -> String {
        value.isFinite ? String(format: "%.6g", value) : "nan"
    }
}
