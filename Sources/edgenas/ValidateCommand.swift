import ArgumentParser
import EdgeNASCore
import EdgeNASLatency
import Foundation

/// `edgenas validate`: how well a latency table predicts fresh, measured models.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a latency table's predictions against end-to-end measurements.",
        discussion: """
        Samples N architectures from the space (skipping those used for calibration), predicts \
        each from the table, exports it with seeded weights and times it end to end in the \
        table's runtime with the table's threads and run counts, then reports the fraction \
        within ±5 % and ±10 %, the mean absolute percentage error (MAPE), Kendall's τ and \
        Spearman's ρ between predicted and measured latencies. Models are timed like the \
        table's blocks: in bursts interleaved with a fixed reference graph, and reported at the \
        table's nominal speed of the machine (measured_ms), next to the median as the machine \
        ran (typical_ms); a machine whose reference runs more than 15 % off the table's is \
        flagged. Every model is timed in two rounds over all of them, at least 2 s apart, and \
        keeps its lower reading: a slow stretch of the machine that the reference does not \
        feel then hits one reading, not both (calibration and the search's winner are timed \
        the same way).

        --device DEVICE.yaml uses that file's run counts and CPU affinity instead of what the \
        table recorded; it must be the table's device.

        Examples:
          edgenas validate --space spaces/fmnist-vit.json --table latency-tables/host-x86_64-ort-t1.sqlite --samples 30
            30 models on host-x86_64-ort-t1: 93% within ±10%, 77% within ±5%, MAPE 3.4%, tau 0.95, rho 0.99
          edgenas validate --space spaces/fmnist-mbconv-tiny.json --table latency-tables/host-x86_64-ort-t1.sqlite \\
              --samples 50 --json
        """
    )

    @Option(help: ArgumentHelp("The search-space file the table was profiled for.", valueName: "SPACE"))
    var space: String

    @Option(help: ArgumentHelp("The latency table written by `edgenas profile`.", valueName: "path.sqlite"))
    var table: String

    @Option(help: ArgumentHelp("Number of fresh architectures to measure.", valueName: "N"))
    var samples: Int = 30

    @Option(help: ArgumentHelp("Seed of the sampled architectures.", valueName: "N"))
    var seed: UInt64 = 2

    @Option(help: ArgumentHelp("The table's device file, for its run counts and CPU affinity.", valueName: "DEVICE.yaml"))
    var device: String?

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    func validate() throws {
        guard samples >= 2 else { throw ValidationError("--samples must be at least 2 for rank correlations, got \(samples)") }
    }

    func run() throws {
        let searchSpace = try loadSpace(space)
        let givenDevice = try device.map(loadDevice)
        let latencyTable = try openTable(table, device: givenDevice, create: false)
        let deviceProfile = try withCommandErrors { try givenDevice ?? latencyTable.recordedDevice() }
        let predictor = try withCommandErrors { try LatencyPredictor(table: latencyTable) }
        let calibrated = Set(try withCommandErrors { try latencyTable.calibrationSamples().map(\.architectureID) })

        // Fresh: neither a calibration model nor a repeat within this run.
        var generator = SeededGenerator(seed: seed)
        var architectures: [Architecture] = []
        var seen = calibrated
        var draws = 0
        while architectures.count < samples && draws < samples * 100 {
            let candidate = searchSpace.sample(using: &generator)
            draws += 1
            if seen.insert(candidate.id).inserted { architectures.append(candidate) }
        }
        guard architectures.count == samples else {
            throw CommandFailure.badInput("\(space): only \(architectures.count) fresh architectures in \(draws) draws; " +
                                          "ask for fewer --samples")
        }
        let predictions = try withCommandErrors { try architectures.map { try predictor.predict($0) } }

        let tableReference = try withCommandErrors { try latencyTable.metadata().referenceSpeed }
        let meter = try withCommandErrors {
            try ModelLatencyMeter(device: deviceProfile, nominalReferenceMicroseconds: tableReference?.nominalMicroseconds)
        }
        var currentReference: ReferenceSpeed?
        if let tableReference {
            // Models are timed against the reference at the table's nominal speed, so drift now
            // cancels; a machine whose nominal speed itself differs from the table's does not.
            announceReferenceTiming(seconds: meter.referenceTimingSeconds)
            let now = try withCommandErrors { try meter.referenceSpeed() }
            currentReference = now
            let change = now.nominalChange(from: tableReference)
            if abs(change) > ReferenceSpeed.staleTableChange {
                writeToStandardError(String(format: "warning: the reference graph runs at %.1f µs now against %.1f µs when "
                    + "%@ was measured (%+.0f%%): the table may describe other conditions (another CPU frequency, governor, "
                    + "runtime build or machine); re-profile it for this one\n", now.nominalMicroseconds,
                    tableReference.nominalMicroseconds, table, change * 100))
            }
        } else {
            writeToStandardError("warning: \(table) was measured before reference timing: its latencies and these "
                + "measurements are raw, so the machine's drift shows in both; profile into a new table to correct for it\n")
            for warning in HostState.current().warnings { writeToStandardError("warning: \(warning)\n") }
        }
        StopRequest.install()
        let bar = ProgressBar(total: architectures.count, label: "validate", unit: "models")
        let start = ContinuousClock.now
        var readings = 0
        let measurements = try withCommandErrors {
            try meter.measure(architectures, shouldStop: { StopRequest.isRequested }) { done, _ in
                readings = done
                bar.update(done: done / ModelLatencyMeter.rounds)
            }
        }
        guard let measurements else {
            throw interrupted("validation stopped after \(readings) of \(ModelLatencyMeter.rounds * architectures.count) readings")
        }
        let results = zip(architectures, zip(predictions, measurements)).map { architecture, pair in
            let (prediction, measured) = pair
            return LatencyValidation.Sample(architectureID: architecture.id, predictedMilliseconds: prediction.predictedMilliseconds,
                                            measuredMilliseconds: measured.medianMilliseconds,
                                            typicalMilliseconds: measured.drift?.typicalMedianMilliseconds,
                                            driftRetries: measured.drift?.retries, lineMilliseconds: prediction.lineMilliseconds)
        }
        bar.finish()
        var report = LatencyValidation(deviceID: deviceProfile.id, samples: results,
                                       elapsedSeconds: seconds(ContinuousClock.now - start))
        report.tableReference = tableReference
        report.currentReference = currentReference
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.text(report))
        }
    }

    static func text(_ report: LatencyValidation) -> String {
        func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
        func optional(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "n/a" }
        var lines = ["\(report.samples.count) models on \(report.deviceID): \(percent(report.within10Percent)) within " +
                     "±10%, \(percent(report.within5Percent)) within ±5%, MAPE " +
                     String(format: "%.2f%%", report.meanAbsolutePercentError) +
                     ", tau \(optional(report.kendallTau)), rho \(optional(report.spearmanRho)) " +
                     "(\(ProgressBar.clockText(seconds: report.elapsedSeconds)))"]
        if let table = report.tableReference, let now = report.currentReference {
            let retries = report.samples.reduce(0) { $0 + ($1.driftRetries ?? 0) }
            lines.append(String(format: "  measured at nominal speed: timed against the reference graph, nominal %.1f µs in the "
                + "table, %.1f µs now (median burst %.1f µs, slowest %.1f µs); %d burst(s) re-timed for drift",
                                table.nominalMicroseconds, now.nominalMicroseconds, now.medianMicroseconds, now.slowestMicroseconds,
                                retries))
        }
        lines.append("  architecture       predicted_ms  measured_ms  typical_ms   error")
        for sample in report.samples {
            let typical = sample.typicalMilliseconds.map { String(format: "%11.4f", $0) } ?? "          -"
            lines.append(String(format: "  %@  %12.4f %12.4f %@  %+6.2f%%", sample.architectureID.padding(
                toLength: 16, withPad: " ", startingAt: 0), sample.predictedMilliseconds, sample.measuredMilliseconds,
                typical, sample.errorPercent))
        }
        return lines.joined(separator: "\n")
    }
}
