import EdgeNASCore
import Foundation

/// Fills a latency table: measures each missing block signature and commits it at once,
/// then optionally times whole models to fit the calibration line.
///
/// ```swift
/// let profiler = try LatencyProfiler(device: device, table: table)
/// let outcome = try profiler.profile(space.blockSignatures(), shouldStop: { false }) { done, total in }
/// ```
public struct LatencyProfiler {
    /// Rough cost of building, exporting and loading one block graph, for estimates.
    public static let estimatedSetupMilliseconds = 15.0
    /// Rough cost of one run of one block at batch 1 on a small board, for estimates.
    public static let estimatedRunMilliseconds = 0.1

    /// The device measured.
    public let device: DeviceProfile
    /// Where measurements go.
    public let table: LatencyTable
    let timer: DeviceTimer

    /// - Throws: ``LatencyError/runtimeUnavailable(_:)`` when the runtime cannot be loaded,
    ///   ``LatencyError/tooManyThreads(deviceID:threads:available:)`` when the device has more
    ///   threads than this machine has cores (`availableCores`, by default this machine's).
    public init(device: DeviceProfile, table: LatencyTable,
                availableCores: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        guard device.threads <= availableCores else {
            throw LatencyError.tooManyThreads(deviceID: device.id, threads: device.threads, available: availableCores)
        }
        self.device = device
        self.table = table
        timer = try DeviceTimer(device: device)
        guard applyAffinity(device.cpuAffinity) else {
            throw LatencyError.affinityRefused(deviceID: device.id, cores: device.cpuAffinity ?? [],
                                               available: ProcessInfo.processInfo.activeProcessorCount)
        }
    }

    /// The runtime's version as stored in the table.
    public var runtimeVersion: String { timer.runtimeVersion }

    /// Estimated seconds to measure `signatureCount` blocks on `device`.
    public static func estimatedSeconds(signatureCount: Int, device: DeviceProfile) -> Double {
        let perBlock = estimatedSetupMilliseconds + Double(device.warmupRuns + device.timedRuns) * estimatedRunMilliseconds
        return Double(signatureCount) * perBlock / 1000
    }

    /// What a profile run did.
    public struct Outcome: Sendable, Equatable {
        /// Blocks measured and stored by this run.
        public var measured: Int
        /// Blocks that were already in the table, or that another profiler stored meanwhile.
        public var alreadyStored: Int
        /// Blocks still missing (nonzero only when stopped early).
        public var remaining: Int
        /// Whether `shouldStop` ended the run.
        public var interrupted: Bool
    }

    /// Records the host state and run overhead, then measures every signature the table
    /// lacks, committing each one as it completes.
    ///
    /// - Parameters:
    ///   - shouldStop: asked before each block; true ends the run with what was stored.
    ///   - progress: called with (done, total) over the missing blocks.
    public func profile(_ signatures: [BlockSignature], shouldStop: () -> Bool = { false },
                        progress: (Int, Int) -> Void = { _, _ in }) throws -> Outcome {
        let missing = try table.missingSignatures(signatures)
        let alreadyStored = Set(signatures.map(\.key)).count - missing.count
        try prepareTable()
        var measured = 0, storedElsewhere = 0
        progress(0, missing.count)
        for (index, signature) in missing.enumerated() {
            if shouldStop() {
                return Outcome(measured: measured, alreadyStored: alreadyStored + storedElsewhere,
                               remaining: missing.count - index, interrupted: true)
            }
            // A second profiler on the same table may have measured it since the run started.
            if try table.contains(signature) {
                storedElsewhere += 1
            } else {
                let measurement = try timer.measure(signature.block)
                let stored = try table.record(signature, measurement, runtime: device.runtime,
                                              runtimeVersion: timer.runtimeVersion, threads: device.threads)
                if stored { measured += 1 } else { storedElsewhere += 1 }
            }
            progress(index + 1, missing.count)
        }
        return Outcome(measured: measured, alreadyStored: alreadyStored + storedElsewhere, remaining: 0,
                       interrupted: false)
    }

    /// Stores the host state and, on the table's first run, the runtime's per-call overhead.
    public func prepareTable() throws {
        let host = HostState.current()
        try table.recordProfileRun(ProfileRunRecord(
            startedAt: LatencyTable.timestamp(), cpuModel: host.cpuModel, governor: host.governor,
            loadAverage1m: host.loadAverage1m, coreCount: host.coreCount, runtimeVersion: timer.runtimeVersion))
        let overhead = try table.metadata().runOverheadMicroseconds == nil ? try timer.runOverheadMicroseconds() : nil
        try table.recordRuntime(version: timer.runtimeVersion, runOverheadMicroseconds: overhead)
    }

