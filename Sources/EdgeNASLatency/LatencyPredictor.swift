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

    public init(predictedMilliseconds: Double, blocks: [BlockLatency], uncalibratedMilliseconds: Double,
                runOverheadMilliseconds: Double, calibrated: Bool) {
        self.predictedMilliseconds = predictedMilliseconds
        self.blocks = blocks
        self.uncalibratedMilliseconds = uncalibratedMilliseconds
        self.runOverheadMilliseconds = runOverheadMilliseconds
        self.calibrated = calibrated
    }

    enum CodingKeys: String, CodingKey {
        case blocks, calibrated
        case predictedMilliseconds = "predicted_ms", uncalibratedMilliseconds = "uncalibrated_ms"
        case runOverheadMilliseconds = "run_overhead_ms"
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
/// The table is read once, at creation: a predictor is a cheap, immutable value that a
/// search can call millions of times from any thread.
public struct LatencyPredictor: Sendable {
    /// The device id of the table.
    public let deviceID: String
    private let tablePath: String
    private let medianMicroseconds: [String: Double]
    private let overheadMicroseconds: Double
    private let calibrations: [String: LatencyCalibration]

    /// Reads every block latency, the overhead and the calibration of `table`.
    public init(table: LatencyTable) throws {
        let metadata = try table.metadata()
        deviceID = metadata.deviceID
        tablePath = table.path
        let stored = try table.latencies(for: Array(try table.storedKeys()))
        medianMicroseconds = stored.mapValues(\.medianMicroseconds)
        overheadMicroseconds = metadata.runOverheadMicroseconds ?? 0
        calibrations = try table.calibrations()
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
        for signature in signatures {
            guard let median = medianMicroseconds[signature.key] else {
                if seenMissing.insert(signature.key).inserted { missing.append(signature.key) }
                continue
            }
            let own = max(median - overheadMicroseconds, 0)
            sumMicroseconds += own
            blocks.append(BlockLatency(signature: signature.key, medianMilliseconds: own / 1000))
        }
        guard missing.isEmpty else {
            throw LatencyError.missingSignatures(path: tablePath, deviceID: deviceID, missing: missing,
                                                 missingCount: missing.count)
        }
        let calibration = calibrations[family.rawValue]
        let predicted = calibration.map { $0.slope * sumMicroseconds + $0.interceptMicroseconds } ?? sumMicroseconds
        return LatencyPrediction(predictedMilliseconds: predicted / 1000, blocks: blocks,
                                 uncalibratedMilliseconds: sumMicroseconds / 1000,
                                 runOverheadMilliseconds: overheadMicroseconds / 1000, calibrated: calibration != nil)
    }
}
