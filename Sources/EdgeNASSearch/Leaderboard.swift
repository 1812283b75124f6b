import EdgeNASCore
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

    enum CodingKeys: String, CodingKey {
        case rank, id, params, flops, scores, diverged, total
        case predictedLatencyMilliseconds = "predicted_latency_ms"
        case architectureJSON = "arch"
    }
}

extension LeaderboardEntry {
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

    /// `rank,id,params,flops,predicted_latency_ms,score_<criterion>…,total,diverged`, one row per candidate.
    public func csv() -> String {
        let header = ["rank", "id", "params", "flops", "predicted_latency_ms"] + criteria.map { "score_\($0.name)" } + ["total", "diverged"]
        var lines = [header.joined(separator: ",")]
        for entry in entries {
            var fields = [String(entry.rank), entry.id, String(entry.params), String(entry.flops),
                          entry.predictedLatencyMilliseconds.map { String(format: "%.4f", $0) } ?? ""]
            fields += criteria.map { entry.scores[$0.name].map { Self.number($0) } ?? "" }
            fields += [Self.number(entry.total), entry.diverged.joined(separator: " ")]
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
