import EdgeNASCore
import Foundation

/// Fills a latency table: measures each missing block signature and commits it at once,
/// then optionally times whole models to fit the calibration line.
///
/// ```swift
/// let profiler = try LatencyProfiler(device: device, table: table)
/// let outcome = try profiler.profile(space.blockSignatures(), shouldStop: { false }) { done, total in }
/// ```
public final class LatencyProfiler {
    /// Rough cost of building, exporting and loading one block graph, for estimates.
    public static let estimatedSetupMilliseconds = 15.0
    /// Rough cost of one run of one block at batch 1 on a small board, for estimates.
    public static let estimatedRunMilliseconds = 0.1

    /// The device measured.
    public let device: DeviceProfile
    /// Where measurements go.
    public let table: LatencyTable
    /// Its nominal reference time is fixed by ``prepareTable(timingReference:)``.
    private(set) var timer: DeviceTimer

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
        timer = try DeviceTimer(device: device, nominalReferenceMicroseconds: try table.metadata().referenceNominalMicroseconds)
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
        /// Bursts re-timed in this run because the reference showed the machine more than
        /// 10 % off its nominal speed.
        public var driftRetries = 0
        /// The reference's speed at the start of this run, and the table's nominal reference
        /// time (nil for a table measured before reference timing, which stays raw).
        public var referenceSpeed: ReferenceSpeed?
        public var nominalReferenceMicroseconds: Double?
    }

    /// Records the host state and run overhead, then measures every signature the table
    /// lacks, committing each one as it completes.
    ///
    /// - Parameters:
    ///   - shouldStop: asked before each block; true ends the run with what was stored.
    ///   - timingReference: called with the seconds it will take, before the reference's
    ///     speed is timed (a few seconds in which nothing else shows progress).
    ///   - progress: called with (done, total) over the missing blocks.
    public func profile(_ signatures: [BlockSignature], shouldStop: () -> Bool = { false },
                        timingReference: (Double) -> Void = { _ in },
                        progress: (Int, Int) -> Void = { _, _ in }) throws -> Outcome {
        let missing = try table.missingSignatures(signatures)
        let alreadyStored = Set(signatures.map(\.key)).count - missing.count
        let speed = try prepareTable(timingReference: timingReference)
        var outcome = Outcome(measured: 0, alreadyStored: alreadyStored, remaining: 0, interrupted: false,
                              referenceSpeed: speed, nominalReferenceMicroseconds: timer.nominalReferenceMicroseconds)
        // Blocks in a shuffled order: a slow stretch of the machine then falls on unrelated
        // blocks instead of on one stage's neighbours. Seeded, so a rerun repeats it.
        var generator = SeededGenerator(seed: 0x5EED)
        let order = missing.shuffled(using: &generator)
        progress(0, order.count)
        for (index, signature) in order.enumerated() {
            if shouldStop() {
                outcome.remaining = order.count - index
                outcome.interrupted = true
                return outcome
            }
            // A second profiler on the same table may have measured it since the run started.
            if try table.contains(signature) {
                outcome.alreadyStored += 1
            } else {
                let measurement = try timer.measure(signature.block)
                outcome.driftRetries += measurement.drift?.retries ?? 0
                let stored = try table.record(signature, measurement, runtime: device.runtime,
                                              runtimeVersion: timer.runtimeVersion, threads: device.threads)
                if stored { outcome.measured += 1 } else { outcome.alreadyStored += 1 }
            }
            progress(index + 1, order.count)
        }
        return outcome
    }

    /// Stores the host state, fixes the table's nominal reference time on its first run, and
    /// measures the runtime's per-call overhead once; later measurements of this profiler are
    /// timed against the reference at that nominal time.
    ///
    /// A table measured before reference timing (blocks but no nominal time) keeps timing
    /// raw: mixing the two would give it two scales.
    ///
    /// - Returns: the reference's speed now (nil for such a raw table).
    @discardableResult
    public func prepareTable(timingReference: (Double) -> Void = { _ in }) throws -> ReferenceSpeed? {
        let host = HostState.current()
        let metadata = try table.metadata()
        let raw = try metadata.referenceNominalMicroseconds == nil && table.blockCount() > 0
        if !raw { timingReference(timer.drift.nominalTimingSeconds) }
        let speed = raw ? nil : try timer.referenceSpeed()
        try table.recordProfileRun(ProfileRunRecord(
            startedAt: LatencyTable.timestamp(), cpuModel: host.cpuModel, governor: host.governor,
            loadAverage1m: host.loadAverage1m, coreCount: host.coreCount, runtimeVersion: timer.runtimeVersion,
            cpuFrequency: host.cpuFrequencyText, thermal: host.thermalText, referenceSpeed: speed))
        if let speed { timer.nominalReferenceMicroseconds = try table.recordReferenceSpeed(speed) }
        let overhead = metadata.runOverheadMicroseconds == nil ? try timer.runOverheadMicroseconds() : nil
        try table.recordRuntime(version: timer.runtimeVersion, runOverheadMicroseconds: overhead)
        return speed
    }

    /// Times `architectures` (of one family) end to end in ``ModelLatencyMeter/rounds``
    /// rounds, skipping those already timed, stores each as a calibration sample when its
    /// last reading is in, then fits and stores
    /// `measured = a · sum + b` over all the table's samples of that family.
    ///
    /// - Returns: the fit, or nil when stopped early (the samples stored so far are kept).
    /// - Throws: ``LatencyError/missingSignatures(path:deviceID:missing:missingCount:)`` when
    ///   blocks are not profiled yet; ``LatencyError/tooFewCalibrationModels(_:)``.
    /// - Parameter progress: called with (readings done, readings in all).
    public func calibrate(_ architectures: [Architecture], shouldStop: () -> Bool = { false },
                          progress: (Int, Int) -> Void = { _, _ in }) throws -> LatencyCalibration? {
        let done = Set(try table.calibrationSamples().map(\.architectureID))
        let todo = architectures.filter { !done.contains($0.id) }
        // Predictions before calibration: the fit maps the uncalibrated sum.
        let predictor = try LatencyPredictor(table: table)
        let sums = try todo.map { try predictor.predict($0).uncalibratedMilliseconds }
        // Two readings per model, rounds apart, like validate's; each model is stored as soon
        // as its last reading is in.
        let finished = try DeviceTimer.measureInRounds(
            count: todo.count, shouldStop: shouldStop, progress: progress,
            measure: { try timer.measure(todo[$0]) },
            completed: { index, measured in
                let architecture = todo[index]
                try table.recordCalibrationSample(CalibrationSample(
                    architectureID: architecture.id, family: architecture.family.rawValue,
                    architecture: architecture.canonicalJSON,
                    blockSumMicroseconds: sums[index] * 1000, measuredMedianMicroseconds: measured.medianMilliseconds * 1000,
                    measuredAt: LatencyTable.timestamp(),
                    typicalMedianMicroseconds: measured.drift.map { $0.typicalMedianMilliseconds * 1000 }))
            })
        if !finished { return nil }
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
        /// The measured median as the machine ran (nil when timed raw; `measured_ms` is then raw too).
        public var typicalMilliseconds: Double?
        /// Bursts re-timed because the machine ran more than 10 % off its nominal speed.
        public var driftRetries: Int?
        /// The family's calibration line alone, without the calibration models' local
        /// correction (``LatencyPrediction/lineMilliseconds``), to show what that adds.
        public var lineMilliseconds: Double?

        enum CodingKeys: String, CodingKey {
            case lineMilliseconds = "line_predicted_ms"
            case architectureID = "architecture_id", predictedMilliseconds = "predicted_ms"
            case measuredMilliseconds = "measured_ms", errorPercent = "error_percent"
            case typicalMilliseconds = "typical_ms", driftRetries = "drift_retries"
        }
    }

    /// The reference's speed when the table fixed its nominal time, and now (nil for a raw table).
    public var tableReference: ReferenceSpeed?
    public var currentReference: ReferenceSpeed?

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
        case elapsedSeconds = "elapsed_seconds", tableReference = "table_reference", currentReference = "current_reference"
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
    public init(architectureID: String, predictedMilliseconds: Double, measuredMilliseconds: Double,
                typicalMilliseconds: Double? = nil, driftRetries: Int? = nil, lineMilliseconds: Double? = nil) {
        self.architectureID = architectureID
        self.predictedMilliseconds = predictedMilliseconds
        self.lineMilliseconds = lineMilliseconds
        self.measuredMilliseconds = measuredMilliseconds
        self.typicalMilliseconds = typicalMilliseconds
        self.driftRetries = driftRetries
        errorPercent = (predictedMilliseconds - measuredMilliseconds) / measuredMilliseconds * 100
    }
}
