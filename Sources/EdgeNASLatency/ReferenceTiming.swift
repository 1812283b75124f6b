import EdgeNASCore
import Foundation

/// How timings are held against the machine's own speed.
///
/// A machine's speed drifts: this kind of VM swings 1.7–2× within seconds, boards throttle
/// and daemons wake. Every block and whole model is therefore timed in short bursts
/// interleaved with a fixed reference graph (R T R T … R), and stored as the ratio of its
/// burst medians to the bracketing reference medians. Its latency at the machine's nominal
/// speed is that ratio times the reference's nominal time (a low quantile of the reference,
/// recorded once per table), so blocks timed in different states of the machine land on one
/// scale.
public struct DriftControl: Sendable, Equatable {
    /// Target bursts per measurement; the device's timed runs are spread over them.
    public var bursts: Int
    /// A burst whose bracketing reference is this share slower than nominal (or faster) is
    /// discarded and re-timed after a pause. The ratio to the reference does not correct
    /// such a burst: a slow machine slows graphs unequally (with the reference 1.45× slower
    /// here, a ViT slowed 0.54×, an MBConv model 1.39× as much), so only bursts at nominal
    /// speed are kept.
    public var tolerance: Double
    /// Bound on re-timed bursts per measurement. A measurement that reaches it with fewer
    /// than ``minimumNominalBursts`` at nominal speed uses the ratios of all its bursts.
    public var maximumRetries: Int
    /// Pause before a re-timed burst, so that a slow stretch (here 20 ms – 2 s) can pass.
    public var pauseSeconds: Double
    /// Bursts at nominal speed a measurement needs to stand on them alone.
    public var minimumNominalBursts: Int
    /// Reference bursts timed to fix a table's nominal reference time, `nominalPauseSeconds`
    /// apart, so that they span about four seconds of the machine's swings rather than one
    /// moment: a slow stretch here lasts up to about two, and a table whose nominal time was
    /// fixed within one read its models up to 14 % off when the machine was fast again.
    public var nominalBursts: Int
    public var nominalPauseSeconds: Double
    /// About how long timing the nominal speed takes (the pauses between its bursts).
    public var nominalTimingSeconds: Double { Double(max(1, nominalBursts) - 1) * nominalPauseSeconds }
    /// The quantile of those bursts' medians taken as nominal: the machine at its usual
    /// best (the 4th fastest of 80), not its single fastest moment.
    public var nominalQuantile: Double

    public init(bursts: Int = 16, tolerance: Double = 0.10, maximumRetries: Int = 256, pauseSeconds: Double = 0.01,
                minimumNominalBursts: Int = 3, nominalBursts: Int = 80, nominalPauseSeconds: Double = 0.05,
                nominalQuantile: Double = 0.05) {
        self.bursts = bursts
        self.tolerance = tolerance
        self.maximumRetries = maximumRetries
        self.pauseSeconds = pauseSeconds
        self.minimumNominalBursts = minimumNominalBursts
        self.nominalBursts = nominalBursts
        self.nominalPauseSeconds = nominalPauseSeconds
        self.nominalQuantile = nominalQuantile
    }
}

/// The reference's speed over a stretch of time, in microseconds per run.
public struct ReferenceSpeed: Sendable, Codable, Equatable {
    /// The nominal time: the ``DriftControl/nominalQuantile`` of the burst medians.
    public var nominalMicroseconds: Double
    /// The median burst: the machine as it typically ran.
    public var medianMicroseconds: Double
    /// The slowest burst.
    public var slowestMicroseconds: Double

    /// The slowest burst against nominal, e.g. 1.7 for a machine that swung 70 % slower.
    public var spread: Double { slowestMicroseconds / max(nominalMicroseconds, 1e-12) }

    /// How much slower this nominal speed is than `recorded`'s (−0.1: 10 % faster). Timing
    /// against the reference cancels drift, not a change of the nominal speed itself.
    public func nominalChange(from recorded: ReferenceSpeed) -> Double {
        nominalMicroseconds / max(recorded.nominalMicroseconds, 1e-12) - 1
    }

    /// A nominal change beyond which a table describes other conditions than now (another
    /// CPU frequency, governor, runtime build or machine) and `validate` says so.
    public static let staleTableChange = 0.15

    enum CodingKeys: String, CodingKey {
        case nominalMicroseconds = "nominal_us", medianMicroseconds = "median_us", slowestMicroseconds = "slowest_us"
    }
}

/// Interleaved timing of a target against the reference.
enum ReferenceTiming {
    /// Runs per burst for `timedRuns` spread over `control.bursts` bursts (at least 3, so
    /// a burst's median means something).
    static func runsPerBurst(timedRuns: Int, control: DriftControl) -> Int {
        max(3, Int((Double(timedRuns) / Double(max(1, control.bursts))).rounded(.up)))
    }

