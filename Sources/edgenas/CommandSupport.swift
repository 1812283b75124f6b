import ArgumentParser
import EdgeNASCore
import EdgeNASLatency
import Foundation

// Helpers shared by the commands that read spaces, devices and latency tables.

/// Exit status 130 (128 + SIGINT) after saying what was kept.
func interrupted(_ message: String) -> ExitCode {
    writeToStandardError("\ninterrupted: \(message)\n")
    return ExitCode(130)
}

/// Progress, warnings and logs go to standard error; standard output carries results.
func writeToStandardError(_ text: String) {
    ProgressBar.writeToStandardError(text)
}

/// A duration in seconds, for rates and reports.
/// Says that the reference graph is being timed for the machine's speed now: a few seconds
/// in which `profile` and `validate` otherwise show nothing.
func announceReferenceTiming(seconds: Double) {
    writeToStandardError(String(format: "drift: timing the reference graph for the machine's speed now (about %.0f s)\n", seconds))
}

func seconds(_ duration: Duration) -> Double { duration.seconds }

/// The validated space at `path`; a bad file is `CommandFailure.badInput`.
func loadSpace(_ path: String) throws -> SearchSpace {
    do { return try SearchSpace(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw CommandFailure.badInput("\(error)")
    }
}

/// The spaces at `paths`, searched or profiled as one (they must share input and classes),
/// with their shares of the candidates.
func loadSpaceUnion(_ paths: [String], weights: [Double]? = nil) throws -> SearchSpaceUnion {
    let spaces = try paths.map(loadSpace)
    do { return try SearchSpaceUnion(spaces, weights: weights) } catch { throw CommandFailure.badInput("--space: \(error)") }
}

/// The device file at `path`; a bad file is `CommandFailure.badInput` naming the field.
func loadDevice(_ path: String) throws -> DeviceProfile {
    do { return try DeviceProfile.load(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw CommandFailure.badInput("\(error)")
    }
}

/// `--table` as given, or `latency-tables/<device id>.sqlite` (its directory created when
/// `creating`). An explicit table's directory must exist.
func resolvedTablePath(_ table: String?, device: DeviceProfile, creating: Bool) throws -> String {
    let path = table ?? "latency-tables/\(device.id).sqlite"
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
        guard table == nil else {
            throw CommandFailure.badInput("\(path): directory \(directory.relativePath) does not exist; create it first")
        }
        if creating { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
    } else if !isDirectory.boolValue {
        throw CommandFailure.badInput("\(path): \(directory.relativePath) is not a directory")
    }
    // Before measuring anything: a table that cannot be written wastes the run.
    if creating {
        do { try OutputPath.checkFile(path, option: "--table") } catch { throw CommandFailure.badInput("\(error)") }
    }
    return path
}

/// Opens a latency table, refusing foreign and corrupt files as bad input. A table that is
/// not to be created is only read: a read-only copy works, and nothing is ever written to it.
func openTable(_ path: String, device: DeviceProfile?, create: Bool) throws -> LatencyTable {
    try withCommandErrors { try LatencyTable(path: path, device: device, createIfMissing: create, readOnly: !create) }
}

/// Library errors a user can fix become `badInput` (exit 64); anything else is internal (70).
func withCommandErrors<Value>(_ body: () throws -> Value) throws -> Value {
    do {
        return try body()
    } catch let error as CommandFailure {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch let error as LatencyError {
        throw CommandFailure.badInput(error.description)
    } catch {
        throw CommandFailure.internalError("\(error)")
    }
}
