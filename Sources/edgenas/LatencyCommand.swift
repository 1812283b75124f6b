import ArgumentParser
import EdgeNASCore
import EdgeNASLatency
import Foundation

/// `edgenas latency`: predicted latency of one architecture from a latency table.
struct Latency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict an architecture's latency on a device from its latency table.",
        discussion: """
        Splits the architecture into its blocks, looks up each block's median in the table \
        written by `edgenas profile`, takes the runtime's per-call overhead off every block and \
        adds it back once, and applies the table's calibration line when there is one:

          predicted = a · (Σ max(median − overhead, 0) + overhead) + b

        The calibration models (`profile --calibrate N`) that share the architecture's blocks \
        then correct that line: the prediction is the line times the weighted median of their \
        measured-to-line ratios, each weighted by the block time it shares, with the line \
        itself as one vote. An architecture that shares nothing with them keeps the line.

        Nothing is run. A block the table lacks is an error that names the first missing \
        signatures and the `edgenas profile` command that measures them.

        Examples:
          edgenas latency arch.json --table latency-tables/host-x86_64-ort-t1.sqlite
            0.412 ms predicted on host-x86_64-ort-t1 (11 blocks, calibrated)
          edgenas latency arch.json --table latency-tables/host-x86_64-ort-t1.sqlite --json
            {"predicted_ms": 0.412, "blocks": [{"signature": "mbconv_stem/...", "median_ms": 0.021}, ...], ...}
        """
    )

    @OptionGroup var file: ArchitectureFile

    @Option(help: ArgumentHelp("The latency table written by `edgenas profile`.", valueName: "path.sqlite"))
    var table: String

    @Flag(help: #"Print {"predicted_ms": X, "blocks": [...]} instead of text."#)
    var json = false

    func run() throws {
        let architecture = try file.load()
        let latencyTable = try openTable(table, device: nil, create: false)
        let (prediction, deviceID) = try withCommandErrors {
            let predictor = try LatencyPredictor(table: latencyTable)
            return (try predictor.predict(architecture), predictor.deviceID)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(prediction), as: UTF8.self))
        } else {
            let calibration = !prediction.calibrated ? "not calibrated"
                : prediction.localCorrection == 1 ? "calibrated"
                : String(format: "calibrated; the family line says %.3f ms, the calibration models sharing its blocks %+.1f%%",
                         prediction.lineMilliseconds, (prediction.localCorrection - 1) * 100)
            print(String(format: "%.3f ms predicted on %@ (%d blocks, %@)", prediction.predictedMilliseconds, deviceID,
                         prediction.blocks.count, calibration))
        }
    }
}
