import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASProbes
import EdgeNASTensor
import Foundation

/// `edgenas rank`: scores a list of architectures with the probes or a zero-cost proxy and,
/// when test accuracies are known, says how well each scorer ranks them.
struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score architectures with the vision probes or a zero-cost proxy and rank them.",
        discussion: """
        Reads JSON lines, one architecture per line: {"id": "...", "arch": {...}} with an \
        optional "test_acc". Scores every architecture with the chosen scorer (higher is \
        better) and prints them best first; with test accuracies it also prints Kendall's tau \
        and Spearman's rho between score and accuracy, over all lines and per family, next to \
        the Params baseline on the same lines.

        Scorer `probes` trains each candidate briefly on six tiny vision tasks (LGJ jigsaw, \
        OIP inpainting, RM rotation, CSB colour-shape binding, MF motion, VM visual memory), \
        standardises each probe's scores across the list and sums them. The --budget (total \
        wall time) is split: --calibration-fraction of it calibrates the data volume D and \
        epochs E on a few candidates (a quadratic reliability surface, solved under the time \
        budget), the rest scores every candidate at the chosen (D, E); if the run falls behind, \
        the remaining candidates get a smaller (D, E) and the output says so. \
        --data-volume and --epochs together skip calibration. The zero-cost scorers (params, \
        flops, synflow, snip, grad_norm, naswot) take seconds and ignore --budget.

        A bad line exits with status 64 and names the file and line, for example:
          dev.jsonl:3: arch: stages[0].blocks[1].kernel: expected one of 1, 3, 5, 7, got 4

        Examples:
          edgenas rank --archs dev.jsonl --scorer probes --budget 20m
          edgenas rank --archs dev.jsonl --scorer probes --budget 20m --json > scores.json
          edgenas rank --archs dev.jsonl --scorer naswot
          edgenas rank --archs dev.jsonl --scorer probes --data-volume 256 --epochs 3 --seed 2
        """
    )

    @Option(help: ArgumentHelp("JSON lines with \"id\", \"arch\" and optionally \"test_acc\".", valueName: "FILE.jsonl"))
    var archs: String

    @Option(help: "probes, params, flops, synflow, snip, grad_norm or naswot.")
    var scorer: String = "probes"

    @Option(help: ArgumentHelp("Total wall-time budget of probe scoring, e.g. 20m, 90s, 1h.", valueName: "DURATION"))
    var budget: DurationArgument = DurationArgument(seconds: 1200)

    @Option(help: "Share of the budget spent calibrating D and E (probes only).")
    var calibrationFraction: Double = 0.3

    @Option(help: "Candidates used for calibration, drawn across families (at least 3).")
    var calibrationCandidates: Int = 4

    @Option(help: "Fixed training samples per probe (with --epochs: skips calibration).")
    var dataVolume: Int?

    @Option(help: "Fixed epochs per probe (with --data-volume: skips calibration).")
    var epochs: Int?

    @Option(help: "Most probe seeds averaged per candidate when the budget leaves time for more passes (1: never).")
    var maximumSeeds: Int = 3

    @Option(help: ArgumentHelp("Probe weights, e.g. lgj=1,oip=1,rm=0.5 (unnamed probes weigh 1).", valueName: "LIST"))
    var weights: String?

    @Option(help: "MNIST-format directory of the real probe images (default: Fashion-MNIST).")
    var images: String?

    @Option(help: "Seed of probe data, initialisation and calibration draws.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object on stdout (progress stays on stderr).")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard scorer == "probes" || ZeroCostProxy(rawValue: scorer) != nil else {
            throw ValidationError("--scorer must be probes, \(ZeroCostProxy.allCases.map(\.rawValue).joined(separator: ", ")); got \(scorer)")
        }
        guard calibrationFraction > 0 && calibrationFraction < 0.9 else {
            throw ValidationError("--calibration-fraction must be in (0, 0.9), got \(calibrationFraction)")
        }
        guard maximumSeeds >= 1 else { throw ValidationError("--maximum-seeds must be at least 1, got \(maximumSeeds)") }
        guard calibrationCandidates >= 3 else { throw ValidationError("--calibration-candidates must be at least 3") }
        guard (dataVolume == nil) == (epochs == nil) else {
            throw ValidationError("--data-volume and --epochs go together (both fix the probe budget)")
        }
        if let dataVolume, dataVolume < 2 { throw ValidationError("--data-volume must be at least 2, got \(dataVolume)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let weights { _ = try Self.parseWeights(weights) }
    }

    static func parseWeights(_ text: String) throws -> [ProbeKind: Double] {
        var result: [ProbeKind: Double] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=")
            guard parts.count == 2, let kind = ProbeKind(rawValue: String(parts[0])), let value = Double(parts[1]), value >= 0, value.isFinite else {
                throw ValidationError("--weights: \"\(item)\" is not PROBE=WEIGHT with PROBE one of "
                                      + ProbeKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            result[kind] = value
        }
        // Unnamed probes weigh 1, so only a list that names every probe with 0 is all-zero.
        guard ProbeKind.allCases.contains(where: { (result[$0] ?? 1) > 0 }) else {
            throw ValidationError("--weights: every probe weighs 0, so every total would be 0; give at least one probe a positive weight")
        }
        return result
    }

    func run() throws {
        threadOptions.apply()
        let started = Date()
        let entries = try RankEntry.load(archs)
        guard !entries.isEmpty else { throw CommandFailure.badInput("\(archs): no architectures (one JSON object per line)") }
        var outcome: RankOutcome
        if let proxy = ZeroCostProxy(rawValue: scorer) {
            outcome = try scoreWithProxy(proxy, entries)
        } else {
            outcome = try scoreWithProbes(entries, started: started)
        }
        outcome.wallSeconds = Date().timeIntervalSince(started)
        outcome.report(json: json, entries: entries)
    }

    private func loadImages() throws -> ImageDataset {
        let directory = images.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? MNISTFormat.defaultDirectory
        do { return try MNISTFormat.load(directory: directory, split: .train) } catch {
            throw CommandFailure.badInput("\(error)\(images == nil ? " (pass --images DIR for another MNIST-format directory)" : "")")
        }
    }

    private func scoreWithProxy(_ proxy: ZeroCostProxy, _ entries: [RankEntry]) throws -> RankOutcome {
        var scores: [Double] = []
        let needsBatch = proxy != .params && proxy != .flops
        let dataset = needsBatch ? try loadImages() : nil
        let bar = ProgressBar(total: entries.count, label: proxy.rawValue, unit: "arch")
        // One batch for every line: the proxies fit it to each architecture's input shape.
        let batch = dataset.map { ProxyBatch(dataset: $0, count: 64, seed: seed) }
            ?? ProxyBatch(images: Tensor.zeros([1, 1, 1, 1]), labels: [0])
        for (index, entry) in entries.enumerated() {
            do {
                scores.append(try proxy.score(entry.architecture, batch: batch, seed: seed))
            } catch {
                throw CommandFailure.badInput("\(archs):\(entry.line) (\(entry.id)): \(error)")
            }
            bar.update(done: index + 1)
        }
        bar.finish()
        return RankOutcome(scorer: proxy.rawValue, scores: scores)
    }

    private func scoreWithProbes(_ entries: [RankEntry], started: Date) throws -> RankOutcome {
        let budgetSeconds = budget.seconds
        let weights = try weights.map(Self.parseWeights) ?? [:]
        let resolution = entries[0].architecture.input.height
        for entry in entries {
            if entry.architecture.family == .mamba {
                throw CommandFailure.badInput("\(archs):\(entry.line) (\(entry.id)): family mamba has no trainable network yet, "
                                              + "so the probes cannot score it; remove the line or use a zero-cost scorer")
            }
            let input = entry.architecture.input
            guard input.height == resolution, input.width == resolution else {
                throw CommandFailure.badInput("\(archs):\(entry.line) (\(entry.id)): input \(input.height)×\(input.width) differs from "
                                              + "line \(entries[0].line)'s \(resolution)×\(resolution); rank one resolution at a time")
            }
        }
        var configuration = ProbeConfiguration()
        configuration.resolution = resolution
        let suite: ProbeSuite
        do { suite = try ProbeSuite(configuration: configuration, images: try loadImages(), seed: seed) } catch let error as ProbeError {
            throw CommandFailure.badInput("\(error)")
        }
        var outcome = RankOutcome(scorer: "probes", scores: [])
        let count = entries.count
        var plan: BudgetPlan?
        var dataVolume = dataVolume ?? 0, epochs = epochs ?? 0
        if self.dataVolume == nil {
            if count < 3 {
                throw CommandFailure.badInput("\(archs): calibrating D and E needs at least 3 architectures, got \(count); "
                                              + "pass --data-volume and --epochs to score fewer")
            }
            let calibration = calibrationSet(entries)
            var bar: ProgressBar?
            let evaluator = BudgetAdaptiveEvaluator(suite: suite, seed: seed)
            do {
                plan = try evaluator.plan(calibrationCandidates: calibration.map(\.architecture), totalBudgetSeconds: budgetSeconds,
                                          candidateCount: count, calibrationFraction: calibrationFraction,
                                          secondsSpent: { Date().timeIntervalSince(started) }) { progress in
                    if bar == nil { bar = ProgressBar(total: progress.totalRuns, label: "calibration", unit: "run") }
                    bar?.update(done: progress.completedRuns, extra: progress.stage)
                }
            } catch let error as ProbeError {
                throw CommandFailure.badInput("\(error)")
            } catch {
                throw CommandFailure.training("budget calibration failed: \(error)")
            }
            bar?.finish()
            dataVolume = plan!.dataVolume
            epochs = plan!.epochs
            ProgressBar.writeToStandardError(plan!.summary + "\n")
        }
        let bar = ProgressBar(total: count, label: "probes", unit: "arch")
        var results: [ProbeResult] = []
        var schedule = plan.map(ProbeBudgetSchedule.init)
        for (index, entry) in entries.enumerated() {
            if var current = schedule {
                // Deadline-aware: shrink (D, E) for the rest when the remaining share no longer pays for them.
                let setting = current.next(secondsLeft: budgetSeconds - Date().timeIntervalSince(started), candidatesLeft: count - index)
                if setting.shrunk {
                    ProgressBar.writeToStandardError("\nrunning late: candidates \(index + 1)… get D \(setting.dataVolume), "
                                                     + "E \(setting.epochs) instead of D \(dataVolume), E \(epochs)\n")
                    outcome.shrunkAt = outcome.shrunkAt ?? index
                }
                dataVolume = setting.dataVolume
                epochs = setting.epochs
                schedule = current
            }
            let result: ProbeResult
            do {
                result = try suite.evaluate(entry.architecture, dataVolume: dataVolume, epochs: epochs, seed: seed)
            } catch let error as ProbeError {
                throw CommandFailure.badInput("\(archs):\(entry.line) (\(entry.id)): \(error)")
            }
            results.append(result)
            schedule?.record(result)
            let divergedText = result.diverged.isEmpty ? "" : ", diverged " + result.diverged.map(\.rawValue).sorted().joined(separator: ",")
            bar.update(done: index + 1, extra: String(format: "%@ %.1f s%@", entry.id, result.seconds, divergedText))
        }
        bar.finish()
        // Leftover budget buys extra passes over every candidate with a new probe seed, at one
        // (D, E) sized to the time left, averaged per candidate: every candidate gets the same
        // passes, so scores stay comparable, and the seed noise of brief training shrinks.
        var passes = [results]
        while let current = schedule, passes.count < maximumSeeds,
              let extra = current.extraPassSetting(secondsLeft: budgetSeconds - Date().timeIntervalSince(started), candidates: count) {
            let passSeed = seed &+ UInt64(passes.count) &* 0x9E37_79B9
            let passBar = ProgressBar(total: count, label: "probes seed \(passes.count + 1) (D \(extra.dataVolume), E \(extra.epochs))",
                                      unit: "arch")
            var pass: [ProbeResult] = []
            for (index, entry) in entries.enumerated() {
                let result = try suite.evaluate(entry.architecture, dataVolume: extra.dataVolume, epochs: extra.epochs, seed: passSeed)
                pass.append(result)
                schedule?.record(result)
                passBar.update(done: index + 1)
            }
            passBar.finish()
            passes.append(pass)
        }
        results = entries.indices.map { index in ProbeResult.seedAverage(passes.map { $0[index] }) }
        outcome.seedCount = passes.count
        let totals = ProbeAggregation.totals(results, weights: weights)
        outcome.scores = totals.map(\.total)
        outcome.probeResults = results
        outcome.standardized = totals.map(\.standardized)
        outcome.plan = plan
        outcome.budgetSeconds = budgetSeconds
        return outcome
    }

    /// Up to `calibrationCandidates` entries, taken in turn from each family (seeded order
    /// within a family) so that calibration sees the pool's families.
    private func calibrationSet(_ entries: [RankEntry]) -> [RankEntry] {
        var generator = SeededGenerator(seed: seed &+ 0xCA11)
        var byFamily: [[RankEntry]] = ArchitectureFamily.allCases.map { family in entries.filter { $0.architecture.family == family } }
        for index in byFamily.indices {
            for position in stride(from: byFamily[index].count - 1, to: 0, by: -1) {
                byFamily[index].swapAt(position, generator.uniformIndex(below: position + 1))
            }
        }
        var chosen: [RankEntry] = []
        var round = 0
        while chosen.count < min(calibrationCandidates, entries.count) {
            for family in byFamily where round < family.count && chosen.count < calibrationCandidates { chosen.append(family[round]) }
            round += 1
        }
        return chosen
    }
}

extension RankEntry {
    /// Every non-empty line of `path`; a bad line is a `CommandFailure.badInput` naming it.
    static func load(_ path: String) throws -> [RankEntry] {
        do { return try RankEntry.parse(readDocument(at: URL(fileURLWithPath: path)), file: path) } catch {
            throw CommandFailure.badInput("\(error)")
        }
    }
}

/// Scores and what to print about them.
struct RankOutcome {
    var scorer: String
    var scores: [Double]
    var probeResults: [ProbeResult]?
    var standardized: [[ProbeKind: Double]]?
    var plan: BudgetPlan?
    var budgetSeconds: Double?
    var wallSeconds = 0.0
    var shrunkAt: Int?
    /// Probe seeds averaged per candidate (extra seeds use budget left after the first pass).
    var seedCount = 1

    /// Kendall tau and Spearman rho of `values` against test accuracy, per subset.
    static func correlations(_ values: [Double], entries: [RankEntry]) -> [(subset: String, count: Int, tau: Double?, rho: Double?)] {
        let families = ArchitectureFamily.allCases.filter { family in entries.contains { $0.architecture.family == family } }
        let subsets: [(String, [Int])] = [("all", Array(entries.indices))] + families.map { family in
            (family.rawValue, entries.indices.filter { entries[$0].architecture.family == family })
        }
        return subsets.compactMap { name, indices in
            let known = indices.filter { entries[$0].testAccuracy != nil }
            guard known.count >= 2 else { return nil }
            let x = known.map { values[$0] }, y = known.map { entries[$0].testAccuracy! }
            return (name, known.count, RankCorrelation.kendallTau(x, y), RankCorrelation.spearmanRho(x, y))
        }
    }

    func report(json: Bool, entries: [RankEntry]) {
        let params = entries.map { Double($0.architecture.cost.params) }
        let hasAccuracy = entries.contains { $0.testAccuracy != nil }
        var rows: [(String, [Double])] = [(scorer, scores)]
        if scorer != "params" { rows.append(("params", params)) }
        if let standardized {
            for kind in ProbeKind.allCases {
                // Sign-flipped, diverged → worst, as in the total.
                rows.append((kind.rawValue, standardized.map { $0[kind] ?? 0 }))
            }
        }
        if json {
            var object: [String: Any] = ["scorer": scorer, "wall_seconds": wallSeconds]
            object["scores"] = entries.indices.map { index -> [String: Any] in
                var item: [String: Any] = ["id": entries[index].id, "family": entries[index].architecture.family.rawValue,
                                           "score": scores[index]]
                if let accuracy = entries[index].testAccuracy { item["test_acc"] = accuracy }
                if let result = probeResults?[index] {
                    item["probes"] = Dictionary(uniqueKeysWithValues: result.rawScores.map { ($0.key.rawValue, $0.value) })
                    item["diverged"] = result.diverged.map(\.rawValue).sorted()
                    item["data_volume"] = result.dataVolume
                    item["epochs"] = result.epochs
                    item["seconds"] = result.seconds
                }
                return item
            }
            if hasAccuracy {
                var correlations: [String: Any] = [:]
                for (name, values) in rows {
                    var perSubset: [String: Any] = [:]
                    for entry in Self.correlations(values, entries: entries) {
                        perSubset[entry.subset] = ["kendall_tau": entry.tau as Any, "spearman_rho": entry.rho as Any, "count": entry.count]
                    }
                    correlations[name] = perSubset
                }
                object["correlations"] = correlations
            }
            if let budgetSeconds { object["budget_seconds"] = budgetSeconds }
            if let shrunkAt { object["shrunk_from_candidate"] = shrunkAt }
            object["probe_seeds"] = seedCount
            if let plan, let data = try? JSONEncoder().encode(plan),
               let planObject = try? JSONSerialization.jsonObject(with: data) { object["plan"] = planObject }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let probeHeader = probeResults == nil ? "" : ProbeKind.allCases.map { $0.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) }.joined()
        print("rank  id                    family  score     \(probeHeader)\(hasAccuracy ? "test_acc" : "")")
        for (rank, index) in order.enumerated() {
            let entry = entries[index]
            var line = String(format: "%4d  %@  %@  %-8.4g  ", rank + 1, entry.id.padding(toLength: 20, withPad: " ", startingAt: 0),
                              entry.architecture.family.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0), scores[index])
            if let result = probeResults?[index] {
                for kind in ProbeKind.allCases {
                    let text = result.rawScores[kind].map { String(format: "%.4f", $0) } ?? "NaN"
                    line += text.padding(toLength: 8, withPad: " ", startingAt: 0)
                }
            }
            if let accuracy = entry.testAccuracy { line += String(format: "%.4f", accuracy) }
            print(line)
        }
        if hasAccuracy {
            print("\nrank correlation with test accuracy (Kendall tau / Spearman rho):")
            let subsets = Self.correlations(scores, entries: entries).map(\.subset)
            print("scorer    " + subsets.map { $0.padding(toLength: 27, withPad: " ", startingAt: 0) }.joined())
            for (name, values) in rows {
                let cells = Self.correlations(values, entries: entries).map { entry in
                    String(format: "%@ / %@ (n %d)", entry.tau.map { String(format: "%+.3f", $0) } ?? "  -  ",
                           entry.rho.map { String(format: "%+.3f", $0) } ?? "  -  ", entry.count)
                        .padding(toLength: 27, withPad: " ", startingAt: 0)
                }
                print(name.padding(toLength: 10, withPad: " ", startingAt: 0) + cells.joined())
            }
        }
        if let budgetSeconds {
            print(String(format: "\nwall time %.0f s of a %.0f s budget (%+.1f%%)", wallSeconds, budgetSeconds,
                         (wallSeconds / budgetSeconds - 1) * 100))
        }
        if let shrunkAt { print("note: from candidate \(shrunkAt + 1) on, (D, E) was reduced to keep to the budget") }
        if seedCount > 1 { print("note: each candidate's probe scores are the mean of \(seedCount) probe seeds (budget left after the first pass)") }
        fflush(nil)
    }
}
