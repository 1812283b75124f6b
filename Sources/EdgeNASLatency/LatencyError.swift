import EdgeNASCore

/// Why a latency table could not be opened, filled or used. Every message names the file
/// and says what to do.
public enum LatencyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The table file does not exist and was not to be created.
    case tableNotFound(path: String)
    /// The file exists but is not an SQLite database, or SQLite reports it damaged.
    case notADatabase(path: String, reason: String)
    /// An SQLite database that EdgeNAS did not write.
    case notALatencyTable(path: String)
    /// An EdgeNAS table written by a newer EdgeNAS.
    case newerSchema(path: String, version: Int, supported: Int)
    /// A table of another device.
    case foreignDevice(path: String, tableDevice: String, requestedDevice: String)
    /// Same device id, but the device file changed a setting the numbers depend on.
    case deviceChanged(path: String, field: String, table: String, device: String)
    /// A new table needs a device to describe.
    case deviceRequired(path: String)
    /// A zero-length file where a table was to be read (profile can fill it).
    case emptyTable(path: String)
    /// The table (or its folder) cannot be written, and the command needs to write it.
    case notWritable(path: String)
    /// The disk filled while the table was written; everything committed before is kept.
    case diskFull(path: String)
    /// Another I/O error while writing the table.
    case writeFailed(path: String, reason: String)
    /// Blocks of an architecture that the table has not measured.
    case missingSignatures(path: String, deviceID: String, missing: [String], missingCount: Int)
    /// The runtime cannot be loaded or does not fit the request.
    case runtimeUnavailable(String)
    /// An `.onnx` file that cannot be read or timed.
    case unreadableModel(path: String, reason: String)
    /// Calibration needs at least two models for a line fit.
    case tooFewCalibrationModels(Int)
    /// The kernel refused the device's `cpu_affinity` (no listed CPU exists here).
    case affinityRefused(deviceID: String, cores: [Int], available: Int)
    /// The device asks for more threads than this machine has cores.
    case tooManyThreads(deviceID: String, threads: Int, available: Int)

    public var description: String {
        switch self {
        case let .tableNotFound(path):
            return "\(path): no such latency table; measure one with `edgenas profile --space SPACE --device DEVICE.yaml "
                + "--table \(path)`"
        case let .notADatabase(path, reason):
            return "\(path): not a latency table (\(reason)); it was left untouched. Move it away or pass another "
                + "--table path"
        case let .notALatencyTable(path):
            return "\(path): an SQLite database, but not an EdgeNAS latency table; it was left untouched. Pass another "
                + "--table path"
        case let .newerSchema(path, version, supported):
            return "\(path): latency table schema \(version) is newer than this EdgeNAS supports (\(supported)); "
                + "use a newer edgenas or another --table path"
        case let .foreignDevice(path, tableDevice, requestedDevice):
            return "\(path): the table belongs to device '\(tableDevice)', not '\(requestedDevice)'; it was left "
                + "untouched. Use latency-tables/\(requestedDevice).sqlite or that device's file"
        case let .deviceChanged(path, field, table, device):
            return "\(path): the table was measured with \(field) \(table) but the device file now says \(device); "
                + "numbers would mix. Restore the device file or profile into a new --table"
        case let .deviceRequired(path):
            return "\(path): a new latency table needs a device (--device DEVICE.yaml)"
        case let .emptyTable(path):
            return "\(path): an empty file, not a latency table yet; it was left untouched. Fill it with `edgenas profile "
                + "--space SPACE --device DEVICE.yaml --table \(path)`, or pass another --table path"
        case let .notWritable(path):
            return "\(path): the latency table or its folder is read-only, and this command writes to it; copy the "
                + "table to a writable folder and pass --table with the copy"
        case let .diskFull(path):
            return "\(path): the disk is full; the measurements committed so far (if any) are kept. Free some space "
                + "and run the same command again to go on"
        case let .writeFailed(path, reason):
            return "\(path): cannot write the latency table (\(reason)); the measurements committed so far are kept. "
                + "Check the disk and run the same command again"
        case let .missingSignatures(path, deviceID, missing, missingCount):
            let shown = missing.prefix(3).joined(separator: ", ")
            let more = missingCount > 3 ? " and \(missingCount - 3) more" : ""
            return "\(path): \(missingCount) block(s) not measured: \(shown)\(more). Fill them with `edgenas profile "
                + "--space SPACE --device DEVICE.yaml --table \(path)` (the space this architecture comes from and "
                + "the device file with id '\(deviceID)')"
        case let .runtimeUnavailable(reason):
            return "cannot time models: \(reason)"
        case let .unreadableModel(path, reason):
            return "\(path): cannot time this model: \(reason)"
        case let .affinityRefused(deviceID, cores, available):
            return "device '\(deviceID)': cannot pin to cpu_affinity \(cores): this machine has CPUs 0-\(available - 1); "
                + "fix cpu_affinity in the device file or remove it"
        case let .tooManyThreads(deviceID, threads, available):
            return "device '\(deviceID)' asks for \(threads) threads but this machine has \(available) cores; timings "
                + "would measure the scheduler, not the device. Profile on the device itself, or lower threads in the "
                + "device file (and its id) to at most \(available)"
        case let .tooFewCalibrationModels(count):
            return "calibration fits a line and needs at least 2 models, got \(count)"
        }
    }
}