    /// The reference's speed over `control.nominalBursts` bursts (after `warmupRuns`).
    static func speed(reference: () throws -> Void, warmupRuns: Int, timedRuns: Int, control: DriftControl,
                      pause: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }) rethrows -> ReferenceSpeed {
        let perBurst = runsPerBurst(timedRuns: timedRuns, control: control)
        for _ in 0..<warmupRuns { try reference() }
        var medians: [Double] = []
        for burst in 0..<max(1, control.nominalBursts) {
            if burst > 0 && control.nominalPauseSeconds > 0 { pause(control.nominalPauseSeconds) }
            medians.append(SampleStatistics.median(try timeRuns(warmupRuns: 0, timedRuns: perBurst, reference)))
        }
        return ReferenceSpeed(nominalMicroseconds: SampleStatistics.quantile(medians, control.nominalQuantile),
                              medianMicroseconds: SampleStatistics.median(medians), slowestMicroseconds: medians.max()!)
    }

    /// Whether a reference-timed measurement's two estimates of the nominal latency agree
    /// within 20 %: the median burst ratio (its median) and the typical median divided by
    /// the reference's median slowdown.
    static func isConsistent(_ measurement: LatencyMeasurement, tolerance: Double = 0.2) -> Bool {
        guard let drift = measurement.drift else { return true }
        let scaled = drift.typicalMedianMilliseconds / max(drift.slowdown, 1e-12)
        return abs(measurement.medianMilliseconds / max(scaled, 1e-12) - 1) <= tolerance
    }

    /// Times `target` in bursts R T R T … R and returns its latency at the nominal speed:
    /// median over bursts of (target burst median ÷ mean of the two bracketing reference
    /// medians) × `nominalReferenceMicroseconds`. Only bursts whose bracket is within
    /// `control.tolerance` of nominal count; the others are re-timed after a pause, at most
    /// `control.maximumRetries` times per measurement. When fewer than
    /// `control.minimumNominalBursts` were at nominal speed by then, all bursts' ratios count.
    ///
    /// - Parameter pause: waits the given seconds (a parameter so tests need not sleep).
    static func measure(target: () throws -> Void, reference: () throws -> Void, warmupRuns: Int, timedRuns: Int,
                        nominalReferenceMicroseconds nominal: Double, control: DriftControl,
                        pause: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }) rethrows -> LatencyMeasurement {
        let perBurst = runsPerBurst(timedRuns: timedRuns, control: control)
        let bursts = max(1, Int((Double(timedRuns) / Double(perBurst)).rounded(.up)))
        for _ in 0..<warmupRuns {
            try reference()
            try target()
        }
        func referenceBurst() throws -> Double { SampleStatistics.median(try timeRuns(warmupRuns: 0, timedRuns: perBurst, reference)) }
        var before = try referenceBurst()
        var nominalRatios: [Double] = [], allRatios: [Double] = [], references: [Double] = [before]
        var nominalRuns: [Double] = [], allRuns: [Double] = []
        var retries = 0
        while nominalRatios.count < bursts {
            let burst = try timeRuns(warmupRuns: 0, timedRuns: perBurst, target)
            let after = try referenceBurst()
            references.append(after)
            let bracket = (before + after) / 2
            let ratio = SampleStatistics.median(burst) / max(bracket, 1e-12)
            allRatios.append(ratio)
            allRuns += burst
            // Within the tolerance either way: a table whose nominal time was fixed in a
            // long slow stretch (with another process running, over 4 s here) measures
            // everything in that state, not partly in a faster one seen later.
            if bracket <= nominal * (1 + control.tolerance) && bracket >= nominal / (1 + control.tolerance) {
                nominalRatios.append(ratio)
                nominalRuns += burst
            } else if retries < control.maximumRetries {
                retries += 1
                pause(control.pauseSeconds)
                before = try referenceBurst()
                references.append(before)
                continue
            } else if allRatios.count >= bursts {
                break  // the machine stayed off nominal: the ratios of all bursts stand
            }
            before = after
        }
        let atNominal = nominalRatios.count >= min(control.minimumNominalBursts, bursts)
        let (ratios, runs) = atNominal ? (nominalRatios, nominalRuns) : (allRatios, allRuns)
        // The counted runs' spread, rescaled to the nominal median, says how noisy the block
        // is; the median of all runs is the machine as it typically ran.
        let raw = LatencyMeasurement(runMicroseconds: runs)
        let nominalMilliseconds = SampleStatistics.median(ratios) * nominal / 1000
        let scale = nominalMilliseconds / max(raw.medianMilliseconds, 1e-12)
        return LatencyMeasurement(
            count: raw.count, medianMilliseconds: nominalMilliseconds, p90Milliseconds: raw.p90Milliseconds * scale,
            meanMilliseconds: raw.meanMilliseconds * scale, standardDeviationMilliseconds: raw.standardDeviationMilliseconds * scale,
            drift: LatencyMeasurement.Drift(typicalMedianMilliseconds: SampleStatistics.median(allRuns) / 1000,
                                            referenceMedianMicroseconds: SampleStatistics.median(references),
                                            nominalReferenceMicroseconds: nominal, retries: retries))
    }
}
