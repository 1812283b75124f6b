import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASLatency
import EdgeNASModels
import EdgeNASProbes
import EdgeNASSelection
import EdgeNASTensor
import Foundation

/// `edgenas rank`: ranks a list of architectures with the selection pipeline, one of its
/// stages, or a zero-cost proxy and, when test accuracies are known, says how well it ranks
/// and selects them.
struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank architectures with the selection pipeline, one of its stages, or a zero-cost proxy.",
        discussion: """
        Reads JSON lines, one architecture per line: {"id": "...", "arch": {...}} with an \
        optional "test_acc". Ranks every architecture (best first) and, with test accuracies, \
        says how well the ranking selects: Kendall's tau and Spearman's rho against accuracy, \
        and the top-1 regret (accuracy points lost against the best architecture that meets a \
        limit) under cost limits at the 0.3, 0.5, 0.7 and 1.0 quantiles of the set's predicted \
        latency (--table) or FLOPs, overall and per family, next to Params, FLOPs and the \
        random pick.

        Scorers:
          pipeline  (default) the six probes within (1 − F) of --budget, then
                    successive halving on the real task within F
                    (--final-stage-share): the top-k train on --images'
                    training split and are validated on a split held out of
                    it; each rung keeps the better half and doubles its data
          probes    the six vision probes alone (LGJ, OIP, RM, CSB, MF, VM),
                    their z-scores summed
          task      the final stage alone, entered in the capacity prior's
                    order
          params, flops, synflow, snip, grad_norm, naswot
                    zero-cost: seconds, no budget

        Within a family, the capacity prior z(log Params) orders the probes' and the final \
        stage's candidates alongside their scores; across families only measured scores count.

        A bad line exits with status 64 and names the file and line, for example:
          dev.jsonl:3: arch: stages[0].blocks[1].kernel: expected one of 1, 3, 5, 7, got 4

        Examples:
          edgenas rank --archs dev.jsonl --budget 20m
          edgenas rank --archs dev.jsonl --scorer probes --budget 20m --json > scores.json
          edgenas rank --archs dev.jsonl --scorer task --budget 5m
          edgenas rank --archs dev.jsonl --scorer naswot
          edgenas rank --archs dev.jsonl --scorer probes --data-volume 256 --epochs 3 --seed 2
          edgenas rank --archs dev.jsonl --scorer probes --parallel 2 --threads 1

        --parallel N probes N candidates side by side, each on --threads threads (default: \
        one candidate per core on one thread each, the faster way on 2 cores; with only \
        --threads, as many as fit); calibration runs the same way, so that it measures what scoring \
        costs. The scores equal --parallel 1 with the same --threads. The final stage trains \
        one candidate at a time on all N × --threads threads.
        """
    )

    @Option(help: ArgumentHelp("JSON lines with \"id\", \"arch\" and optionally \"test_acc\".", valueName: "FILE.jsonl"))
    var archs: String

    @Option(help: "pipeline, probes, task, params, flops, synflow, snip, grad_norm or naswot.")
    var scorer: String = "pipeline"

    @Option(help: ArgumentHelp("Total wall-time budget, e.g. 20m, 90s, 1h (not used by zero-cost scorers).", valueName: "DURATION"))
    var budget: DurationArgument = DurationArgument(seconds: 1200)

    @Option(help: "Share of the budget for the final stage on the real task (pipeline only; the probes get the rest).")
    var finalStageShare: Double = SelectionSettings.defaultFinalStageShare

    @Option(help: "Weight of the capacity prior z(log Params) in a final-stage rung's score.")
    var priorWeight: Double = FinalStageSettings().capacityPriorWeight

    @Option(help: "Share of the probe budget spent calibrating D and E.")
    var calibrationFraction: Double = 0.3

    @Option(help: "Candidates used for calibration, spanning the pool's cost range (at least 3).")
    var calibrationCandidates: Int = 8

    @Option(help: "Fixed training samples per probe (with --epochs: skips calibration).")
    var dataVolume: Int?

    @Option(help: "Fixed epochs per probe (with --data-volume: skips calibration).")
    var epochs: Int?

    @Option(help: "Most probe seeds averaged per candidate when the budget leaves time for more passes (1: never).")
    var maximumSeeds: Int = 3

    @Option(help: ArgumentHelp("Probe weights, e.g. lgj=1,oip=1,rm=0.5 (unnamed probes weigh 1).", valueName: "LIST"))
    var weights: String?

    @Option(name: [.customLong("images"), .customLong("data")], help: ArgumentHelp("Real images (--data is the same option, as in train): the probes' images and the final stage's task. An MNIST-format directory, a CIFAR "
                               + "binary file or folder, or an image folder (DIR/CLASS/*.png|jpg|jpeg), converted to the "
                               + "architectures' input (default: Fashion-MNIST).", valueName: "path"))
    var images: String?

    @Option(help: ArgumentHelp("Latency table whose predictions set the regret limits (default: FLOPs).", valueName: "TABLE"))
    var table: String?

    @Option(help: "Seed of probe data, initialisation, calibration draws and the validation split.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object on stdout (progress stays on stderr).")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    @Option(help: "Candidates probed side by side, each on --threads threads (default: one per core, one thread each).")
    var parallel: Int?

    private var selectionMode: SelectionMode? { SelectionMode(rawValue: scorer) }

    func validate() throws {
        guard selectionMode != nil || ZeroCostProxy(rawValue: scorer) != nil else {
            throw ValidationError("--scorer must be \((SelectionMode.allCases.map(\.rawValue) + ZeroCostProxy.allCases.map(\.rawValue)).joined(separator: ", ")); got \(scorer)")
        }
        guard calibrationFraction > 0 && calibrationFraction < 0.9 else {
            throw ValidationError("--calibration-fraction must be in (0, 0.9), got \(calibrationFraction)")
        }
        guard finalStageShare >= 0 && finalStageShare <= 1 else {
            throw ValidationError("--final-stage-share must be in [0, 1], got \(finalStageShare)")
        }
        guard priorWeight >= 0 && priorWeight.isFinite else { throw ValidationError("--prior-weight must be 0 or more, got \(priorWeight)") }
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1, got \(parallel)") }
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

    /// The probes' side-by-side runs; everything else (proxies, the final stage) uses all their threads.
    private var runs: ConcurrentRuns { threadOptions.runs(parallel: parallel) }

    func run() throws { try precisionOptions.scoped { try Compute.withThreads(runs.totalThreads, execute) } }

    private func execute() throws {
        let started = Date()
        let entries = try RankEntry.load(archs)
        guard !entries.isEmpty else { throw CommandFailure.badInput("\(archs): no architectures (one JSON object per line)") }
        let costs = try limitCosts(entries)
        var outcome: RankOutcome
        if let proxy = ZeroCostProxy(rawValue: scorer) {
            outcome = try scoreWithProxy(proxy, entries)
        } else {
            outcome = try select(entries, mode: selectionMode!)
        }
        outcome.wallSeconds = Date().timeIntervalSince(started)
        outcome.limitCostName = table == nil ? "FLOPs" : "predicted latency (ms)"
        outcome.report(json: json, entries: entries, costs: costs)
    }

    /// What the regret limits bound: predicted latency from --table, else FLOPs.
    private func limitCosts(_ entries: [RankEntry]) throws -> [Double] {
        guard let table else { return entries.map { Double($0.architecture.cost.flops) } }
        let predictor = try withCommandErrors { try LatencyPredictor(table: try openTable(table, device: nil, create: false)) }
        return try entries.map { entry in
            do { return try predictor.predict(entry.architecture).predictedMilliseconds } catch {
                throw CommandFailure.badInput("\(archs):\(entry.line) (\(entry.id)): \(table): \(error)")
            }
        }
    }

    /// The training part of --images at the pool's input shape (every line shares it when
    /// images are needed: `select` checks), with its class count checked.
    private func loadImages(for entries: [RankEntry]) throws -> ImageDataset {
        let architecture = entries[0].architecture
        return try loadDataset(images ?? MNISTFormat.defaultDirectory.path, input: architecture.input,
                               classes: architecture.classes).training
    }

    private func scoreWithProxy(_ proxy: ZeroCostProxy, _ entries: [RankEntry]) throws -> RankOutcome {
        var scores: [Double] = []
        let needsBatch = proxy != .params && proxy != .flops
        let dataset = needsBatch ? try loadImages(for: entries) : nil
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

    private func select(_ entries: [RankEntry], mode: SelectionMode) throws -> RankOutcome {
        for entry in entries {
            let input = entry.architecture.input
            guard input == entries[0].architecture.input else {
                throw CommandFailure.badInput("\(archs):\(entry.line) (\(entry.id)): input \(input) differs from "
                                              + "line \(entries[0].line)'s \(entries[0].architecture.input); rank one input shape at a time")
            }
        }
        if mode != .task && dataVolume == nil && entries.count < 3 {
            throw CommandFailure.badInput("\(archs): calibrating D and E needs at least 3 architectures, got \(entries.count); "
                                          + "pass --data-volume and --epochs to score fewer")
        }
        let images = try loadImages(for: entries)
        var suite: ProbeSuite?
        if mode != .task {
            var configuration = ProbeConfiguration()
            configuration.resolution = entries[0].architecture.input.height
            do { suite = try ProbeSuite(configuration: configuration, images: images, seed: seed) } catch let error as ProbeError {
                throw CommandFailure.badInput("\(error)")
            }
        }
        var task: ImageClassificationTask?
        if mode != .probes {
            do { task = try ImageClassificationTask(training: images, seed: seed) } catch let error as TaskError {
                throw CommandFailure.badInput("\(images.count) training images: \(error)")
            }
        }
        let settings = SelectionSettings(
            mode: mode, finalStageShare: finalStageShare,
            probe: ProbeStageSettings(calibrationFraction: calibrationFraction, calibrationCandidates: calibrationCandidates,
                                      maximumSeeds: maximumSeeds, fixedDataVolume: dataVolume, fixedEpochs: epochs,
                                      weights: try weights.map(Self.parseWeights) ?? [:], seed: seed, runs: runs),
            finalStage: FinalStageSettings(capacityPriorWeight: priorWeight, seed: seed))
        let display = SelectionProgressDisplay()
        let pipeline = SelectionPipeline(settings: settings, probeSuite: suite, task: task, events: display.show,
                                         shouldStop: { StopRequest.isRequested })
        StopRequest.install(notice: "\nstopping after the current unit (Ctrl-C again to quit at once)\n")
        let candidates = entries.map { SelectionCandidate(id: $0.id, architecture: $0.architecture) }
        let outcome: SelectionOutcome
        do {
            outcome = try pipeline.run(candidates, budgetSeconds: budget.seconds)
        } catch let error as ProbeError {
            throw CommandFailure.badInput("\(archs): \(error)")
        } catch is CancellationError {
            throw CommandFailure.interrupted("rank stopped on request; nothing is kept (rank has no run folder)")
        }
        display.finish()
        var result = RankOutcome(scorer: mode.rawValue, scores: outcome.ranking.selectionScores)
        result.selection = outcome
        result.budgetSeconds = budget.seconds
        return result
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
    /// One per entry, higher is better (the selection's order for the pipeline and its stages).
    var scores: [Double]
    var selection: SelectionOutcome?
    var budgetSeconds: Double?
    var wallSeconds = 0.0
    var limitCostName = "FLOPs"

    /// The scorers judged side by side: this one, the probes' and the final stage's parts when
    /// they ran, each probe, and the free baselines.
    func judgedScorers(entries: [RankEntry]) -> [(name: String, scores: [Double])] {
        var rows: [(String, [Double])] = [(scorer, scores)]
        if scorer == SelectionMode.pipeline.rawValue, let probe = selection?.probe {
            rows.append(("probe total", probe.totals.map(\.total)))
        }
        if let probe = selection?.probe {
            for kind in ProbeKind.allCases { rows.append((kind.rawValue, probe.totals.map { $0.standardized[kind] ?? 0 })) }
        }
        if scorer != "params" { rows.append(("params", entries.map { Double($0.architecture.cost.params) })) }
        if scorer != "flops" { rows.append(("flops", entries.map { Double($0.architecture.cost.flops) })) }
        return rows
    }

    func report(json: Bool, entries: [RankEntry], costs: [Double]) {
        let hasAccuracy = entries.contains { $0.testAccuracy != nil }
        let quality = hasAccuracy
            ? SelectionQuality.rows(scorers: judgedScorers(entries: entries), families: entries.map(\.architecture.family),
                                    accuracies: entries.map(\.testAccuracy), costs: costs)
            : []
        if json {
            printJSON(entries: entries, costs: costs, quality: quality)
        } else {
            printText(entries: entries, quality: quality)
        }
        fflush(nil)
    }

    private func printJSON(entries: [RankEntry], costs: [Double], quality: [SelectionQualityRow]) {
        var object: [String: Any] = ["scorer": scorer, "wall_seconds": wallSeconds, "limit_cost": limitCostName]
        let ranking = selection?.ranking
        object["scores"] = entries.indices.map { index -> [String: Any] in
            var item: [String: Any] = ["id": entries[index].id, "family": entries[index].architecture.family.rawValue,
                                       "score": scores[index], "params": entries[index].architecture.cost.params,
                                       "limit_cost": costs[index]]
            if let accuracy = entries[index].testAccuracy { item["test_acc"] = accuracy }
            if let selection { item["capacity_prior"] = selection.prior[index] }
            if let ranking {
                item["screening_score"] = ranking.screeningScore[index]
                if let rung = ranking.lastRung[index] { item["last_rung"] = rung }
                if let accuracy = ranking.validationAccuracy[index] { item["validation_acc"] = accuracy }
            }
            if let probe = selection?.probe {
                let result = probe.results[index]
                item["probes"] = Dictionary(uniqueKeysWithValues: result.rawScores.map { ($0.key.rawValue, $0.value) })
                item["probe_total"] = probe.totals[index].total
                item["diverged"] = result.diverged.map(\.rawValue).sorted()
                item["data_volume"] = result.dataVolume
                item["epochs"] = result.epochs
                item["probe_seconds"] = result.seconds
                item["probe_seed_totals"] = probe.passes.map { pass in ProbeAggregation.totals(pass)[index].total }
            }
            return item
        }
        if !quality.isEmpty, let data = try? JSONEncoder().encode(quality),
           let rows = try? JSONSerialization.jsonObject(with: data) { object["quality"] = rows }
        if let budgetSeconds { object["budget_seconds"] = budgetSeconds }
        if let selection {
            object["probe_stage_seconds"] = selection.probeSeconds
            object["final_stage_seconds"] = selection.finalStageSeconds
            if let probe = selection.probe {
                object["probe_seeds"] = probe.seedCount
                object["probe_capacity_bias"] = Dictionary(uniqueKeysWithValues: SelectionQuality.capacityBias(
                    scores: probe.totals.map(\.total), architectures: entries.map(\.architecture)).map { ($0.family, $0.kendallTau as Any) })
                if let shrunkAt = probe.shrunkAt { object["shrunk_from_candidate"] = shrunkAt }
                if let plan = probe.plan, let data = try? JSONEncoder().encode(plan),
                   let planObject = try? JSONSerialization.jsonObject(with: data) { object["plan"] = planObject }
            }
            if let finalStage = selection.finalStage, let data = try? JSONEncoder().encode(finalStage.results),
               let rungs = try? JSONSerialization.jsonObject(with: data) { object["rungs"] = rungs }
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    private func printText(entries: [RankEntry], quality: [SelectionQualityRow]) {
        let hasAccuracy = !quality.isEmpty
        let order = selection?.ranking.order ?? scores.indices.sorted { scores[$0] > scores[$1] }
        let probe = selection?.probe
        let probeHeader = probe == nil ? "" : ProbeKind.allCases.map { $0.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) }.joined()
        let stageHeader = selection?.finalStage == nil ? "" : "rung  val_acc  "
        print("rank  id                    family  score     \(stageHeader)\(probeHeader)\(hasAccuracy ? "test_acc" : "")")
        for (rank, index) in order.enumerated() {
            let entry = entries[index]
            var line = String(format: "%4d  %@  %@  %-8.4g  ", rank + 1, entry.id.padding(toLength: 20, withPad: " ", startingAt: 0),
                              entry.architecture.family.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0),
                              selection.map { $0.ranking.rungScore[index] ?? $0.ranking.screeningScore[index] } ?? scores[index])
            if let ranking = selection?.ranking, selection?.finalStage != nil {
                line += (ranking.lastRung[index].map { String($0) } ?? "-").padding(toLength: 6, withPad: " ", startingAt: 0)
                line += (ranking.validationAccuracy[index].map { String(format: "%.4f", $0) } ?? "-").padding(toLength: 9, withPad: " ", startingAt: 0)
            }
            if let result = probe?.results[index] {
                for kind in ProbeKind.allCases {
                    let text = result.rawScores[kind].map { String(format: "%.4f", $0) } ?? "NaN"
                    line += text.padding(toLength: 8, withPad: " ", startingAt: 0)
                }
            }
            if let accuracy = entry.testAccuracy { line += String(format: "%.4f", accuracy) }
            print(line)
        }
        if let finalStage = selection?.finalStage {
            print("\nfinal stage (successive halving on the task, validation split held out of the training images):")
            for (plan, results) in zip(finalStage.plans, finalStage.results) {
                let best = results.max { $0.validationAccuracy < $1.validationAccuracy }
                print(String(format: "  rung %d: %d candidates × %@, %.0f s, best validation accuracy %.4f (%@)", plan.rung,
                             plan.candidateIDs.count, plan.fidelity.description, results.reduce(0) { $0 + $1.seconds },
                             best?.validationAccuracy ?? 0, best?.candidateID ?? "-"))
            }
        }
        if hasAccuracy {
            let subsets = quality.reduce(into: [String]()) { if !$0.contains($1.subset) { $0.append($1.subset) } }
            print("\nselection quality against test accuracy: Kendall tau / mean top-1 regret in accuracy points under limits at the "
                  + "0.3/0.5/0.7/1.0 quantiles of \(limitCostName):")
            let header = subsets.map { subset in
                "\(subset) (n \(quality.first { $0.subset == subset }!.count))".padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            print("scorer        " + header.joined())
            let names = quality.reduce(into: [String]()) { if !$0.contains($1.scorer) { $0.append($1.scorer) } }
            for name in names {
                let cells = subsets.map { subset -> String in
                    guard let row = quality.first(where: { $0.scorer == name && $0.subset == subset }) else { return "" }
                    let tau = row.kendallTau.map { String(format: "%+.3f", $0) } ?? "  -   "
                    let regret = row.regret.map { String(format: "%.2f", $0.meanRegretPoints) } ?? "-"
                    return "\(tau) / \(regret)".padding(toLength: 22, withPad: " ", startingAt: 0)
                }
                print(name.padding(toLength: 14, withPad: " ", startingAt: 0) + cells.joined())
            }
        }
        if let budgetSeconds, selection != nil {
            print(String(format: "\nwall time %.0f s of a %.0f s budget (%.0f%%): probes %.0f s, final stage %.0f s", wallSeconds, budgetSeconds,
                         wallSeconds / budgetSeconds * 100, selection!.probeSeconds, selection!.finalStageSeconds))
        }
        if let probe {
            if let shrunkAt = probe.shrunkAt { print("note: from candidate \(shrunkAt + 1) on, (D, E) was reduced to keep to the budget") }
            if probe.seedCount > 1 { print("note: each candidate's probe scores are the mean of \(probe.seedCount) probe seeds") }
        }
    }
}

/// Progress bars for the pipeline's stages, on standard error.
final class SelectionProgressDisplay {
    private var bar: ProgressBar?

    func show(_ event: SelectionEvent) {
        switch event {
        case let .probe(.calibration(progress)):
            if bar == nil { bar = ProgressBar(total: progress.totalRuns, label: "calibration", unit: "run") }
            bar?.update(done: progress.completedRuns, extra: progress.stage)
        case let .probe(.planned(plan)):
            finish()
            ProgressBar.writeToStandardError(plan.summary + "\n")
        case let .probe(.shrunk(index, dataVolume, epochs)):
            ProgressBar.writeToStandardError("\nrunning late: candidates \(index + 1)… get D \(dataVolume), E \(epochs)\n")
        case let .probe(.passStarted(pass, dataVolume, epochs, candidates)):
            finish()
            bar = ProgressBar(total: candidates, label: "probes seed \(pass + 1) (D \(dataVolume), E \(epochs))", unit: "arch")
        case let .probe(.scored(_, done, _, id, result)):
            let diverged = result.diverged.isEmpty ? "" : ", diverged " + result.diverged.map(\.rawValue).sorted().joined(separator: ",")
            bar?.update(done: done, extra: String(format: "%@ %.1f s%@", id, result.seconds, diverged))
        case let .finalStage(.rungStarted(plan, predictedSeconds)):
            finish()
            ProgressBar.writeToStandardError(String(format: "final stage rung %d: %d candidates × %@ (about %.0f s)\n", plan.rung,
                                                    plan.candidateIDs.count, plan.fidelity.description, predictedSeconds))
            bar = ProgressBar(total: plan.candidateIDs.count, label: "rung \(plan.rung)", unit: "cand")
        case let .finalStage(.skipped(reason)):
            finish()
            ProgressBar.writeToStandardError("final stage \(reason)\n")
        case let .finalStage(.scheduleCut(rung, rungsLeft, members, secondsLeft)):
            finish()
            ProgressBar.writeToStandardError(FinalStageEvent.scheduleCutDescription(rung: rung, rungsLeft: rungsLeft, members: members,
                                                                                    secondsLeft: secondsLeft) + "\n")
        case let .finalStage(.unitDone(result, done, _, _)):
            bar?.update(done: done, extra: String(format: "%@ val %.4f %.1f s", result.candidateID, result.validationAccuracy, result.seconds))
        }
    }

    func finish() {
        bar?.finish()
        bar = nil
    }
}
