import Foundation
import Testing

@testable import EdgeNASLatency

/// A stand-in for the machine: work that takes `microseconds × slowdown`, where the slowdown
/// follows a schedule over the calls (the VM's swings, compressed into microseconds).
final class DriftingMachine {
    private(set) var calls = 0
    /// The slowdown of call n is schedule(n).
    let schedule: (Int) -> Double

    init(schedule: @escaping (Int) -> Double) { self.schedule = schedule }

    /// - Parameter sensitivity: how much of the machine's slowdown this work feels (a slow
    ///   machine slows graphs unequally: 0.5 feels half of it).
    func work(microseconds: Double, sensitivity: Double = 1) {
        let slowdown = 1 + sensitivity * (schedule(calls) - 1)
        calls += 1
        let end = monotonicNanoseconds() + UInt64(microseconds * slowdown * 1000)
        while monotonicNanoseconds() < end {}
    }
}

@Suite struct ReferenceTimingTests {
    /// The machine runs 2× slower two stretches of 40 calls in three: the raw median is the
    /// slow speed's, the reference-timed one the nominal latency. (A tolerance wide enough to
    /// keep the slow bursts: the ratio alone corrects a target that slows as the reference does.)
    @Test func aMachineThatSwingsTwoFoldStillGivesTheNominalLatency() {
        let machine = DriftingMachine { ($0 / 40) % 3 == 0 ? 1 : 2 }
        let control = DriftControl(bursts: 10, tolerance: 1.5, maximumRetries: 0)
        let measured = ReferenceTiming.measure(target: { machine.work(microseconds: 300) }, reference: { machine.work(microseconds: 100) },
                                               warmupRuns: 2, timedRuns: 60, nominalReferenceMicroseconds: 100, control: control,
                                               pause: { _ in })
        let drift = try! #require(measured.drift)
        // 300 µs at nominal speed; busy-waiting on a loaded machine adds a little to both.
        #expect(abs(measured.medianMilliseconds * 1000 - 300) < 0.15 * 300, "\(measured)")
        #expect(drift.retries == 0)
        #expect(drift.slowdown > 1.5, "the reference saw the slow stretches: \(drift)")
        #expect(measured.typicalMedianMilliseconds * 1000 > 1.5 * 300, "\(measured)")
        #expect(measured.count == 60)
        #expect(ReferenceTiming.isConsistent(measured))
    }

    /// A measurement whose burst ratios and typical median disagree (the target's runs were
    /// preempted, the short reference's were not) is flagged, so the timer re-measures it.
    @Test func preemptedTargetsAreFlaggedInconsistent() {
        let drift = LatencyMeasurement.Drift(typicalMedianMilliseconds: 2.35, referenceMedianMicroseconds: 31,
                                             nominalReferenceMicroseconds: 28.7, retries: 8)
        let wild = LatencyMeasurement(count: 200, medianMilliseconds: 9.07, p90Milliseconds: 10, meanMilliseconds: 9,
                                      standardDeviationMilliseconds: 1, drift: drift)
        #expect(!ReferenceTiming.isConsistent(wild))
        var sound = wild
        sound.medianMilliseconds = 2.2
        #expect(ReferenceTiming.isConsistent(sound))
        #expect(ReferenceTiming.isConsistent(LatencyMeasurement(runMicroseconds: [1, 2, 3])), "raw timings have nothing to check")
    }

