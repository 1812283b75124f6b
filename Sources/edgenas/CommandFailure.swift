import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASLatency
import EdgeNASONNX
import EdgeNASSearch
import EdgeNASTensor
import Foundation

/// Failures that end a command, each with its own exit code so that scripts can tell bad
/// input from an infeasible request or a crash.
enum CommandFailure: Error, CustomStringConvertible {
    /// The user's files or arguments are wrong (exit 64, EX_USAGE/EX_DATAERR family).
    case badInput(String)
    /// Training diverged or another numerical failure (exit 70, EX_SOFTWARE).
    case training(String)
    /// The request cannot be met: no architecture of the space satisfies the limits (exit 65).
    case infeasible(String)
    /// Stopped on request (Ctrl-C) after saving what was done; `--resume` goes on (exit 130,
    /// the shell's code for SIGINT).
    case interrupted(String)
    /// EdgeNAS itself produced something wrong, e.g. an exported model the ONNX checker
    /// rejects: a bug to report, not the user's input (exit 70, EX_SOFTWARE).
    case internalError(String)

    var description: String {
        switch self {
        case let .badInput(message), let .training(message), let .infeasible(message), let .interrupted(message):
            return message
        case let .internalError(message): return "\(message) (an EdgeNAS bug: please report it with the input files)"
        }
    }

    var exitCode: Int32 {
        switch self {
        case .badInput: return 64
        case .infeasible: return 65
        case .interrupted: return 130
        case .training, .internalError: return 70
        }
    }
}

extension CommandFailure {
    /// An error that no command mapped to its own failure, classified so that no error ever
    /// exits with status 1: the library errors that name a user's file or option, and the
    /// system's file errors (a full disk, a read-only folder), are bad input (64); anything
    /// else is a bug (70).
    init(unmapped error: any Error) {
        switch error {
        case let error as ArchitectureError: self = .badInput(error.description)
        case let error as DatasetError: self = .badInput(error.description)
        case let error as LatencyError: self = .badInput(error.description)
        case let error as RankEntryError: self = .badInput(error.description)
        case let error as OutputPath.Problem: self = .badInput(error.description)
        case let error as CheckpointError: self = .badInput(error.description)
        case let error as SearchError:
            switch error {
            case .infeasible: self = .infeasible(error.description)
            case .interrupted: self = .interrupted(error.description)
            case .badInput, .runDatabase: self = .badInput(error.description)
            case .workers: self = .internalError(error.description)
            }
        case let error as ONNXExportError:
            if case .checkerRejected = error { self = .internalError(error.description) } else { self = .badInput(error.description) }
        default:
            let nsError = error as NSError
            let path = (nsError.userInfo[NSFilePathErrorKey] as? String) ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
            let fileError = nsError.domain == NSCocoaErrorDomain && (nsError.code >= 4 && nsError.code < 1000)
            if fileError || nsError.domain == NSPOSIXErrorDomain {
                let reason = OutputPath.systemReason(of: error)
                self = .badInput("\(path.map { "\($0): " } ?? "")\(reason); check the disk and the folder's permissions")
            } else {
                self = .internalError("\(error)")
            }
        }
    }
}
