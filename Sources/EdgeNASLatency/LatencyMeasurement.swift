import EdgeNASCore
import Foundation

/// Summary of repeated timings of one block or model, in milliseconds.
public struct LatencyMeasurement: Sendable, Codable, Equatable {
    /// Number of timed runs.
    public var count: Int
    /// Median of the runs: the latency the tables and predictions use.
    public var medianMilliseconds: Double
    /// 90th percentile (linear interpolation).
    public var p90Milliseconds: Double
    /// Arithmetic mean.
    public var meanMilliseconds: Double
    /// Sample standard deviation (n − 1).
    public var standardDeviationMilliseconds: Double

    public init(count: Int, medianMilliseconds: Double, p90Milliseconds: Double, meanMilliseconds: Double,
                standardDeviationMilliseconds: Double) {
        self.count = count
        self.medianMilliseconds = medianMilliseconds
        self.p90Milliseconds = p90Milliseconds
        self.meanMilliseconds = meanMilliseconds
        self.standardDeviationMilliseconds = standardDeviationMilliseconds
    }

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
