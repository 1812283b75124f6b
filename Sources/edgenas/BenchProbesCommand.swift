import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASProbes
import EdgeNASTensor
import Foundation

/// One probe's training step, in plain fields, so that a peer (the PyTorch script) can
/// rebuild the same work from the JSON.
struct ProbeStepSpec: Codable {
    var kind: String
    var outputs: Int
    /// "cross_entropy" or "mse".
    var loss: String
    /// Cross-entropy: logits per group (LGJ: one group per grid slot).
    var classes: Int?
}

struct ProbeBenchmarkReport: Codable {
    var architectureID: String
    var family: String
    var threads: Int
    var matmulPrecision: String
    var dataVolume: Int
    var epochs: Int
    var batchSize: Int
    var evaluationCount: Int
    var resolution: Int
    var learningRate: Float
    var weightDecay: Float
    var maximumGradientNorm: Float
    var probes: [ProbeStepSpec]
    /// Wall time of the six probes, one per repeat.
    var seconds: [Double]
    var medianSeconds: Double
    /// Forward + backward of every training step and the forwards of scoring, counted as
    /// `bench ops` counts them (3 × 2·MACs per trained sample).
    var flops: Double
    var gflopsPerSecond: Double
    var sgemmPeakGflopsPerSecond: Double
    var fractionOfSgemmPeak: Double
}

struct BenchProbes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes",
        abstract: "Time one candidate's six probes at a fixed data volume and epochs.",
        discussion: """
        What the search spends its time on: for each probe a fresh network (3 input channels) \
        with a one-Linear head, trained with AdamW and gradient clipping at the probe batch \
        size (32) for --epochs passes over --data-volume samples, then scored on the held-out \
        set. Reports the wall time of the six probes (median of --repeats after one warm-up), \
        the GFLOP/s reached and the fraction of the sgemm peak measured in the same run. \
        scripts/bench-probes-vs-pytorch.py runs the same steps in PyTorch CPU, interleaved.

        Examples:
          edgenas bench probes --arch benchmarks/architectures/mbconv-tiny.json --threads 1
          edgenas bench probes --arch A.json --data-volume 256 --epochs 2 --repeats 5 --json
        """
    )

    @Option(help: "Architecture JSON file.")
    var arch: String

    @Option(help: "Training samples per probe (whole batches).")
    var dataVolume: Int = 256

    @Option(help: "Epochs per probe.")
    var epochs: Int = 2

    @Option(help: "Timed repeats (after one warm-up run).")
    var repeats: Int = 3

    @Option(help: ArgumentHelp("Real images the probes draw from (default: Fashion-MNIST).", valueName: "path"))
    var images: String?

    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard dataVolume >= 2 else { throw ValidationError("--data-volume must be at least 2, got \(dataVolume)") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    func run() throws { try precisionOptions.scoped { try threadOptions.scoped(execute) } }

    private func execute() throws {
        let architecture = try loadArchitecture(arch)
        var configuration = ProbeConfiguration()
        configuration.resolution = architecture.input.height
        let dataset = try images.map { try loadDataset($0, input: architecture.input, classes: architecture.classes).training }
        let suite: ProbeSuite
        do { suite = try ProbeSuite(configuration: configuration, images: dataset, seed: 0) } catch {
            throw CommandFailure.badInput("\(error)")
        }
        let volume = suite.effectiveDataVolume(dataVolume)
        func runOnce() throws -> Double {
            do { return try suite.evaluate(architecture, dataVolume: volume, epochs: epochs, seed: 0).seconds } catch {
                throw CommandFailure.badInput("\(arch): \(error)")
            }
        }
        _ = try runOnce()
        var seconds: [Double] = []
        for repeatIndex in 0..<repeats {
            seconds.append(try runOnce())
            if !json { writeToStandardError(String(format: "  repeat %d: %.2f s\n", repeatIndex + 1, seconds.last!)) }
        }
        let median = seconds.sorted()[seconds.count / 2]
        let flops = Self.probeFLOPs(architecture, configuration: configuration, dataVolume: volume, epochs: epochs)
        let peak = measureSgemmPeak(minimumSeconds: 0.5)
        let gflops = flops / median / 1e9
        let report = ProbeBenchmarkReport(
            architectureID: architecture.id, family: architecture.family.rawValue, threads: Compute.threadCount,
            matmulPrecision: Compute.matrixPrecision.rawValue, dataVolume: volume,
            epochs: epochs, batchSize: configuration.batchSize, evaluationCount: configuration.evaluationCount,
            resolution: configuration.resolution, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay,
            maximumGradientNorm: configuration.maximumGradientNorm,
            probes: ProbeKind.allCases.map { kind in
                switch configuration.loss(kind) {
                case let .crossEntropy(classes):
                    return ProbeStepSpec(kind: kind.rawValue, outputs: configuration.outputCount(kind), loss: "cross_entropy", classes: classes)
                case .meanSquaredError:
                    return ProbeStepSpec(kind: kind.rawValue, outputs: configuration.outputCount(kind), loss: "mse", classes: nil)
                }
            },
            seconds: seconds, medianSeconds: median, flops: flops, gflopsPerSecond: gflops, sgemmPeakGflopsPerSecond: peak,
            fractionOfSgemmPeak: gflops / peak)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(String(format: "%@ (%@): six probes at D %d, E %d, batch %d, %d threads, %@ matrix products: median %.2f s "
                     + "(%.2f–%.2f s over %d), %.2f GFLOP/s, %.0f%% of the float32 sgemm peak (%.1f GFLOP/s)",
                     architecture.id, architecture.family.rawValue, volume, epochs, configuration.batchSize, report.threads,
                     report.matmulPrecision, median,
                     seconds.min()!, seconds.max()!, seconds.count, gflops, report.fractionOfSgemmPeak * 100, peak))
    }

    /// The probes' floating-point work: every trained sample costs forward + backward
    /// (3 × 2·MACs of the 3-channel network), every scored sample a forward; visual memory
    /// also scores its training samples. The heads are left out (under 1 % here).
    static func probeFLOPs(_ architecture: Architecture, configuration: ProbeConfiguration, dataVolume: Int, epochs: Int) -> Double {
        var threeChannels = architecture
        threeChannels.input.channels = 3
        let forward = 2 * Double(threeChannels.cost.macs)
        let probes = Double(ProbeKind.allCases.count)
        let trained = probes * Double(dataVolume * epochs)
        let scored = probes * Double(configuration.evaluationCount) + Double(dataVolume)
        return 3 * forward * trained + forward * scored
    }
}
