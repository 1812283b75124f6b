import EdgeNASData
import EdgeNASSelection
import Foundation

/// What happened to the winner after the search: its ONNX file and, when measured, its
/// end-to-end latency in the deployment runtime next to the table's prediction.
public struct WinnerExport: Sendable, Codable, Equatable {
    public var path: String
    /// At the table's nominal speed of the machine when the table was timed against the
    /// reference (limits are checked at nominal latency), raw otherwise.
    public var measuredLatencyMilliseconds: Double?
    /// The median as the machine ran while it was timed (nil for raw timings).
    public var typicalLatencyMilliseconds: Double?
    /// How much slower than nominal the machine ran meanwhile (1.3: 30 % slower).
    public var machineSlowdown: Double?
    public var predictedLatencyMilliseconds: Double?
    public var latencyLimitMilliseconds: Double?
    /// Test accuracy after the optional training before export, in percent.
    public var testAccuracyPercent: Double?
    public var trainingEpochs: Int
    /// The exported architecture, so that a resumed run can tell its finished export.
    public var architectureID: String?
    /// How to prepare an image for the exported model (``InputPreprocessing``), when it was trained.
    public var preprocessing: InputPreprocessing?

    public init(path: String, measuredLatencyMilliseconds: Double?, predictedLatencyMilliseconds: Double?,
                latencyLimitMilliseconds: Double?, testAccuracyPercent: Double?, trainingEpochs: Int,
                architectureID: String? = nil) {
        self.path = path
        self.measuredLatencyMilliseconds = measuredLatencyMilliseconds
        self.predictedLatencyMilliseconds = predictedLatencyMilliseconds
        self.latencyLimitMilliseconds = latencyLimitMilliseconds
        self.testAccuracyPercent = testAccuracyPercent
        self.trainingEpochs = trainingEpochs
        self.architectureID = architectureID
    }

    /// Measured over predicted minus one, e.g. +0.04 when the model ran 4 % slower than predicted.
    public var predictionError: Double? {
        guard let measured = measuredLatencyMilliseconds, let predicted = predictedLatencyMilliseconds, predicted > 0 else { return nil }
        return measured / predicted - 1
    }

    public var meetsLatencyLimit: Bool? {
        guard let measured = measuredLatencyMilliseconds, let limit = latencyLimitMilliseconds else { return nil }
        return measured <= limit
    }
}

/// The run's `report.md`: settings, sampling, the scoring plan, the winner, the top of the
/// leaderboard, the export and the time per phase.
public struct SearchReport {
    public var runName: String
    public var settings: SearchSettings
    public var tablePath: String?
    public var leaderboard: Leaderboard
    public var plan: ScoringPlan?
    public var phases: [(name: String, seconds: Double)]
    public var sampling: (attempts: Int, rejected: Int)?
    public var export: WinnerExport?
    /// The final stage's units, rung by rung.
    public var rungResults: [RungResult]

    public init(runName: String, settings: SearchSettings, tablePath: String?, leaderboard: Leaderboard, plan: ScoringPlan?,
                phases: [(name: String, seconds: Double)], sampling: (attempts: Int, rejected: Int)?, export: WinnerExport?,
                rungResults: [RungResult] = []) {
        self.rungResults = rungResults
        self.runName = runName
        self.settings = settings
        self.tablePath = tablePath
        self.leaderboard = leaderboard
        self.plan = plan
        self.phases = phases
        self.sampling = sampling
        self.export = export
    }

    /// A search over several families, family by family: how many candidates each had, how
    /// far its best got in the final stage, and its best one. Empty for one family.
    ///
    /// Families are listed by their best candidate's furthest rung, then its validation
    /// accuracy: the common rank interleaves families (the final stage halves within each),
    /// so a family's best rank alone would not say which family trained furthest.
    func familyLines() -> [String] {
        let byFamily = Dictionary(grouping: leaderboard.entries, by: \.family)
        guard byFamily.count > 1 else { return [] }
        var lines = ["## Families", "", "All families are scored and ranked together under the same limits.", "",
                     "| family | candidates | furthest rung | best validation accuracy | best rank | best | Params | latency ms |",
                     "|---|---|---|---|---|---|---|---|"]
        func best(_ entries: [LeaderboardEntry]) -> LeaderboardEntry {
            entries.min { ($0.lastRung ?? -1, $0.validationAccuracy ?? -1, -$0.rank) > ($1.lastRung ?? -1, $1.validationAccuracy ?? -1, -$1.rank) }!
        }
        let ordered = byFamily.map { (family: $0.key, entries: $0.value, best: best($0.value)) }.sorted {
            ($0.best.lastRung ?? -1, $0.best.validationAccuracy ?? -1, -$0.best.rank)
                > ($1.best.lastRung ?? -1, $1.best.validationAccuracy ?? -1, -$1.best.rank)
        }
        for (family, entries, best) in ordered {
            lines.append("| \(family) | \(entries.count) | " + (best.lastRung.map(String.init) ?? "–") + " | "
                + (best.validationAccuracy.map { String(format: "%.4f", $0) } ?? "–")
                + " | \(best.rank) | `\(best.id)` | \(best.params) | "
                + (best.predictedLatencyMilliseconds.map { String(format: "%.3f", $0) } ?? "") + " |")
        }
        return lines + [""]
    }