    /// Times `architectures` (of one family) end to end, skipping those already timed,
    /// stores each as a calibration sample when done, then fits and stores
    /// `measured = a · sum + b` over all the table's samples of that family.
    ///
    /// - Returns: the fit, or nil when stopped early (the samples stored so far are kept).
    /// - Throws: ``LatencyError/missingSignatures(path:deviceID:missing:missingCount:)`` when
    ///   blocks are not profiled yet; ``LatencyError/tooFewCalibrationModels(_:)``.
    public func calibrate(_ architectures: [Architecture], shouldStop: () -> Bool = { false },
                          progress: (Int, Int) -> Void = { _, _ in }) throws -> LatencyCalibration? {
        let done = Set(try table.calibrationSamples().map(\.architectureID))
        let todo = architectures.filter { !done.contains($0.id) }
        // Predictions before calibration: the fit maps the uncalibrated sum.
        let predictor = try LatencyPredictor(table: table)
        progress(0, todo.count)
        for (index, architecture) in todo.enumerated() {
            if shouldStop() { return nil }
            let sum = try predictor.predict(architecture).uncalibratedMilliseconds
            let measured = try timer.measure(architecture)
            try table.recordCalibrationSample(CalibrationSample(
                architectureID: architecture.id, family: architecture.family.rawValue,
                architecture: architecture.canonicalJSON,
                blockSumMicroseconds: sum * 1000, measuredMedianMicroseconds: measured.medianMilliseconds * 1000,
                measuredAt: LatencyTable.timestamp()))
            progress(index + 1, todo.count)
        }
        guard let family = architectures.first?.family.rawValue else {
            throw LatencyError.tooFewCalibrationModels(0)
        }
        let samples = try table.calibrationSamples().filter { $0.family == family }
        let calibration = try LatencyCalibration.fit(samples, family: family, fittedAt: LatencyTable.timestamp())
        try table.saveCalibration(calibration)
        return calibration
    }
}

/// Predicted against measured latencies of fresh architectures.
public struct LatencyValidation: Sendable, Codable, Equatable {
    /// One architecture's prediction and measurement.
    public struct Sample: Sendable, Codable, Equatable {
        public var architectureID: String
        public var predictedMilliseconds: Double
        public var measuredMilliseconds: Double
        /// (predicted − measured) / measured · 100.
        public var errorPercent: Double

        enum CodingKeys: String, CodingKey {
            case architectureID = "architecture_id", predictedMilliseconds = "predicted_ms"
            case measuredMilliseconds = "measured_ms", errorPercent = "error_percent"
        }
    }

    public var deviceID: String
    public var samples: [Sample]
    /// Fraction of samples with |error| ≤ 5 %.
    public var within5Percent: Double
    /// Fraction of samples with |error| ≤ 10 %.
    public var within10Percent: Double
    /// Mean absolute percentage error.
    public var meanAbsolutePercentError: Double
    /// Kendall's τ-b between predicted and measured (nil when undefined, e.g. all equal).
    public var kendallTau: Double?
    /// Spearman's ρ between predicted and measured.
    public var spearmanRho: Double?
    /// Seconds the validation took.
    public var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case samples
        case deviceID = "device_id", within5Percent = "within_5_percent", within10Percent = "within_10_percent"
        case meanAbsolutePercentError = "mape_percent", kendallTau = "kendall_tau", spearmanRho = "spearman_rho"
        case elapsedSeconds = "elapsed_seconds"
    }

    /// Summarises `samples`.
    public init(deviceID: String, samples: [Sample], elapsedSeconds: Double) {
        precondition(!samples.isEmpty, "LatencyValidation: no samples")
        self.deviceID = deviceID
        self.samples = samples
        self.elapsedSeconds = elapsedSeconds
        let errors = samples.map { abs($0.errorPercent) }
        let count = Double(samples.count)
        within5Percent = Double(errors.filter { $0 <= 5 }.count) / count
        within10Percent = Double(errors.filter { $0 <= 10 }.count) / count
        meanAbsolutePercentError = SampleStatistics.mean(errors)
        let predicted = samples.map(\.predictedMilliseconds), measured = samples.map(\.measuredMilliseconds)
        kendallTau = RankCorrelation.kendallTau(predicted, measured)
        spearmanRho = RankCorrelation.spearmanRho(predicted, measured)
    }
}

extension LatencyValidation.Sample {
    /// A sample with its signed percentage error.
    public init(architectureID: String, predictedMilliseconds: Double, measuredMilliseconds: Double) {
        self.architectureID = architectureID
        self.predictedMilliseconds = predictedMilliseconds
        self.measuredMilliseconds = measuredMilliseconds
        errorPercent = (predictedMilliseconds - measuredMilliseconds) / measuredMilliseconds * 100
    }
}
