import EdgeNASCore
import EdgeNASSelection
import Foundation

/// The options a user passed to `edgenas search`, each nil when not given.
///
/// A new run fills the gaps with ``SearchSettings/Defaults``; a resumed run compares only
/// what was given with what it stored (``SearchSettings/conflicts(with:)``), so options
/// left at their defaults never read as changes.
public struct SearchRequest: Sendable {
    public var space: SearchSpaceUnion?
    public var deviceID: String?
    public var maxParams: Int?
    public var maxFLOPs: Int?
    public var maxLatencyMilliseconds: Double?
    public var maxLatencyQuantile: Double?
    public var budgetSeconds: Double?
    public var candidateCount: Int?
    public var strategy: SearchStrategyKind?
    public var seed: UInt64?
    public var scorer: String?
    public var population: Int?
    public var tournament: Int?
    /// `--final-stage-share` (pipeline scorer) and `--prior-weight` (pipeline and task).
    public var finalStageShare: Double?
    public var capacityPriorWeight: Double?
    public var attemptsPerCandidate: Int?
    /// The MNIST-format directory of real images, as an absolute path.
    public var imagesPath: String?
    public var trainEpochs: Int?
    /// Where the winner is exported, as an absolute path.
    public var exportPath: String?
    /// "fp32" or "bf16".
    public var matmulPrecision: String?

    public init(space: SearchSpaceUnion? = nil, deviceID: String? = nil, maxParams: Int? = nil, maxFLOPs: Int? = nil,
                maxLatencyMilliseconds: Double? = nil, maxLatencyQuantile: Double? = nil, budgetSeconds: Double? = nil,
                candidateCount: Int? = nil, strategy: SearchStrategyKind? = nil, seed: UInt64? = nil, scorer: String? = nil,
                population: Int? = nil, tournament: Int? = nil, finalStageShare: Double? = nil, capacityPriorWeight: Double? = nil,
                attemptsPerCandidate: Int? = nil, imagesPath: String? = nil, trainEpochs: Int? = nil, exportPath: String? = nil,
                matmulPrecision: String? = nil) {
        self.space = space
        self.deviceID = deviceID
        self.maxParams = maxParams
        self.maxFLOPs = maxFLOPs
        self.maxLatencyMilliseconds = maxLatencyMilliseconds
        self.maxLatencyQuantile = maxLatencyQuantile
        self.budgetSeconds = budgetSeconds
        self.candidateCount = candidateCount
        self.strategy = strategy
        self.seed = seed
        self.scorer = scorer
        self.population = population
        self.tournament = tournament
        self.finalStageShare = finalStageShare
        self.capacityPriorWeight = capacityPriorWeight
        self.attemptsPerCandidate = attemptsPerCandidate
        self.imagesPath = imagesPath
        self.trainEpochs = trainEpochs
        self.exportPath = exportPath
        self.matmulPrecision = matmulPrecision
    }

    /// `path` made absolute against the current directory and standardised, so that a run
    /// resumed from another directory finds the same files and compares paths fairly.
    public static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

extension SearchSettings {
    /// The values of options a new run was not given.
    public enum Defaults {
        public static let budgetSeconds = 1200.0
        public static let candidateCount = 20
        public static let strategy = SearchStrategyKind.random
        public static let seed: UInt64 = 0
        public static let scorer = SelectionMode.pipeline.rawValue
        public static let finalStageShare = SelectionSettings.defaultFinalStageShare
        public static let capacityPriorWeight = FinalStageSettings().capacityPriorWeight
        public static let population = 8
        public static let tournament = 3
        public static let attemptsPerCandidate = 2000
        public static let trainEpochs = 0
        public static let matmulPrecision = "fp32"
    }

    /// A new run's settings: everything `request` gives, defaults for the rest.
    ///
    /// - Parameters:
    ///   - maxLatencyMilliseconds: the latency limit in force (given, or resolved from the quantile).
    ///   - runID: the run's identity, which names its default export.
    ///   - imagesPath: the images to use when the request names none.
    ///   - exportPath: the export to write when the request names none.
    public init(newRun request: SearchRequest, space: SearchSpaceUnion, maxLatencyMilliseconds: Double?, runID: String,
                imagesPath: String, exportPath: String) {
        // The final-stage options are stored only for the scorers that read them.
        let scorer = request.scorer ?? Defaults.scorer
        let mode = SelectionMode(rawValue: scorer)
        self.init(
            spaceName: space.name, spaceJSON: space.canonicalJSON, deviceID: request.deviceID,
            constraints: SearchConstraints(maxParams: request.maxParams, maxFLOPs: request.maxFLOPs,
                                           maxLatencyMilliseconds: maxLatencyMilliseconds),
            budgetSeconds: request.budgetSeconds ?? Defaults.budgetSeconds,
            candidateCount: request.candidateCount ?? Defaults.candidateCount,
            strategy: request.strategy ?? Defaults.strategy, seed: request.seed ?? Defaults.seed,
            scorer: scorer, population: request.population ?? Defaults.population,
            tournament: request.tournament ?? Defaults.tournament,
            finalStageShare: mode == .pipeline ? request.finalStageShare ?? Defaults.finalStageShare : nil,
            capacityPriorWeight: mode == nil || mode == .probes ? nil : request.capacityPriorWeight ?? Defaults.capacityPriorWeight)
        self.runID = runID
        maxLatencyQuantile = request.maxLatencyQuantile
        attemptsPerCandidate = request.attemptsPerCandidate ?? Defaults.attemptsPerCandidate
        self.imagesPath = request.imagesPath ?? imagesPath
        trainEpochs = request.trainEpochs ?? Defaults.trainEpochs
        self.exportPath = request.exportPath ?? exportPath
        matmulPrecision = request.matmulPrecision ?? Defaults.matmulPrecision
    }

