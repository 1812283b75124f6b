import ArgumentParser
import EdgeNASCore
import EdgeNASLatency
import Foundation
import Synchronization

/// `edgenas profile`: per-block latency tables for a search space on a device.
struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the latency of every block a search space can produce, on this device.",
        discussion: """
        Lists every distinct block signature of the space (stem, each MBConv block with its \
        input shape, head, ViT patch embedding, ViT layer, classifier), exports each one the \
        table lacks as a small ONNX graph and times it in the device's runtime (ONNX Runtime's \
        C API, or the engine for `runtime: native`): warm-up runs, then timed runs whose count, \
        median, p90, mean and standard deviation are stored in an SQLite table with the \
        runtime, its version and the threads.

        Each block is committed as soon as it is measured. Ctrl-C (or a kill) loses nothing \
        measured: run the same command again and it measures only what is missing. A file \
        that is not an EdgeNAS table, or a table of another device, is refused and left as it is.

        --calibrate N also times N sampled whole models end to end, the same way (two rounds \
        over all N, each model keeping its lower reading, as `validate` does), and fits \
        measured = a · sum + b, which `edgenas latency` and search apply to predictions, \
        corrected by the calibration models that share a prediction's blocks.

        Examples:
          edgenas profile --space spaces/fmnist-mbconv-tiny.json --device devices/local.yaml --dry-run
            fmnist-mbconv-tiny: 548 block signatures, 548 to measure on host-x86_64-ort-t1 (20 warm-up + 200 timed \
        runs each), about 0:20 into latency-tables/host-x86_64-ort-t1.sqlite
          edgenas profile --space spaces/fmnist-mbconv-tiny.json --device devices/local.yaml --calibrate 20
          edgenas profile --space spaces/fmnist-vit.json --device devices/local.yaml \\
              --table latency-tables/host-x86_64-ort-t1.sqlite
        """
    )

    @Option(help: ArgumentHelp("The search-space file (edgenas.space/1, JSON or YAML). Repeat it to profile the blocks "
                               + "of several spaces into one table (for a search across families).", valueName: "SPACE"))
    var space: [String]

    @Option(help: ArgumentHelp("The device file (devices/*.yaml).", valueName: "DEVICE.yaml"))
    var device: String

    @Option(help: ArgumentHelp("The latency table (default: latency-tables/<device id>.sqlite).", valueName: "path.sqlite"))
    var table: String?

    @Flag(help: "Print the number of signatures and the estimated time; measure nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Also time N sampled whole models and fit the calibration line (N ≥ 2).",
                               valueName: "N"))
    var calibrate: Int?

    @Option(help: ArgumentHelp("Seed of the models sampled for --calibrate.", valueName: "N"))
    var seed: UInt64 = 1

    func validate() throws {
        if let calibrate, calibrate < 2 {
            throw ValidationError("--calibrate fits a line and needs at least 2 models, got \(calibrate)")
        }
    }

    func run() throws {
        let searchSpace = try loadSpaceUnion(space)
        let deviceProfile = try loadDevice(device)
        let signatures = searchSpace.blockSignatures()
        let tablePath = try resolvedTablePath(table, device: deviceProfile, creating: !dryRun)

        if dryRun {
            var missingCount = signatures.count
            if FileManager.default.fileExists(atPath: tablePath) {
                let existing = try openTable(tablePath, device: deviceProfile, create: false)
                missingCount = try existing.missingSignatures(signatures).count
            }
            let seconds = LatencyProfiler.estimatedSeconds(signatureCount: missingCount, device: deviceProfile)
            print("\(searchSpace.name): \(signatures.count) block signatures, \(missingCount) to measure on " +
                  "\(deviceProfile.id) (\(deviceProfile.warmupRuns) warm-up + \(deviceProfile.timedRuns) timed runs " +
                  "each), about \(ProgressBar.clockText(seconds: seconds)) into \(tablePath)")
            return
        }

        let latencyTable = try openTable(tablePath, device: deviceProfile, create: true)
        let host = HostState.current()
        for warning in host.warnings { writeToStandardError("warning: \(warning)\n") }
        let profiler = try withCommandErrors { try LatencyProfiler(device: deviceProfile, table: latencyTable) }
        StopRequest.install()

        let start = ContinuousClock.now
        var bar: ProgressBar?
        let outcome = try withCommandErrors {
            try profiler.profile(signatures, shouldStop: { StopRequest.isRequested },
                                 timingReference: announceReferenceTiming(seconds:)) { done, total in
                if bar == nil { bar = ProgressBar(total: total, label: "profile", unit: "blocks") }
                bar?.update(done: done)
            }
        }
        bar?.finish()
        if outcome.interrupted {
            throw interrupted("\(outcome.measured) block(s) measured in this run are saved in \(tablePath); " +
                              "\(outcome.remaining) remain. Run the same command again to resume")
        }
        let elapsed = seconds(ContinuousClock.now - start)
        print("\(searchSpace.name) on \(deviceProfile.id): \(signatures.count) block signatures, " +
              "\(outcome.measured) measured now, \(outcome.alreadyStored) already in \(tablePath) " +
              "(\(ProgressBar.clockText(seconds: elapsed)))")
        print(Self.driftLine(outcome))
        print("host: CPU frequency \(host.cpuFrequencyText); temperatures \(host.thermalText)")

        guard let calibrate else { return }
        var generator = SeededGenerator(seed: seed)
        let architectures = (0..<calibrate).map { _ in searchSpace.sample(using: &generator) }
        var calibrationBar: ProgressBar?
        let fit = try withCommandErrors {
            try profiler.calibrate(architectures, shouldStop: { StopRequest.isRequested }) { done, total in
                if calibrationBar == nil { calibrationBar = ProgressBar(total: total, label: "calibrate", unit: "readings") }
                calibrationBar?.update(done: done)
            }
        }
        calibrationBar?.finish()
        guard let fit else {
            throw interrupted("calibration stopped; the models timed so far are saved in \(tablePath). " +
                              "Run the same command again to finish it")
        }
        print(String(format: "calibration: measured = %.4f · sum %@ %.1f µs over %d %@ models, R² %.4f",
                     fit.slope, fit.interceptMicroseconds < 0 ? "−" : "+", abs(fit.interceptMicroseconds),
                     fit.sampleCount, fit.family, fit.rSquared))
        if fit.rSquared < 0.9 {
            writeToStandardError(String(format: "warning: calibration R² %.3f is low: some models were probably timed while "
                + "the machine was busy (the fit is robust to a few). Add models with --calibrate N --seed S on an idle "
                + "machine; every model of the family in the table is used\n", fit.rSquared))
        }
    }

    /// What the reference graph saw: the machine's drift and the bursts re-timed.
    static func driftLine(_ outcome: LatencyProfiler.Outcome) -> String {
        guard let nominal = outcome.nominalReferenceMicroseconds, let speed = outcome.referenceSpeed else {
            return "drift: this table was measured before reference timing and stays raw (no drift correction); "
                + "profile into a new table for latencies held at the machine's nominal speed"
        }
        return String(format: "drift: blocks timed against the reference graph at its nominal %.1f µs; now %.1f µs "
            + "(median burst %.1f µs, slowest %.1f µs: up to %.2f× slower); %d burst(s) re-timed because the machine ran "
            + "more than 10%% off nominal", nominal, speed.nominalMicroseconds, speed.medianMicroseconds,
            speed.slowestMicroseconds, speed.slowestMicroseconds / nominal, outcome.driftRetries)
    }
}
