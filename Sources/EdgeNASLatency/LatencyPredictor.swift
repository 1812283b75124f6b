import EdgeNASCore
import Foundation

/// One block's share of a prediction.
public struct BlockLatency: Sendable, Codable, Equatable {
    /// The block's signature key.
    public var signature: String
    /// The block's median minus the per-run overhead (never below 0), in milliseconds.
    public var medianMilliseconds: Double

    public init(signature: String, medianMilliseconds: Double) {
        self.signature = signature
        self.medianMilliseconds = medianMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case signature
        case medianMilliseconds = "median_ms"
    }
}

/// A predicted end-to-end latency and the blocks it is made of.
public struct LatencyPrediction: Sendable, Codable, Equatable {
    /// slope · (Σ blocks + overhead) + intercept, in milliseconds.
    public var predictedMilliseconds: Double
    /// The blocks in model order.
    public var blocks: [BlockLatency]
    /// Σ blocks + overhead before the calibration line, in milliseconds.
    public var uncalibratedMilliseconds: Double
    /// The runtime's fixed cost per call, counted once for the whole model, in milliseconds.
    public var runOverheadMilliseconds: Double
    /// Whether a calibration fit was applied.
    public var calibrated: Bool
    /// The factor the calibration models that share this architecture's blocks put on the
    /// family's line (1 without calibration models): `predicted = line · localCorrection`.
    public var localCorrection: Double

    /// The family's calibration line alone, before the local correction, in milliseconds.
    public var lineMilliseconds: Double { predictedMilliseconds / localCorrection }

    public init(predictedMilliseconds: Double, blocks: [BlockLatency], uncalibratedMilliseconds: Double,
                runOverheadMilliseconds: Double, calibrated: Bool, localCorrection: Double = 1) {
        self.predictedMilliseconds = predictedMilliseconds
        self.blocks = blocks
        self.uncalibratedMilliseconds = uncalibratedMilliseconds
        self.runOverheadMilliseconds = runOverheadMilliseconds
        self.calibrated = calibrated
        self.localCorrection = localCorrection
    }

    enum CodingKeys: String, CodingKey {
        case blocks, calibrated
        case predictedMilliseconds = "predicted_ms", uncalibratedMilliseconds = "uncalibrated_ms"
        case runOverheadMilliseconds = "run_overhead_ms", localCorrection = "local_correction"
    }
}

/// Predicts a model's latency from a table instead of running it:
///
///     predicted = slope · (Σᵢ max(medianᵢ − overhead, 0) + overhead) + intercept
///
/// Each block graph pays the runtime's fixed per-call cost that the whole model pays once,
/// so it is taken off every block and added back once; the calibration line (slope 1,
/// intercept 0 before `profile --calibrate`) absorbs what remains, such as the data
/// movement between blocks inside one graph.
///
/// What remains depends on the blocks, not only on their sum: on this VM whole ViTs of
/// 16 tokens × 128 channels ran about 8 % over their blocks' sum and those of 49 × 96 about
/// 20 %, so one line per family missed them by −5 % to +12 %, the same models in every
/// validation. The calibration models that share an architecture's blocks therefore
/// correct the line locally; see ``LocalCalibration``.
///
/// The table is read once, at creation: a predictor is a cheap, immutable value that a
/// search can call millions of times from any thread.
public struct LatencyPredictor: Sendable {
    /// The device id of the table.
    public let deviceID: String
    private let tablePath: String
    private let medianMicroseconds: [String: Double]
    private let overheadMicroseconds: Double
    private let calibrations: [String: LatencyCalibration]
    private let localCalibrations: [String: LocalCalibration]

    /// Reads every block latency, the overhead, the calibration lines and the calibration
    /// models of `table`.
    public init(table: LatencyTable) throws {
        let metadata = try table.metadata()
        deviceID = metadata.deviceID
        tablePath = table.path
        let stored = try table.latencies(for: Array(try table.storedKeys()))
        medianMicroseconds = stored.mapValues(\.medianMicroseconds)
        overheadMicroseconds = metadata.runOverheadMicroseconds ?? 0
        calibrations = try table.calibrations()
        var localCalibrations: [String: LocalCalibration] = [:]
        let samples = Dictionary(grouping: try table.calibrationSamples(), by: \.family)
        for (family, calibration) in calibrations {
            localCalibrations[family] = LocalCalibration(samples: samples[family] ?? [], line: calibration) { [medianMicroseconds, overheadMicroseconds] key in
                medianMicroseconds[key].map { max($0 - overheadMicroseconds, 0) }
            }
        }
        self.localCalibrations = localCalibrations
    }

    /// - Throws: ``LatencyError/missingSignatures(path:deviceID:missing:missingCount:)``
    ///   naming the first missing blocks and the `edgenas profile` command that fills them.
    public func predict(_ architecture: Architecture) throws -> LatencyPrediction {
        try predict(signatures: architecture.blockSignatures(), family: architecture.family)
    }