    /// Each option of `request` that differs from what this run stored, as
    /// `--name (the run has X, given Y)`, in the order of the command's options. Options not
    /// given never conflict, and neither do options a run from an older EdgeNAS did not
    /// record (``completed(from:)`` adopts those).
    public func conflicts(with request: SearchRequest) -> [String] {
        var found: [String] = []
        func check<Value: Equatable>(_ name: String, stored: Value?, given: Value?, shown: (Value) -> String = { "\($0)" }) {
            guard let given, let stored, stored != given else { return }
            found.append("\(name) (the run has \(shown(stored)), given \(shown(given)))")
        }
        if let space = request.space, space.canonicalJSON != spaceJSON {
            found.append("--space (the run has \(spaceName), given \(space.name)\(space.name == spaceName ? " with other choices" : ""))")
        }
        if let given = request.deviceID, given != deviceID {
            found.append("--device (the run has \(deviceID ?? "none"), given \(given))")
        }
        check("--max-params", stored: constraints.maxParams ?? 0, given: request.maxParams) { $0 == 0 ? "none" : "\($0)" }
        check("--max-flops", stored: constraints.maxFLOPs ?? 0, given: request.maxFLOPs) { $0 == 0 ? "none" : "\($0)" }
        check("--max-latency-ms", stored: constraints.maxLatencyMilliseconds ?? 0, given: request.maxLatencyMilliseconds) {
            $0 == 0 ? "none" : String(format: "%.3f", $0)
        }
        // A run that records its options (it has a run id) and no quantile had none; for an
        // older run without a latency limit there was none either; otherwise it is unknown.
        let storedQuantile = maxLatencyQuantile ?? (runID != nil || constraints.maxLatencyMilliseconds == nil ? 0 : nil)
        check("--max-latency-quantile", stored: storedQuantile, given: request.maxLatencyQuantile) { $0 == 0 ? "none" : "\($0)" }
        check("--budget", stored: budgetSeconds, given: request.budgetSeconds) { "\(Int($0)) s" }
        check("--candidates", stored: candidateCount, given: request.candidateCount)
        check("--strategy", stored: strategy, given: request.strategy) { $0.rawValue }
        if strategy == .evolution {
            // Random search never reads them, so they cannot change its outputs.
            check("--population", stored: population, given: request.population)
            check("--tournament", stored: tournament, given: request.tournament)
        }
        check("--scorer", stored: scorer, given: request.scorer)
        // Stored only when the scorer reads them; otherwise they cannot change the outputs.
        check("--final-stage-share", stored: finalStageShare, given: request.finalStageShare)
        check("--prior-weight", stored: capacityPriorWeight, given: request.capacityPriorWeight)
        check("--seed", stored: seed, given: request.seed)
        check("--attempts", stored: attemptsPerCandidate, given: request.attemptsPerCandidate)
        check("--images", stored: imagesPath, given: request.imagesPath)
        check("--train-epochs", stored: trainEpochs, given: request.trainEpochs)
        check("--export", stored: exportPath, given: request.exportPath)
        // Older runs did not record it, and scored in fp32.
        check("--matmul-precision", stored: matmulPrecision ?? Defaults.matmulPrecision, given: request.matmulPrecision)
        return found
    }

    /// These settings with what a run from an older EdgeNAS did not record taken from
    /// `request`, or else from the defaults that run used (its export went to
    /// `exports/NAME.onnx`, `legacyExportPath`).
    public func completed(from request: SearchRequest, imagesPath defaultImagesPath: String,
                          legacyExportPath: String) -> SearchSettings {
        var settings = self
        settings.attemptsPerCandidate = attemptsPerCandidate ?? request.attemptsPerCandidate ?? Defaults.attemptsPerCandidate
        settings.imagesPath = imagesPath ?? request.imagesPath ?? defaultImagesPath
        settings.trainEpochs = trainEpochs ?? request.trainEpochs ?? Defaults.trainEpochs
        settings.exportPath = exportPath ?? request.exportPath ?? legacyExportPath
        settings.matmulPrecision = matmulPrecision ?? Defaults.matmulPrecision
        return settings
    }

    /// The same comparison between two whole sets of settings.
    public func differences(from other: SearchSettings) -> [String] {
        conflicts(with: SearchRequest(
            space: try? SearchSpaceUnion(canonicalJSON: Data(other.spaceJSON.utf8)), deviceID: other.deviceID,
            maxParams: other.constraints.maxParams ?? 0, maxFLOPs: other.constraints.maxFLOPs ?? 0,
            maxLatencyMilliseconds: other.constraints.maxLatencyMilliseconds ?? 0, maxLatencyQuantile: other.maxLatencyQuantile,
            budgetSeconds: other.budgetSeconds, candidateCount: other.candidateCount, strategy: other.strategy, seed: other.seed,
            scorer: other.scorer, population: other.strategy == .evolution ? other.population : nil,
            tournament: other.strategy == .evolution ? other.tournament : nil,
            finalStageShare: other.finalStageShare, capacityPriorWeight: other.capacityPriorWeight,
            attemptsPerCandidate: other.attemptsPerCandidate, imagesPath: other.imagesPath, trainEpochs: other.trainEpochs,
            exportPath: other.exportPath, matmulPrecision: other.matmulPrecision))
    }
}
