import Foundation

/// Why a search stopped; each case maps to its own exit code in the command-line tool.
public enum SearchError: Error, CustomStringConvertible, Sendable {
    /// The user's files or options are wrong (a missing table, a mismatched resume).
    case badInput(String)
    /// No candidate met the limits within the attempt bound.
    case infeasible(InfeasibleConstraints)
    /// The run database is unreadable or was written by something else.
    case runDatabase(String)
    /// A stop was requested (Ctrl-C); everything scored so far is in the database.
    case interrupted(scored: Int, total: Int)
    /// Local worker processes could not start, or every one of them failed.
    case workers(String)

    public var description: String {
        switch self {
        case let .badInput(message), let .runDatabase(message), let .workers(message): return message
        case let .infeasible(report): return report.description
        case let .interrupted(scored, total):
            return "interrupted: \(scored) of \(total) candidates are scored and saved; run the same command with --resume to go on"
        }
    }
}

/// What the sampler saw when the attempt bound was hit: which limit failed how often, the
/// candidate closest to meeting all limits, and the loosest limits that would have admitted it.
public struct InfeasibleConstraints: Sendable, CustomStringConvertible {
    public var constraints: SearchConstraints
    public var attempts: Int
    public var satisfiedCount: Int
    public var requiredCount: Int
    /// How many sampled candidates broke each limit.
    public var violations: [ConstraintLimit: Int]
    /// The candidate whose worst overshoot was smallest.
    public var closestID: String
    public var closestCost: CandidateCost
    /// For each broken limit, the value that would have admitted the closest candidate.
    public var suggestedLimits: [ConstraintLimit: Double]

    public var description: String {
        if violations.isEmpty {
            return "the space has only \(satisfiedCount) distinct architectures that meet the limits (\(constraints.summary)) "
                + "in \(attempts) attempts, fewer than the \(requiredCount) asked for: lower --candidates"
        }
        let failing = ConstraintLimit.allCases.filter { (violations[$0] ?? 0) > 0 }
            .map { "\($0.optionName) broken by \(violations[$0]!) of \(attempts)" }
            .joined(separator: ", ")
        let latency = closestCost.predictedLatencyMilliseconds.map { String(format: ", predicted latency %.3f ms", $0) } ?? ""
        let suggestions = ConstraintLimit.allCases.compactMap { limit -> String? in
            guard let value = suggestedLimits[limit] else { return nil }
            switch limit {
            case .latency: return "\(limit.optionName) \(String(format: "%.3f", value))"
            case .params, .flops: return "\(limit.optionName) \(Int(value.rounded(.up)))"
            }
        }.joined(separator: " ")
        return """
            no architecture in the space met the limits (\(constraints.summary)): found \(satisfiedCount) of \
            the \(requiredCount) needed in \(attempts) attempts; \(failing). Closest candidate \(closestID): \
            Params \(closestCost.params), FLOPs \(closestCost.flops)\(latency). \
            Loosest limits that would have admitted it: \(suggestions)
            """
    }
}
