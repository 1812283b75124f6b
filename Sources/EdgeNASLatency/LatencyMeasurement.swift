import EdgeNASCore
import Foundation

/// Summary of repeated timings of one block or model, in milliseconds.
public struct LatencyMeasurement: Sendable, Codable, Equatable {
    /// How a measurement timed against the reference relates to the machine's state.
    public struct Drift: Sendable, Codable, Equatable {
        /// The median of the runs as the machine ran them.
        public var typicalMedianMilliseconds: Double
        /// The reference's median time while this was measured.
        public var referenceMedianMicroseconds: Double
        /// The reference's nominal time the measurement was scaled to.
        public var nominalReferenceMicroseconds: Double
        /// Bursts re-timed because the reference showed the machine off its nominal speed.
        public var retries: Int

        public init(typicalMedianMilliseconds: Double, referenceMedianMicroseconds: Double, nominalReferenceMicroseconds: Double,
                    retries: Int) {
            self.typicalMedianMilliseconds = typicalMedianMilliseconds
            self.referenceMedianMicroseconds = referenceMedianMicroseconds
            self.nominalReferenceMicroseconds = nominalReferenceMicroseconds
            self.retries = retries
        }

        /// How much slower than nominal the machine ran meanwhile (1.3: 30 % slower).
        public var slowdown: Double { referenceMedianMicroseconds / max(nominalReferenceMicroseconds, 1e-12) }

        enum CodingKeys: String, CodingKey {
            case retries
            case typicalMedianMilliseconds = "typical_median_ms", referenceMedianMicroseconds = "reference_median_us"
            case nominalReferenceMicroseconds = "nominal_reference_us"
        }
    }

    /// Number of timed runs.
    public var count: Int
    /// Median of the runs: the latency the tables and predictions use. Timed against the
    /// reference (``drift`` set), it is the latency at the machine's nominal speed.
    public var medianMilliseconds: Double
    /// 90th percentile (linear interpolation).
    public var p90Milliseconds: Double
    /// Arithmetic mean.
    public var meanMilliseconds: Double
    /// Sample standard deviation (n − 1).
    public var standardDeviationMilliseconds: Double
    /// Set when timed against the reference (``ReferenceTiming``); nil for raw timings.
    public var drift: Drift?

    public init(count: Int, medianMilliseconds: Double, p90Milliseconds: Double, meanMilliseconds: Double,
                standardDeviationMilliseconds: Double, drift: Drift? = nil) {
        self.count = count
        self.medianMilliseconds = medianMilliseconds
        self.p90Milliseconds = p90Milliseconds
        self.meanMilliseconds = meanMilliseconds
        self.standardDeviationMilliseconds = standardDeviationMilliseconds
        self.drift = drift
    }

    /// The median as the machine ran it: the typical latency (the median itself for raw timings).
    public var typicalMedianMilliseconds: Double { drift?.typicalMedianMilliseconds ?? medianMilliseconds }

    /// The summary of individual run times given in microseconds.
    public init(runMicroseconds: [Double]) {
        precondition(!runMicroseconds.isEmpty, "LatencyMeasurement: no timed runs")
        count = runMicroseconds.count
        medianMilliseconds = SampleStatistics.median(runMicroseconds) / 1000
        p90Milliseconds = SampleStatistics.quantile(runMicroseconds, 0.9) / 1000
        meanMilliseconds = SampleStatistics.mean(runMicroseconds) / 1000
        standardDeviationMilliseconds = runMicroseconds.count > 1
            ? SampleStatistics.standardDeviation(runMicroseconds) / 1000 : 0
    }

    enum CodingKeys: String, CodingKey {
        case count
        case medianMilliseconds = "median_ms"
        case p90Milliseconds = "p90_ms"
        case meanMilliseconds = "mean_ms"
        case standardDeviationMilliseconds = "std_ms"
        case drift
    }
}

/// Runs `body` `warmupRuns` times untimed, then `timedRuns` times timed one call at a time.
///
/// - Returns: each timed call's duration in microseconds.
func timeRuns(warmupRuns: Int, timedRuns: Int, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmupRuns { try body() }
    var durations = [Double](repeating: 0, count: timedRuns)
    for index in 0..<timedRuns {
        let start = monotonicNanoseconds()
        try body()
        durations[index] = Double(monotonicNanoseconds() - start) / 1000
    }
    return durations
}

/// CLOCK_MONOTONIC in nanoseconds: cheap enough (tens of ns) to bracket a single run.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