    public func markdown() -> String {
        var lines = ["# Search run \(runName)", ""]
        lines += ["## Settings", "", "| setting | value |", "|---|---|"]
        lines.append("| space | \(settings.spaceName) |")
        lines.append("| device | \(settings.deviceID ?? "none (no latency table)") |")
        if let tablePath { lines.append("| latency table | `\(tablePath)` |") }
        lines.append("| limits | \(settings.constraints.summary) |")
        lines.append("| strategy | \(settings.strategy.rawValue)\(settings.strategy == .evolution ? " (population \(settings.population), tournament \(settings.tournament))" : "") |")
        lines.append("| candidates | \(settings.candidateCount) |")
        lines.append(String(format: "| budget | %.0f s (%.1f s per candidate) |", settings.budgetSeconds,
                            settings.budgetSeconds / Double(max(settings.candidateCount, 1))))
        lines.append("| scorer | \(settings.scorer)"
            + (settings.effectiveFinalStageShare > 0 ? String(format: " (final stage on the task: %.0f%% of the budget)", settings.effectiveFinalStageShare * 100) : "")
            + " |")
        lines.append("| seed | \(settings.seed) |")
        lines.append("| matrix products | \(settings.matmulPrecision ?? SearchSettings.Defaults.matmulPrecision) |")
        if let sampling {
            lines.append("| sampling | \(sampling.attempts) draws, \(sampling.rejected) rejected by the limits or as repeats |")
        }
        lines.append("")
        if let plan {
            lines += ["## Scoring plan", "", "```", plan.summary, "```", ""]
        }
        if !rungResults.isEmpty {
            lines += ["## Final stage: successive halving on the task", "",
                      "Each rung trains its candidates from scratch on the same training images (warm-up, then cosine), "
                        + "scores them on a validation split held out of the training set (never the test split) and keeps the "
                        + "better half by z(validation accuracy) + \(settings.capacityPriorWeight ?? FinalStageSettings().capacityPriorWeight)·z(log Params within the family).", "",
                      "| rung | candidates | training | seconds | best validation accuracy |", "|---|---|---|---|---|"]
            for (rung, results) in Dictionary(grouping: rungResults, by: \.rung).sorted(by: { $0.key < $1.key }) {
                let best = results.max { $0.validationAccuracy < $1.validationAccuracy }!
                // Ties (the same count right of the same validation images) are all named:
                // the rung score's prior then decides, so any one of them may go on.
                let tied = results.filter { $0.validationAccuracy == best.validationAccuracy }.map { "`\($0.candidateID)`" }
                lines.append(String(format: "| %d | %d | %@ | %.1f | %.4f (%@) |", rung, results.count, results[0].fidelity.description,
                                    results.reduce(0) { $0 + $1.seconds }, best.validationAccuracy, tied.joined(separator: ", ")))
            }
            lines.append("")
        }
        if let winner = leaderboard.winner {
            lines += ["## Winner", ""]
            lines.append("`\(winner.id)`: Params \(winner.params), FLOPs \(winner.flops)"
                + (winner.predictedLatencyMilliseconds.map { String(format: ", predicted latency %.3f ms", $0) } ?? "")
                + String(format: ", total score %.3f", winner.total)
                + (winner.validationAccuracy.map { String(format: ", validation accuracy %.4f in rung %d", $0, winner.lastRung ?? 0) } ?? "") + ".")
            lines += ["", "```json", winner.architectureJSON, "```", ""]
        }
        lines += familyLines()
        lines += ["## Leaderboard (top \(min(10, leaderboard.entries.count)) of \(leaderboard.entries.count))", ""]
        let names = leaderboard.criteria.map(\.name)
        lines.append("| rank | id | Params | MFLOPs | latency ms | " + names.joined(separator: " | ") + " | total |")
        lines.append("|" + String(repeating: "---|", count: 6 + names.count))
        for entry in leaderboard.entries.prefix(10) {
            let scores = names.map { entry.scores[$0].map { Leaderboard.number($0) } ?? "" }
            lines.append("| \(entry.rank) | `\(entry.id)` | \(entry.params) | " + String(format: "%.2f", Double(entry.flops) / 1e6)
                + " | " + (entry.predictedLatencyMilliseconds.map { String(format: "%.3f", $0) } ?? "")
                + " | " + scores.joined(separator: " | ") + String(format: " | %.3f |", entry.total))
        }
        lines.append("")
        if let export {
            lines += ["## Export", "", "- ONNX model: `\(export.path)`"]
            if export.trainingEpochs > 0, let accuracy = export.testAccuracyPercent {
                lines.append(String(format: "- Trained %d epoch(s) before export: %.2f%% test accuracy", export.trainingEpochs, accuracy))
            } else {
                lines.append("- Weights: seeded initialisation (not trained)")
            }
            if let measured = export.measuredLatencyMilliseconds {
                if let typical = export.typicalLatencyMilliseconds {
                    lines.append(String(format: "- Measured latency in the deployment runtime: %.3f ms at the table's nominal speed "
                        + "of the machine (timed against the reference graph; typical %.3f ms, while the reference ran at %.2f× "
                        + "its nominal time)", measured, typical, export.machineSlowdown ?? 1))
                } else {
                    lines.append(String(format: "- Measured latency in the deployment runtime: %.3f ms", measured))
                }
            }
            if let predicted = export.predictedLatencyMilliseconds {
                lines.append(String(format: "- Predicted from the table: %.3f ms", predicted)
                    + (export.predictionError.map { String(format: " (measured is %+.1f%%)", $0 * 100) } ?? ""))
            }
            if let limit = export.latencyLimitMilliseconds, let meets = export.meetsLatencyLimit {
                lines.append(String(format: "- Latency limit %.3f ms: %@%@", limit, meets ? "met" : "NOT met",
                                    export.typicalLatencyMilliseconds == nil ? "" : " (checked at nominal latency)"))
            }
            lines.append("")
            if let preprocessing = export.preprocessing {
                lines += ["## Preparing an image for the model", "",
                          "The model's metadata (`\(InputPreprocessing.metadataKey)`) records this; `edgenas predict` follows it. "
                          + "Input `input` [1, \(preprocessing.channels), \(preprocessing.height), \(preprocessing.width)], \(preprocessing.channelOrder), "
                          + "resized with \(InputPreprocessing.resizeMethod), scaled to [0, 1], normalised per channel. The same in Python:",
                          "", "```python", preprocessing.referenceSnippet(modelFile: URL(fileURLWithPath: export.path).lastPathComponent), "```", ""]
            }
        }
        lines += ["## Time per phase", "", "| phase | seconds |", "|---|---|"]
        for phase in phases { lines.append(String(format: "| %@ | %.1f |", phase.name, phase.seconds)) }
        lines.append(String(format: "| total | %.1f |", phases.reduce(0) { $0 + $1.seconds }))
        let budgeted = phases.filter { SearchPhase.budgeted.contains($0.name) }.reduce(0) { $0 + $1.seconds }
        lines += ["", String(format: "Planning, scoring and the final stage took %.0f s of the %.0f s budget (%.0f%%).", budgeted,
                             settings.budgetSeconds, budgeted / max(settings.budgetSeconds, 1e-9) * 100)]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Writes a run's files next to its database, each atomically (write then rename), so that
/// a crash never leaves half a leaderboard.
public enum RunFolder {
    public static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    /// `winner.json`, `leaderboard.csv`, `leaderboard.jsonl`, `pareto.svg`, `report.md`.
    public static func writeOutputs(in folder: URL, leaderboard: Leaderboard, report: SearchReport) throws {
        if let winner = leaderboard.winner {
            let object = try JSONSerialization.jsonObject(with: Data(winner.architectureJSON.utf8))
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try write(String(decoding: pretty, as: UTF8.self) + "\n", to: folder.appendingPathComponent("winner.json"))
        }
        try write(leaderboard.csv(), to: folder.appendingPathComponent("leaderboard.csv"))
        try write(try leaderboard.jsonLines(), to: folder.appendingPathComponent("leaderboard.jsonl"))
        let plot = ParetoPlot(leaderboard: leaderboard, latencyLimitMilliseconds: report.settings.constraints.maxLatencyMilliseconds)
        try write(plot.svg(), to: folder.appendingPathComponent("pareto.svg"))
        try write(report.markdown(), to: folder.appendingPathComponent("report.md"))
    }
}
