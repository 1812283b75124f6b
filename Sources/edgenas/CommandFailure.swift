import ArgumentParser
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
