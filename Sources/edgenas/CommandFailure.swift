import ArgumentParser
import Foundation

/// Failures that end a command, each with its own exit code so that scripts can tell bad
/// input from an infeasible request or a crash.
enum CommandFailure: Error, CustomStringConvertible {
    /// The user's files or arguments are wrong (exit 64, EX_USAGE/EX_DATAERR family).
    case badInput(String)
    /// Training diverged or another numerical failure (exit 70, EX_SOFTWARE).
    case training(String)

    var description: String {
        switch self {
        case let .badInput(message), let .training(message): return message
        }
    }

    var exitCode: Int32 {
        switch self {
        case .badInput: return 64
        case .training: return 70
        }
    }
}