    /// A reference slower than nominal by more than the tolerance re-times the burst after a
    /// pause, at most `maximumRetries` times; then the ratios stand.
    @Test func burstsOffNominalAreRetimedUpToTheBound() {
        let machine = DriftingMachine { _ in 2 }
        var pauses: [Double] = []
        let control = DriftControl(bursts: 4, tolerance: 0.1, maximumRetries: 3, pauseSeconds: 0.01)
        let measured = ReferenceTiming.measure(target: { machine.work(microseconds: 50) }, reference: { machine.work(microseconds: 25) },
                                               warmupRuns: 0, timedRuns: 12, nominalReferenceMicroseconds: 25, control: control,
                                               pause: { pauses.append($0) })
        #expect(measured.drift?.retries == 3)
        #expect(pauses == [0.01, 0.01, 0.01])
        // The machine stayed 2× slow: the ratio still gives the nominal 50 µs.
        #expect(abs(measured.medianMilliseconds * 1000 - 50) < 0.15 * 50, "\(measured)")
        #expect(abs(measured.typicalMedianMilliseconds * 1000 - 100) < 0.15 * 100, "\(measured)")
    }

    /// A target that feels only half of the machine's slowdown: the ratio to the reference
    /// of a slow burst would read it 25 % fast, so only the bursts at nominal speed count.
    /// The machine runs 2× slow for 20 calls in every 40.
    @Test func onlyBurstsAtNominalSpeedCount() {
        let machine = DriftingMachine { $0 % 40 < 20 ? 2 : 1 }
        let control = DriftControl(bursts: 8, tolerance: 0.1, maximumRetries: 200, pauseSeconds: 0)
        let measured = ReferenceTiming.measure(target: { machine.work(microseconds: 300, sensitivity: 0.5) },
                                               reference: { machine.work(microseconds: 100) }, warmupRuns: 0, timedRuns: 24,
                                               nominalReferenceMicroseconds: 100, control: control, pause: { _ in })
        let retries = try! #require(measured.drift?.retries)
        #expect(retries > 0, "the slow stretches were seen")
        #expect(abs(measured.medianMilliseconds * 1000 - 300) < 0.1 * 300, "\(measured)")
    }

    /// A machine that runs faster than the table's nominal speed (its nominal time was fixed
    /// in a slow stretch): those bursts do not count either, so every value is measured in
    /// the one state the table describes.
    @Test func burstsFasterThanNominalDoNotCountEither() {
        let machine = DriftingMachine { $0 < 60 ? 0.5 : 1 }
        let control = DriftControl(bursts: 8, tolerance: 0.1, maximumRetries: 200, pauseSeconds: 0)
        let measured = ReferenceTiming.measure(target: { machine.work(microseconds: 300, sensitivity: 0.5) },
                                               reference: { machine.work(microseconds: 100) }, warmupRuns: 0, timedRuns: 24,
                                               nominalReferenceMicroseconds: 100, control: control, pause: { _ in })
        #expect((measured.drift?.retries ?? 0) > 0)
        #expect(abs(measured.medianMilliseconds * 1000 - 300) < 0.1 * 300, "\(measured)")
    }

    /// A machine that never reaches its nominal speed within the bound: the ratios of all
    /// bursts stand, and at least the target number of bursts is timed.
    @Test func aMachineThatStaysSlowFallsBackToAllBursts() {
        let machine = DriftingMachine { _ in 2 }
        let control = DriftControl(bursts: 6, tolerance: 0.1, maximumRetries: 2, pauseSeconds: 0)
        let measured = ReferenceTiming.measure(target: { machine.work(microseconds: 60) }, reference: { machine.work(microseconds: 20) },
                                               warmupRuns: 0, timedRuns: 18, nominalReferenceMicroseconds: 20, control: control,
                                               pause: { _ in })
        #expect(measured.drift?.retries == 2)
        #expect(measured.count == 18, "6 bursts of 3 runs, the 2 re-timed ones among them")
        #expect(abs(measured.medianMilliseconds * 1000 - 60) < 0.15 * 60, "\(measured)")
    }

