import ArgumentParser
import Foundation
import EdgeNASTensor

@main
struct EdgeNASCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgenas",
        abstract: "Hardware-aware neural architecture search for edge boards.",
        discussion: """
        Profile a board's per-block latencies, search a space of MBConv CNNs, Vision \
        Transformers or Mamba models under Params/FLOPs/latency limits, score candidates with \
        six brief vision probes, and export the winner to ONNX.

        Start with `edgenas demo` to check the engine on Fashion-MNIST.
        """,
        subcommands: [Search.self, Worker.self, Profile.self, Latency.self, Validate.self, Rank.self, Sample.self, Count.self, Train.self, Export.self, Predict.self,
                      Demo.self, Bench.self]
    )

    /// Parses and runs a subcommand; a `CommandFailure` becomes one `error:` line on stderr
    /// and its own exit code, and so does any other error a command let through (see
    /// `CommandFailure(unmapped:)`): ArgumentParser reports only its own errors, which would
    /// otherwise turn anything else into exit status 1.
    static func main() {
        // OpenBLAS may have loaded kernels older than this processor (see BLASKernelChoice).
        BLASKernelChoice.restartWithBetterKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let failure: CommandFailure
            if let mapped = error as? CommandFailure {
                failure = mapped
            } else if exitCode(for: error) != .failure {
                exit(withError: error)
            } else {
                failure = CommandFailure(unmapped: error)
            }
            FileHandle.standardError.write(Data("error: \(failure.description)\n".utf8))
            Foundation.exit(failure.exitCode)
        }
    }
}