    /// The prediction for blocks in model order, calibrated with `family`'s line if any.
    public func predict(signatures: [BlockSignature], family: ArchitectureFamily) throws -> LatencyPrediction {
        var missing: [String] = []
        var seenMissing: Set<String> = []
        var blocks: [BlockLatency] = []
        blocks.reserveCapacity(signatures.count)
        var sumMicroseconds = overheadMicroseconds
        // Per-signature times only where calibration models can use them: the search
        // predicts every draw, mostly on tables without calibration models.
        let local = localCalibrations[family.rawValue].flatMap { $0.hasModels ? $0 : nil }
        var ownMicroseconds: [String: Double] = [:]
        for signature in signatures {
            guard let median = medianMicroseconds[signature.key] else {
                if seenMissing.insert(signature.key).inserted { missing.append(signature.key) }
                continue
            }
            let own = max(median - overheadMicroseconds, 0)
            sumMicroseconds += own
            if local != nil { ownMicroseconds[signature.key, default: 0] += own }
            blocks.append(BlockLatency(signature: signature.key, medianMilliseconds: own / 1000))
        }
        guard missing.isEmpty else {
            throw LatencyError.missingSignatures(path: tablePath, deviceID: deviceID, missing: missing,
                                                 missingCount: missing.count)
        }
        let calibration = calibrations[family.rawValue]
        let line = calibration.map { $0.slope * sumMicroseconds + $0.interceptMicroseconds } ?? sumMicroseconds
        let correction = local?.correction(ownMicroseconds: ownMicroseconds) ?? 1
        return LatencyPrediction(predictedMilliseconds: line * correction / 1000, blocks: blocks,
                                 uncalibratedMilliseconds: sumMicroseconds / 1000,
                                 runOverheadMilliseconds: overheadMicroseconds / 1000, calibrated: calibration != nil,
                                 localCorrection: correction)
    }
}

/// The calibration models of one family, as corrections of its line for the architectures
/// that share their blocks.
///
/// Each calibration model i has a ratio rᵢ = measured / line. A new architecture weighs it
/// by the block time they share, wᵢ = Σ_signatures min(own time here, own time there) /
/// max(total here, total there), in [0, 1], and its correction is the weighted median of
/// the rᵢ together with the line itself (ratio 1, weight 1). An architecture that shares
/// nothing keeps the line; a single model never outweighs it, and one calibration model
/// timed in a slow moment moves no prediction, where a weighted mean followed it (on a
/// table calibrated during a compile, ViT MAPE 2.2 % against the line's 1.75 %).
struct LocalCalibration: Sendable {
    /// Per signature: the calibration models that contain it and their own time of it, µs.
    private let containing: [String: [(model: Int, microseconds: Double)]]
    /// Each model's total own block time, µs.
    private let totals: [Double]
    private let ratios: [Double]
    static let lineWeight = 1.0
    /// Whether any calibration model was usable; without one every correction is 1.
    var hasModels: Bool { !totals.isEmpty }

    /// - Parameter ownMicroseconds: a block's median less the run overhead, nil when the
    ///   table lacks it (such a model is left out, as is one whose JSON no longer decodes).
    init(samples: [CalibrationSample], line: LatencyCalibration, ownMicroseconds: (String) -> Double?) {
        var containing: [String: [(model: Int, microseconds: Double)]] = [:]
        var totals: [Double] = [], ratios: [Double] = []
        for sample in samples {
            guard let architecture = try? Architecture(jsonData: Data(sample.architecture.utf8)) else { continue }
            var own: [String: Double] = [:]
            var complete = true
            for signature in architecture.blockSignatures() {
                guard let value = ownMicroseconds(signature.key) else { complete = false; break }
                own[signature.key, default: 0] += value
            }
            let total = own.values.reduce(0, +)
            let lineMicroseconds = line.slope * sample.blockSumMicroseconds + line.interceptMicroseconds
            guard complete, total > 0, lineMicroseconds > 0, sample.measuredMedianMicroseconds.isFinite else { continue }
            for (key, value) in own { containing[key, default: []].append((totals.count, value)) }
            totals.append(total)
            ratios.append(sample.measuredMedianMicroseconds / lineMicroseconds)
        }
        self.containing = containing
        self.totals = totals
        self.ratios = ratios
    }

    /// The factor on the line for an architecture with these own block times per signature.
    func correction(ownMicroseconds: [String: Double]) -> Double {
        guard !totals.isEmpty else { return 1 }
        let total = ownMicroseconds.values.reduce(0, +)
        guard total > 0 else { return 1 }
        var shared = [Double](repeating: 0, count: totals.count)
        for (key, value) in ownMicroseconds {
            for entry in containing[key] ?? [] { shared[entry.model] += min(value, entry.microseconds) }
        }
        var votes: [(ratio: Double, weight: Double)] = [(1, Self.lineWeight)]
        for model in totals.indices where shared[model] > 0 {
            votes.append((ratios[model], shared[model] / max(total, totals[model])))
        }
        guard votes.count > 1 else { return 1 }
        votes.sort { $0.ratio < $1.ratio }
        let half = votes.reduce(0) { $0 + $1.weight } / 2
        var cumulative = 0.0
        for vote in votes {
            cumulative += vote.weight
            if cumulative >= half { return vote.ratio }
        }
        return votes[votes.count - 1].ratio
    }
}