    /// A slow stretch that passes: the re-timed burst runs at nominal speed again.
    @Test func aShortSlowStretchIsWaitedOut() {
        var slow = true
        let machine = DriftingMachine { _ in slow ? 3 : 1 }
        let control = DriftControl(bursts: 4, tolerance: 0.1, maximumRetries: 8, pauseSeconds: 0.01)
        let measured = ReferenceTiming.measure(target: { machine.work(microseconds: 40) }, reference: { machine.work(microseconds: 20) },
                                               warmupRuns: 0, timedRuns: 12, nominalReferenceMicroseconds: 20, control: control,
                                               pause: { _ in slow = false })
        #expect(measured.drift?.retries == 1)
        #expect(abs(measured.typicalMedianMilliseconds * 1000 - 40) < 0.2 * 40, "\(measured)")
    }

    /// The nominal time is a low quantile of bursts spread over time, not the mean.
    @Test func theNominalSpeedIsALowQuantileOfTheBursts() {
        let machine = DriftingMachine { ($0 / 9) % 3 == 0 ? 1 : 1.8 }
        var pauses = 0
        let speed = ReferenceTiming.speed(reference: { machine.work(microseconds: 30) }, warmupRuns: 0, timedRuns: 27,
                                          control: DriftControl(bursts: 9, nominalBursts: 30, nominalPauseSeconds: 0.001),
                                          pause: { _ in pauses += 1 })
        #expect(pauses == 29)
        #expect(abs(speed.nominalMicroseconds - 30) < 0.15 * 30, "\(speed)")
        #expect(speed.slowestMicroseconds > 1.5 * 30 && speed.spread > 1.5, "\(speed)")
    }
}

/// Whole models are read in rounds over all of them; each keeps its lowest reading.
@Suite struct MeasurementRoundsTests {
    private func reading(_ milliseconds: Double, retries: Int) -> LatencyMeasurement {
        LatencyMeasurement(count: 3, medianMilliseconds: milliseconds, p90Milliseconds: milliseconds, meanMilliseconds: milliseconds,
                           standardDeviationMilliseconds: 0,
                           drift: LatencyMeasurement.Drift(typicalMedianMilliseconds: milliseconds, referenceMedianMicroseconds: 10,
                                                           nominalReferenceMicroseconds: 10, retries: retries))
    }

    @Test func eachModelKeepsItsLowestReadingAndAllItsRetries() throws {
        // Model 1 is caught in a slow stretch in round 1, model 0 in round 2.
        let readings: [[Double]] = [[1.0, 2.0], [1.3, 1.0]]
        var order: [Int] = [], completed: [Int: LatencyMeasurement] = [:], pauses: [Double] = [], progress: [Int] = []
        var round = 0
        let finished = try DeviceTimer.measureInRounds(
            count: 2, rounds: 2, minimumRoundSpacingSeconds: 60, progress: { done, total in progress.append(done); #expect(total == 4) },
            pause: { pauses.append($0) },
            measure: { index in
                order.append(index)
                defer { if index == 1 { round += 1 } }
                return reading(readings[round][index], retries: round + 1)
            },
            completed: { index, measurement in
                #expect(order.count > 2, "models are stored during the last round")
                completed[index] = measurement
            })
        #expect(finished && order == [0, 1, 0, 1] && progress == [0, 1, 2, 3, 4])
        #expect(completed[0]?.medianMilliseconds == 1.0 && completed[1]?.medianMilliseconds == 1.0)
        #expect(completed[0]?.drift?.retries == 3 && completed[1]?.drift?.retries == 3)
        // The first round took far less than the spacing: the second waits for the rest.
        #expect(pauses.count == 1 && pauses[0] > 59 && pauses[0] <= 60)
    }

    @Test func aStopEndsThePassAndKeepsWhatWasCompleted() throws {
        var asked = 0, completed: [Int] = []
        let finished = try DeviceTimer.measureInRounds(
            count: 3, rounds: 2, minimumRoundSpacingSeconds: 0, shouldStop: { asked += 1; return asked > 4 },
            measure: { _ in reading(1, retries: 0) }, completed: { index, _ in completed.append(index) })
        #expect(!finished && completed == [0])
    }
}
