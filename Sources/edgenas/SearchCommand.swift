import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASLatency
import EdgeNASModels
import EdgeNASONNX
import EdgeNASProbes
import EdgeNASSearch
import EdgeNASSelection
import EdgeNASTensor
import Foundation

/// `edgenas search`: the main job. Sample candidates that meet the limits, select the best
/// within the budget (probes, then the final stage on the task), and export the winner to ONNX.
struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search a space under Params/FLOPs/latency limits and export the best candidate.",
        discussion: """
            Draws --candidates architectures from the space that meet every limit (a candidate \
            that breaks one is redrawn, at most --attempts times per candidate) and selects the \
            best within --budget. The default scorer, pipeline, spends (1 − F) of the budget on \
            the six vision probes (the budget-adaptive evaluator first picks the data volume and \
            epochs), which judge the families, and F (--final-stage-share, 0.7) on successive \
            halving on the real task: the leaders train briefly on --images' training split, are \
            validated on a split held out of it, and each rung keeps the better half and doubles \
            their training. Within a family the capacity prior z(log Params) (--prior-weight) \
            ranks alongside. --scorer probes is the paper's score alone. The run writes into \
            its folder:

              winner.json        the winning architecture
              leaderboard.csv    id, Params, FLOPs, predicted latency, probe scores, last rung,
                                 validation accuracy, rank
              leaderboard.jsonl  the same, one JSON object per line, architecture included
              pareto.svg         score against predicted latency, Pareto front marked
              report.md          settings, the plan, the final stage's rungs, the winner, time per phase
              search.sqlite      the run's state: an interrupted run goes on with --resume

            The winner is exported to --export, by default exports/NAME-ID.onnx (NAME = the run \
            folder's name, ID = the run's id, so runs never overwrite each other's exports), \
            optionally trained first (--train-epochs), checked, and timed end to end on the device \
            so the report shows measured against predicted latency.

            The run folder keeps every option that shapes its outputs. --resume goes on with exactly \
            those: options given with it must equal the run's own (a list of every difference is \
            refused), options left out are the run's. A finished run resumed rebuilds its outputs \
            and keeps its finished export. A run that failed before it scored anything (a bad \
            option, infeasible limits, a missing table) leaves nothing behind: run the corrected \
            command as it is.

            Latency limits need the device's latency table, filled by `edgenas profile`; a space \
            with blocks the table lacks is refused before anything runs.

            --parallel N scores N candidates side by side, each on --threads threads (default: \
            one candidate per core on one thread each, the faster way on 2 cores; with only \
            --threads, as many as fit); the probes' calibration runs the same way. The scores equal \
            --parallel 1 with the same --threads. Evolution breeds each child from every score \
            before it, so only its random initial population runs side by side. The final stage \
            and the winner's training use all N × --threads threads. --parallel is not part of \
            the run's settings: a run may resume with another.

            --store URL keeps the run in a store that worker processes share (PostgreSQL across \
            machines, a SQLite file on one): --init draws the candidates and calibrates the plan, \
            `edgenas worker --store URL` on each machine does the rest, --status shows progress \
            and --report rebuilds the outputs. --workers N does the same on this machine with N \
            worker processes. Shared runs use the random strategy; see deploy/README.md.

            --matmul-precision bf16 scores and trains with the large matrix products' inputs \
            rounded to bfloat16 (processors with AVX512_BF16; a ViT's probes about 1.6× faster). \
            It is part of the run's settings: a resumed run keeps the precision it started with.

            Exit status: 0 done, 64 bad input (files, options, a table that lacks blocks), \
            65 infeasible limits (the error names the limit, the closest candidate and the \
            loosest limit that would have admitted it), 70 internal error, 130 interrupted.

            Examples:
              edgenas profile --space spaces/fmnist-mbconv-tiny.json --device devices/local.yaml
              edgenas search --space spaces/fmnist-mbconv-tiny.json --device devices/local.yaml \\
                  --max-latency-ms 0.25 --budget 10m --candidates 16 --out runs/tiny
              edgenas search --out runs/tiny --resume          # after Ctrl-C or a crash (same device and table)
              edgenas search --space spaces/fmnist-vit.json --device devices/local.yaml \\
                  --max-params 200000 --strategy evolution --budget 20m --candidates 24 --out runs/vit
            """)

    @Option(help: ArgumentHelp("The search space (edgenas.space/1, JSON or YAML). Repeat it to search several spaces of one "
                               + "input shape as one, e.g. an MBConv, a ViT and a Mamba space: each gets an equal share of "
                               + "the candidates (see --space-weights). Not needed with --resume.", valueName: "SPACE"))
    var space: [String] = []

    @Option(help: ArgumentHelp("Shares of the candidates for several --space, one weight per space in their order, e.g. "
                               + "1,1,2 (default: equal shares).", valueName: "W,W,..."))
    var spaceWeights: String?

    @Option(help: ArgumentHelp("The device description (devices/*.yaml) whose latency table predicts latency.", valueName: "DEVICE"))
    var device: String?

    @Option(help: ArgumentHelp("The latency table (default: latency-tables/<device id>.sqlite).", valueName: "TABLE"))
    var table: String?

    @Option(name: .customLong("max-latency-ms"), help: ArgumentHelp("Limit on predicted latency in milliseconds (needs --device).", valueName: "MS"))
    var maxLatencyMilliseconds: Double?

    @Option(name: .customLong("max-latency-quantile"),
            help: ArgumentHelp("Set the latency limit to this quantile (0–1) of the space's predicted latencies, e.g. 0.5 keeps the faster half (needs --device).", valueName: "Q"))
    var maxLatencyQuantile: Double?

    @Option(help: ArgumentHelp("Limit on trainable parameters.", valueName: "N"))
    var maxParams: Int?

    @Option(name: .customLong("max-flops"), help: ArgumentHelp("Limit on FLOPs per image (2 × MACs).", valueName: "N"))
    var maxFLOPs: Int?

    // Options that shape a run's outputs have no declared default: a resumed run must tell
    // the options a user gave (compared with the stored ones) from those left out.

    @Option(help: ArgumentHelp("Total scoring time, e.g. 20m, 90s, 1h (calibration included; default 20m).", valueName: "TIME"))
    var budget: DurationArgument?

    @Option(help: ArgumentHelp("How many candidates to score (default 20).", valueName: "N"))
    var candidates: Int?

    @Option(help: ArgumentHelp("The run folder; its name and the run's id name the export (exports/NAME-ID.onnx). With --store, "
                               + "where the outputs go (default: the folder the run was started with).", valueName: "DIR"))
    var out: String?

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Go on with the interrupted run in --out, rescoring nothing already scored.")
    var resume = false

    @Option(help: ArgumentHelp("random (the paper's default) or evolution (regularised evolution).", valueName: "NAME"))
    var strategy: SearchStrategyKind?

    @Option(help: ArgumentHelp("Evolution: population size, the first ones random samples (default 8).", valueName: "N"))
    var population: Int?

    @Option(help: ArgumentHelp("Evolution: tournament size (default 3).", valueName: "N"))
    var tournament: Int?

    @Option(help: ArgumentHelp("Scorer: pipeline (default: probes, then successive halving on the task), probes, task, or a zero-cost proxy (params, flops, synflow, snip, grad_norm, naswot).", valueName: "NAME"))
    var scorer: String?

    @Option(help: ArgumentHelp("Share of the budget for the final stage on the task (pipeline scorer; the probes get the rest; default \(SelectionSettings.defaultFinalStageShare)).", valueName: "F"))
    var finalStageShare: Double?

    @Option(help: ArgumentHelp("Weight of the capacity prior z(log Params) in a final-stage rung's score (default \(FinalStageSettings().capacityPriorWeight)).", valueName: "W"))
    var priorWeight: Double?

    @Option(help: ArgumentHelp("Seed of sampling, mutation and probe data (default 0).", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Most draws per candidate before the limits are declared infeasible (default 2000).", valueName: "N"))
    var attempts: Int?

    @Option(name: [.customLong("images"), .customLong("data")], help: ArgumentHelp("Real images (--data is the same option, as in train) for the probes, the final stage and training the winner: an MNIST-format directory, "
                               + "a CIFAR binary file or folder, or an image folder (DIR/CLASS/*.png|jpg|jpeg), converted to the "
                               + "space's input (default \(MNISTFormat.defaultDirectory.path)).", valueName: "path"))
    var images: String?

    @Option(help: ArgumentHelp("Train the winner this many epochs on --images before export, batch 256 (default 0: export initial weights).", valueName: "N"))
    var trainEpochs: Int?

    @Option(help: ArgumentHelp("Where to write the winner (default: exports/NAME-ID.onnx, NAME the run folder's name, ID the run's id).", valueName: "FILE"))
    var export: String?

    @Flag(help: "Print the final result as one JSON object on standard output.")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    @Option(help: "Candidates scored side by side, each on --threads threads (default: one per core, one thread each).")
    var parallel: Int?

    /// The scorers' side-by-side runs; the final stage and training use all their threads.
    private var runs: ConcurrentRuns { threadOptions.runs(parallel: parallel) }

    func validate() throws {
        try storeOptions.validate(startsRun: !space.isEmpty, out: out, resume: resume)
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1, got \(parallel)") }
        // A resumed run checks what was given; the rest comes from the run, checked when it started.
        let candidates = candidates ?? (resume ? Int.max : SearchSettings.Defaults.candidateCount)
        let population = population ?? SearchSettings.Defaults.population
        let tournament = tournament ?? SearchSettings.Defaults.tournament
        guard candidates >= 2 else { throw ValidationError("--candidates must be at least 2 (scores are relative), got \(candidates)") }
        if let attempts, attempts < 1 { throw ValidationError("--attempts must be at least 1, got \(attempts)") }
        guard population >= 2, tournament >= 1, tournament <= population else {
            throw ValidationError("need --population ≥ 2 and 1 ≤ --tournament ≤ --population, got \(population) and \(tournament)")
        }
        if let finalStageShare, !(finalStageShare >= 0 && finalStageShare <= 1) {
            throw ValidationError("--final-stage-share must be in [0, 1], got \(finalStageShare)")
        }
        if let priorWeight, !(priorWeight >= 0 && priorWeight.isFinite) {
            throw ValidationError("--prior-weight must be 0 or more, got \(priorWeight)")
        }
        let scorer = scorer ?? (resume ? "" : SearchSettings.Defaults.scorer)
        let probesCalibrate = scorer == SelectionMode.probes.rawValue
            || (scorer == SelectionMode.pipeline.rawValue && (finalStageShare ?? SelectionSettings.defaultFinalStageShare) < 1)
        if probesCalibrate && (candidates < 3 || (strategy == .evolution && population < 3)) {
            throw ValidationError("the probes calibrate on at least 3 candidates: use --candidates ≥ 3 (and --population ≥ 3 with evolution)")
        }
        if let trainEpochs, trainEpochs < 0 { throw ValidationError("--train-epochs must be 0 or more, got \(trainEpochs)") }
        if !resume && space.isEmpty && storeOptions.store == nil {
            throw ValidationError("--space is required (or --resume to go on with the run in --out)")
        }
        if (maxLatencyMilliseconds != nil || maxLatencyQuantile != nil) && device == nil {
            throw ValidationError("a latency limit needs --device (and its latency table, filled by `edgenas profile`)")
        }
        if maxLatencyMilliseconds != nil && maxLatencyQuantile != nil {
            throw ValidationError("give --max-latency-ms or --max-latency-quantile, not both")
        }
        if let maxLatencyQuantile, !(maxLatencyQuantile > 0 && maxLatencyQuantile <= 1) {
            throw ValidationError("--max-latency-quantile must be in (0, 1], got \(maxLatencyQuantile)")
        }
        do { try SearchConstraints(maxParams: maxParams, maxFLOPs: maxFLOPs, maxLatencyMilliseconds: maxLatencyMilliseconds).validate() } catch {
            throw ValidationError("\(error)")
        }
    }

    mutating func run() throws {
        if out == nil { out = try storeOptions.storedRunFolder() }
        let precision = runPrecision()
        if resume, precisionOptions.matmulPrecision == nil, precision == .bfloat16,
           let missing = MatrixPrecision.bfloat16Unavailability {
            // Advice to pass fp32 would only meet the run's own settings.
            throw CommandFailure.badInput("--resume: the run in \(outPath) scores with bf16 matrix products: \(missing.reason). "
                                          + "Resume it where they run, or start a new run with another --out")
        }
        try precisionOptions.scoped(precision) { try Compute.withThreads(runs.totalThreads, execute) }
    }

    /// The precision the run scores at: a resumed run's own (its scores must not mix two; a
    /// conflicting option is reported by the settings check), else the option's.
    private func runPrecision() -> MatrixPrecision? {
        guard continuesRun else { return precisionOptions.matmulPrecision }
        // A database that does not open is reported by the run itself.
        guard let stored = try? RunStores.open(storeLocation, create: false)
            .decodedSetting("settings", as: SearchSettings.self) else { return precisionOptions.matmulPrecision }
        return MatrixPrecision(rawValue: stored.matmulPrecision ?? SearchSettings.Defaults.matmulPrecision)
    }

    /// The run folder (--out; with --store, set from the store when not given) and its database.
    var outPath: String { out ?? "." }
    var folder: URL { URL(fileURLWithPath: outPath, isDirectory: true) }
    private var databasePath: String { folder.appendingPathComponent(SearchDatabase.fileName).path }
    /// The run's store: --store, else the run folder's SQLite database.
    var storeLocation: String { storeOptions.store ?? databasePath }
    /// Goes on with a stored run: --resume, or joining the run in --store as a worker.
    private var continuesRun: Bool { resume || (storeOptions.store != nil && space.isEmpty) }
    /// Workers share the run through claims: --store, or --workers on the run folder's database.
    private var sharesRun: Bool { storeOptions.store != nil || storeOptions.workers != nil }

    private func execute() throws {
        let runName = folder.lastPathComponent
        let clock = ContinuousClock()
        let request = try makeRequest()
        try outputFailure { try OutputPath.checkFolder(outPath, option: "--out", create: false) }

        // Open the run: the interrupted or finished one with its stored settings, or a new one
        // whose folder and database are created only once everything that can fail early has
        // been checked, so that a failed start leaves nothing behind.
        var database: RunStore?
        let settings: SearchSettings
        let searchSpace: SearchSpaceUnion
        if continuesRun {
            let opened = try searchFailure { try RunStores.open(storeLocation, create: false) }
            guard let stored = try opened.decodedSetting("settings", as: SearchSettings.self) else {
                throw CommandFailure.badInput("\(opened.location): the run has no settings (it was created by an older or broken run); start it again in a new folder")
            }
            let conflicts = stored.conflicts(with: request)
            if !conflicts.isEmpty {
                throw CommandFailure.badInput("--resume: the run in \(outPath) was started with other options: "
                    + conflicts.joined(separator: "; ") + ". Resume with the run's own options (or leave them out), "
                    + "or start a new run with another --out")
            }
            settings = stored.completed(from: request, imagesPath: Self.defaultImagesPath,
                                        legacyExportPath: SearchRequest.absolutePath("exports/\(runName).onnx"))
            if settings != stored { try opened.setEncodedSetting("settings", settings) }
            searchSpace = try searchFailure {
                try SearchSpaceUnion(canonicalJSON: Data(stored.spaceJSON.utf8), file: "\(opened.location) (stored space)")
            }
            database = opened
        } else {
            if storeOptions.store == nil { try replaceRunWithoutWork(at: databasePath) } else { try storeOptions.refuseOccupiedStore() }
            searchSpace = request.space!
            let latencyLimit = try resolvedLatencyLimit(space: searchSpace)
            let runID = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8)).lowercased()
            settings = SearchSettings(newRun: request, space: searchSpace, maxLatencyMilliseconds: latencyLimit, runID: runID,
                                      imagesPath: Self.defaultImagesPath,
                                      exportPath: SearchRequest.absolutePath("exports/\(runName)-\(runID).onnx"))
        }
        let exportPath = settings.exportPath!
        try outputFailure { try OutputPath.checkFolder(URL(fileURLWithPath: exportPath).deletingLastPathComponent().path,
                                                      option: "--export", create: false) }

        // Latency prediction from the device's table, checked against the whole space up front.
        // A resumed run finds its device and table where the first run found them, unless told otherwise.
        let devicePath = try device ?? database?.setting("device_path")
        let tablePath = try table ?? database?.setting("table_path")
        let latency = try openLatency(space: searchSpace, deviceID: settings.deviceID, devicePath: devicePath, tablePath: tablePath)
        let costModel = Self.costModel(latency)
        let images = try loadTrainingImages(settings.imagesPath!, space: searchSpace)
        let scoringScorer = try makeScorer(named: settings.scorer, space: searchSpace, images: images, settings: settings)
        var task: ImageClassificationTask?
        if settings.effectiveFinalStageShare > 0 {
            do { task = try ImageClassificationTask(training: images, seed: settings.seed) } catch let error as TaskError {
                throw CommandFailure.badInput("\(settings.imagesPath!): \(error)")
            }
        }

        let createdRun = database == nil
        let createdFolder = !FileManager.default.fileExists(atPath: folder.path)
        if database == nil {
            try outputFailure { try OutputPath.checkFolder(outPath, option: "--out", create: true) }
            do {
                let created = try searchFailure { try RunStores.open(storeLocation, create: true) }
                try created.setEncodedSetting("settings", settings)
                if sharesRun { try SharedRun.recordSettings(in: created, runFolder: folder, policy: storeOptions.claimPolicy) }
                database = created
            } catch {
                // Half a database (a full disk) would block the next command as "not readable".
                if storeOptions.store == nil { try? SearchDatabase.remove(at: databasePath) }
                if createdFolder { try? FileManager.default.removeItem(at: folder) }
                throw error
            }
        }
        let runDatabase = database!
        if let latency, let devicePath {
            try runDatabase.setSetting("device_path", devicePath)
            try runDatabase.setSetting("table_path", latency.tablePath)
        }
        StopRequest.install(notice: "\nstopping after the current candidate, or after calibration while it runs "
                                + "(Ctrl-C again to quit at once; --resume goes on)\n")

        var scoringBar: ProgressBar?
        let runner = SearchRunner(
            space: searchSpace, settings: settings, store: runDatabase, costModel: costModel, scorer: scoringScorer,
            task: task, attemptsPerCandidate: settings.attemptsPerCandidate!, runs: runs,
            events: { event in
                switch event {
                case let .sampled(found, needed, attempts, rejected):
                    if found == needed { log("sampled \(found) candidates meeting the limits in \(attempts) draws (\(rejected) rejected)") }
                case let .planning(message):
                    log("plan: \(message)")
                case let .planned(plan):
                    log(plan.summary)
                case let .scoringStarted(alreadyScored, total):
                    if alreadyScored > 0 { log("resuming: \(alreadyScored) of \(total) candidates already scored") }
                    scoringBar = ProgressBar(total: total, label: "search", unit: "cand")
                    scoringBar?.update(done: alreadyScored)
                case let .scored(done, _, _, best):
                    let bestText = best.map { String(format: "best %@ %.2f", $0.id, $0.total) } ?? ""
                    scoringBar?.update(done: done, extra: bestText)
                case let .finalStage(.rungStarted(plan, predictedSeconds)):
                    scoringBar?.finish()
                    log(String(format: "final stage rung %d: %d candidates × %@ (about %.0f s)", plan.rung, plan.candidateIDs.count,
                               plan.fidelity.description, predictedSeconds))
                    scoringBar = ProgressBar(total: plan.candidateIDs.count, label: "rung \(plan.rung)", unit: "cand")
                case let .finalStage(.skipped(reason)):
                    log("final stage \(reason)")
                case let .finalStage(.scheduleCut(rung, rungsLeft, members, secondsLeft)):
                    log(FinalStageEvent.scheduleCutDescription(rung: rung, rungsLeft: rungsLeft, members: members, secondsLeft: secondsLeft))
                case let .finalStage(.unitDone(result, done, _, stored)):
                    scoringBar?.update(done: done, extra: String(format: "%@ val %.4f%@", result.candidateID, result.validationAccuracy,
                                                                 stored ? " (stored)" : ""))
                case let .worker(event):
                    StoreOptions.log(event)
                }
            },
            shouldStop: { StopRequest.isRequested })

        let leaderboard: Leaderboard
        var outputsClaim: Claim?
        do {
            if sharesRun {
                guard let (board, claim) = try storeOptions.run(runner, runFolder: folder, storeLocation: storeLocation,
                                                                threads: threadOptions.threads) else { scoringBar?.finish(); return }
                (leaderboard, outputsClaim) = (board, claim)
            } else {
                leaderboard = try runner.run()
            }
            scoringBar?.finish()
        } catch {
            scoringBar?.finish()
            // A run that failed before it scored anything holds nothing of value: remove it, so
            // that the corrected command starts afresh instead of being told to --resume.
            var interrupted = false
            if case SearchError.interrupted = error { interrupted = true }
            if createdRun && storeOptions.store == nil && !interrupted && !((try? runDatabase.holdsWork()) ?? true) {
                try? runDatabase.close()
                try? SearchDatabase.remove(at: databasePath)
                if createdFolder { try? FileManager.default.removeItem(at: folder) }
            }
            guard let error = error as? SearchError else { throw error }
            switch error {
            case let .interrupted(scored, total) where sharesRun:
                throw CommandFailure.interrupted("interrupted: \(scored) of \(total) candidates are scored and saved in the store; "
                    + "the run goes on with any worker: `edgenas worker --store \(storeLocation)`")
            case .interrupted: throw CommandFailure.interrupted(error.description)
            case .infeasible: throw CommandFailure.infeasible(error.description)
            case .badInput, .runDatabase: throw CommandFailure.badInput(error.description)
            case .workers: throw CommandFailure.internalError(error.description)
            }
        }
        guard let winner = leaderboard.winner else { throw CommandFailure.internalError("the search scored no candidate") }
        let write = {
            try writeOutputs(winner: winner, leaderboard: leaderboard, runner: runner, store: runDatabase, settings: settings,
                             latency: latency, runName: runName, exportPath: exportPath, clock: clock)
        }
        guard let outputsClaim else { return try write() }
        // The outputs unit stays claimed (heartbeat renewed) while the winner is trained and exported.
        let (_, lost) = try runner.holding(outputsClaim, policy: SharedRun.policy(of: runDatabase), write)
        if try lost || !runDatabase.finish(outputsClaim) { log("the outputs unit went to another worker meanwhile") }
    }

    /// Exports the winner (keeping a finished export of the same winner) and writes the run folder.
    private func writeOutputs(winner: LeaderboardEntry, leaderboard: Leaderboard, runner: SearchRunner, store runDatabase: RunStore,
                              settings: SearchSettings, latency: OpenedLatency?, runName: String, exportPath: String,
                              clock: ContinuousClock) throws {
        // Export the winner, optionally trained, and time it on the device; an export this run
        // already finished is kept (resuming a finished run never replaces it by a lesser one).
        let exported: WinnerExport
        if let previous = try runDatabase.decodedSetting("export", as: WinnerExport.self), previous.architectureID == winner.id,
           previous.path == exportPath, FileManager.default.fileExists(atPath: exportPath) {
            log("the winner \(winner.id) is already exported to \(exportPath)"
                + (previous.trainingEpochs > 0 ? " (trained \(previous.trainingEpochs) epoch(s))" : "") + "; kept")
            exported = previous
        } else {
            let exportStart = clock.now
            let winnerArchitecture = try Architecture(jsonData: Data(winner.architectureJSON.utf8))
            exported = try exportWinner(winnerArchitecture, to: exportPath, latency: latency, settings: settings,
                                        predicted: winner.predictedLatencyMilliseconds)
            try runDatabase.setEncodedSetting("export", exported)
            try runDatabase.addPhaseTime(SearchPhase.export, seconds: seconds(clock.now - exportStart))
        }

        let report = SearchReport(runName: runName, settings: settings, tablePath: latency?.tablePath, leaderboard: leaderboard,
                                  plan: try runDatabase.decodedSetting("plan", as: ScoringPlan.self), phases: try runDatabase.phaseTimes(),
                                  sampling: try runner.runSamplingAttempts(), export: exported, rungResults: try runDatabase.rungResults())
        try outputFailure { try RunFolder.writeOutputs(in: folder, leaderboard: leaderboard, report: report) }
        try printResult(winner: winner, export: exported, folder: folder, leaderboard: leaderboard)
    }

    /// Where the probes' and the winner's images come from unless --images says otherwise.
    static let defaultImagesPath = SearchRequest.absolutePath(MNISTFormat.defaultDirectory.path)

    /// The options as given: nil where left out.
    private func makeRequest() throws -> SearchRequest {
        SearchRequest(
            space: space.isEmpty ? nil : try loadSpaceUnion(space, weights: try parsedSpaceWeights()), deviceID: try device.map { try loadDevice($0).id },
            maxParams: maxParams, maxFLOPs: maxFLOPs, maxLatencyMilliseconds: maxLatencyMilliseconds,
            maxLatencyQuantile: maxLatencyQuantile, budgetSeconds: budget?.seconds, candidateCount: candidates,
            strategy: strategy, seed: seed, scorer: scorer, population: population, tournament: tournament,
            finalStageShare: finalStageShare, capacityPriorWeight: priorWeight,
            attemptsPerCandidate: attempts, imagesPath: images.map(SearchRequest.absolutePath), trainEpochs: trainEpochs,
            exportPath: export.map(SearchRequest.absolutePath), matmulPrecision: precisionOptions.matmulPrecision?.rawValue)
    }

    /// `--space-weights` as numbers; nil when not given.
    private func parsedSpaceWeights() throws -> [Double]? {
        guard let spaceWeights else { return nil }
        let parts = spaceWeights.split(separator: ",", omittingEmptySubsequences: false)
        let weights = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard weights.count == parts.count else {
            throw CommandFailure.badInput("--space-weights: expected numbers separated by commas, e.g. 1,1,2; got \(spaceWeights)")
        }
        return weights
    }

    /// A new run may start in a folder whose run did no work (it failed or was killed before
    /// scoring anything); a run with work is kept and the command refused.
    private func replaceRunWithoutWork(at databasePath: String) throws {
        guard FileManager.default.fileExists(atPath: databasePath) else { return }
        let existing = try searchFailure { try SearchDatabase(path: databasePath, create: false) }
        if try existing.holdsWork() {
            let progress = try existing.progress()
            throw CommandFailure.badInput("\(outPath) already holds a search (\(progress.scored) of \(progress.stored) candidates scored); "
                + "add --resume to go on with it, or choose another --out")
        }
        try existing.close()
        try outputFailure { try SearchDatabase.remove(at: databasePath) }
        log("\(outPath): replacing the earlier run there, which scored nothing")
    }

    // MARK: Steps

    private static func costModel(_ latency: OpenedLatency?) -> CostModel {
        guard let predictor = latency?.predictor else { return CostModel(predictLatencyMilliseconds: nil) }
        return CostModel(predictLatencyMilliseconds: { architecture in try predictor.predict(architecture).predictedMilliseconds })
    }

    /// `--max-latency-ms`, or the latency at `--max-latency-quantile` of the space on the device.
    private func resolvedLatencyLimit(space: SearchSpaceUnion) throws -> Double? {
        guard let maxLatencyQuantile else { return maxLatencyMilliseconds }
        guard let latency = try openLatency(space: space, deviceID: nil, devicePath: device, tablePath: table) else { return nil }
        let model = Self.costModel(latency)
        let limit = try model.latencyQuantile(maxLatencyQuantile, of: space, seed: seed ?? SearchSettings.Defaults.seed)
        // Three decimals, rounded up, so the printed limit is the one applied.
        let rounded = (limit * 1000).rounded(.up) / 1000
        log(String(format: "latency limit %.3f ms: the %.0f%% quantile of predicted latency over 1000 samples of %@",
                   rounded, maxLatencyQuantile * 100, space.name))
        return rounded
    }

    struct OpenedLatency {
        var device: DeviceProfile
        var tablePath: String
        var predictor: LatencyPredictor
        /// The table's nominal reference time: the winner is timed at the same speed as its blocks.
        var nominalReferenceMicroseconds: Double?
    }

    /// The predictor for the device's table, or nil when no device is given; refuses a table
    /// that lacks any block the space can produce, naming the command that fills it.
    private func openLatency(space: SearchSpaceUnion, deviceID: String?, devicePath: String?, tablePath: String?) throws -> OpenedLatency? {
        guard let devicePath else {
            if deviceID != nil { throw CommandFailure.badInput("this run was started with device \(deviceID!): resume it with its --device") }
            return nil
        }
        let profile = try loadDevice(devicePath)
        if let deviceID, profile.id != deviceID {
            throw CommandFailure.badInput("\(devicePath) describes device \(profile.id), but this run was started on \(deviceID)")
        }
        let tablePath = tablePath ?? "latency-tables/\(profile.id).sqlite"
        let spaceOptions = self.space.isEmpty ? "--space SPACE" : self.space.map { "--space \($0)" }.joined(separator: " ")
        let profileCommand = "edgenas profile \(spaceOptions) --device \(devicePath) --table \(tablePath)"
        guard FileManager.default.fileExists(atPath: tablePath) else {
            throw CommandFailure.badInput("\(tablePath): no latency table for device \(profile.id); fill it with `\(profileCommand)`")
        }
        let latencyTable = try openTable(tablePath, device: profile, create: false)
        let missing = try withCommandErrors { try latencyTable.missingSignatures(space.blockSignatures()) }
        if !missing.isEmpty {
            let shown = missing.prefix(3).map(\.key).joined(separator: ", ")
            throw CommandFailure.badInput("\(tablePath) lacks \(missing.count) block(s) of space \(space.name) "
                + "(first: \(shown)); fill them with `\(profileCommand)`")
        }
        return OpenedLatency(device: profile, tablePath: tablePath, predictor: try withCommandErrors { try LatencyPredictor(table: latencyTable) },
                             nominalReferenceMicroseconds: try withCommandErrors { try latencyTable.metadata().referenceNominalMicroseconds })
    }

    private func exportWinner(_ architecture: Architecture, to path: String, latency: OpenedLatency?, settings: SearchSettings,
                              predicted: Double?) throws -> WinnerExport {
        let url = URL(fileURLWithPath: path)
        try outputFailure {
            try OutputPath.checkFolder(url.deletingLastPathComponent().path, option: "--export", create: true)
            try OutputPath.checkFile(path, option: "--export")
        }
        let trainEpochs = settings.trainEpochs ?? 0
        let network = NetworkBuilder.network(for: architecture, seed: settings.seed)
        var accuracy: Double?
        var metadata: [String: String] = [:]
        var recordedPreprocessing: InputPreprocessing?
        if trainEpochs > 0 {
            let images = settings.imagesPath!
            log("training the winner \(architecture.id) for \(trainEpochs) epoch(s) on \(images)")
            let (whole, test) = try loadDataset(images, input: architecture.input, classes: architecture.classes)
            let prepared = TrainingData(whole: whole, test: test, input: architecture.input, validationShare: 0.1)
            // The reference recipe with batch 256 and a shorter warm-up, so that a quick 1-epoch
            // run takes 235 steps instead of 59, none of them all warm-up; a small dataset gets
            // smaller batches, so that an epoch still has about 50 steps.
            let batchSize = max(2, min(256, prepared.training.count / 50))
            let configuration = TrainingConfiguration(epochs: trainEpochs, batchSize: batchSize,
                                                      warmupEpochs: min(1, 0.2 * Double(trainEpochs)), seed: settings.seed)
            let trainer = ClassifierTrainer(configuration: configuration, batcher: prepared.batcher)
            _ = try runTraining(network, trainer: trainer, training: prepared.training, validation: prepared.validationSet, log: log)
            accuracy = prepared.test.map { ClassifierTrainer.accuracy(of: network, on: $0, batcher: trainer.batcher) * 100 }
            metadata[InputPreprocessing.metadataKey] = try withCommandErrors { try prepared.preprocessing.jsonString() }
            recordedPreprocessing = prepared.preprocessing
        }
        network.setTrainingMode(false)
        do {
            try ONNXExporter.model(for: architecture, network: network, metadata: metadata).write(to: url)
        } catch let error as ONNXExportError {
            if case .checkerRejected = error { throw CommandFailure.internalError("\(error)") }
            throw CommandFailure.badInput("\(error)")
        }
        var measured: LatencyMeasurement?
        if let latency {
            log("timing \(path) on \(latency.device.id)")
            do {
                // The engine cannot run .onnx files: a native device times the network itself
                // (latency does not depend on the weights).
                let meter = try ModelLatencyMeter(device: latency.device, nominalReferenceMicroseconds: latency.nominalReferenceMicroseconds)
                measured = try (latency.device.runtime == .native ? meter.measure(architecture) : meter.measure(modelAt: url))
            } catch {
                throw CommandFailure.internalError("timing the exported winner failed: \(error)")
            }
        }
        var export = WinnerExport(path: path, measuredLatencyMilliseconds: measured?.medianMilliseconds, predictedLatencyMilliseconds: predicted,
                                  latencyLimitMilliseconds: settings.constraints.maxLatencyMilliseconds, testAccuracyPercent: accuracy,
                                  trainingEpochs: trainEpochs, architectureID: architecture.id)
        export.preprocessing = recordedPreprocessing
        export.typicalLatencyMilliseconds = measured?.drift?.typicalMedianMilliseconds
        export.machineSlowdown = measured?.drift?.slowdown
        return export
    }

    private func printResult(winner: LeaderboardEntry, export: WinnerExport, folder: URL, leaderboard: Leaderboard) throws {
        if json {
            var object: [String: Any] = [
                "run": folder.path, "winner": winner.id, "params": winner.params, "flops": winner.flops,
                "total_score": winner.total, "candidates": leaderboard.entries.count, "export": export.path,
                "scores": winner.scores,
            ]
            object["predicted_latency_ms"] = winner.predictedLatencyMilliseconds
            object["measured_latency_ms"] = export.measuredLatencyMilliseconds
            object["latency_limit_met"] = export.meetsLatencyLimit
            object["test_accuracy_percent"] = export.testAccuracyPercent
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("winner \(winner.id): Params \(winner.params), FLOPs \(winner.flops), total score \(String(format: "%.3f", winner.total))")
        if let predicted = winner.predictedLatencyMilliseconds {
            var line = String(format: "latency: predicted %.3f ms", predicted)
            if let measured = export.measuredLatencyMilliseconds {
                line += String(format: ", measured %.3f ms in the deployment runtime (%+.1f%%)", measured, (export.predictionError ?? 0) * 100)
            }
            if let limit = export.latencyLimitMilliseconds {
                line += String(format: "; limit %.3f ms %@", limit, export.meetsLatencyLimit == false ? "NOT met" : "met")
            }
            print(line)
        }
        if let accuracy = export.testAccuracyPercent {
            print(String(format: "test accuracy after %d epoch(s): %.2f%%", export.trainingEpochs, accuracy))
        }
        print("exported \(export.path)")
        print("run folder \(folder.path): winner.json, leaderboard.csv/.jsonl, pareto.svg, report.md")
    }

    /// The training part of --images at the space's input shape, its classes checked.
    private func loadTrainingImages(_ path: String, space: SearchSpaceUnion) throws -> ImageDataset {
        try loadDataset(path, input: space.input, classes: space.classes).training
    }

    /// The candidate scorer before the final stage: the probes (data generated once from the
    /// seed, at the space's resolution) for `pipeline` and `probes`, Params for `task` (its
    /// screening is the capacity prior alone), or a zero-cost proxy.
    private func makeScorer(named name: String, space: SearchSpaceUnion, images: ImageDataset, settings: SearchSettings) throws -> CandidateScorer {
        let seed = settings.seed
        let mode = SelectionMode(rawValue: name)
        if mode == .task || (mode == .pipeline && settings.effectiveFinalStageShare >= 1) {
            return ProxyCandidateScorer(proxy: .params, batch: ProxyBatch(images: Tensor.zeros([1, 1, 1, 1]), labels: [0]))
        }
        if mode != nil {
            var configuration = ProbeConfiguration()
            configuration.resolution = space.input.height
            do {
                let scorer = ProbeCandidateScorer(suite: try ProbeSuite(configuration: configuration, images: images, seed: seed), runs: runs)
                scorer.onShrink = { log($0) }
                return scorer
            } catch {
                throw CommandFailure.badInput("\(error)")
            }
        }
        guard let proxy = ZeroCostProxy(rawValue: name) else {
            throw CommandFailure.badInput("--scorer \(name): expected pipeline, probes, task, "
                + ZeroCostProxy.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return ProxyCandidateScorer(proxy: proxy, batch: ProxyBatch(dataset: images, count: 64, seed: seed))
    }

    private func log(_ message: String) {
        writeToStandardError(message + "\n")
    }

    /// An output location that cannot be written is bad input naming the option.
    private func outputFailure<Value>(_ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let problem as OutputPath.Problem { throw CommandFailure.badInput("\(problem)") }
        catch let error as CommandFailure { throw error }
        catch { throw CommandFailure.badInput("cannot write the run's outputs in \(outPath): \(OutputPath.systemReason(of: error))") }
    }

    private func searchFailure<Value>(_ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let error as SearchError { throw CommandFailure.badInput(error.description) }
        catch { throw CommandFailure.badInput("\(error)") }
    }
}

extension SearchStrategyKind: ExpressibleByArgument {}
