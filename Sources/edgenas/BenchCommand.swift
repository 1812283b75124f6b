import ArgumentParser
import EdgeNASCore
import EdgeNASModels
import EdgeNASTensor
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine's speed, and the run stores' claim throughput.",
        discussion: """
        Benchmarks print absolute figures for this machine; compare them with a peer measured \
        in the same run (scripts/bench-ops-vs-pytorch.py does that for PyTorch CPU).
        """,
        subcommands: [BenchOps.self, BenchTrain.self, BenchProbes.self, BenchClaims.self]
    )
}

/// One benchmarked operation, described by plain fields so that a peer implementation
/// (the PyTorch comparison script) can rebuild exactly the same work from the JSON.
struct OperationSpec: Codable {
    /// "conv2d", "matmul" or "attention".
    var kind: String
    var name: String
    var batch: Int
    // conv2d
    var inChannels = 0, outChannels = 0, size = 0, kernel = 0, stride = 1, groups = 1
    // matmul: [rows, inner] · [inner, columns]
    var rows = 0, inner = 0, columns = 0
    // attention: qkv [batch, tokens, 3·embed]
    var tokens = 0, embed = 0, heads = 0

    /// Floating-point operations of forward + both gradients, counted as 3 × the forward's
    /// 2·MACs (forward, input gradient, weight gradient), the usual convention.
    var forwardBackwardFLOPs: Double {
        switch kind {
        case "conv2d":
            let out = convolutionOutputSize(size, kernel: kernel, stride: stride, padding: kernel / 2)
            let macs = Double(batch * outChannels * out * out) * Double(inChannels / groups * kernel * kernel)
            return 3 * 2 * macs
        case "matmul":
            return 3 * 2 * Double(rows) * Double(inner) * Double(columns)
        default:  // attention: q·kᵀ and p·v forward; backward has twice as many products
            return 3 * 2 * 2 * Double(batch) * Double(tokens * tokens) * Double(embed)
        }
    }

    static func convolution(_ name: String, batch: Int, in inChannels: Int, out outChannels: Int, size: Int,
                            kernel: Int, stride: Int = 1, depthwise: Bool = false) -> OperationSpec {
        var spec = OperationSpec(kind: "conv2d", name: name, batch: batch)
        (spec.inChannels, spec.outChannels, spec.size, spec.kernel, spec.stride) = (inChannels, outChannels, size, kernel, stride)
        spec.groups = depthwise ? inChannels : 1
        return spec
    }

    /// The kernels that dominate 28×28 MBConv and ViT networks, at batch 64.
    static let standardSet: [OperationSpec] = {
        var specs: [OperationSpec] = [
            convolution("conv3x3 16->32 28x28", batch: 64, in: 16, out: 32, size: 28, kernel: 3),
            convolution("conv3x3 stem 1->16 28x28", batch: 64, in: 1, out: 16, size: 28, kernel: 3),
            convolution("conv1x1 16->96 28x28", batch: 64, in: 16, out: 96, size: 28, kernel: 1),
            convolution("conv1x1 144->40 7x7", batch: 64, in: 144, out: 40, size: 7, kernel: 1),
        ]
        for kernel in [3, 5, 7] {
            for stride in [1, 2] {
                specs.append(convolution("depthwise k\(kernel) s\(stride) 96ch 28x28", batch: 64, in: 96, out: 96,
                                         size: 28, kernel: kernel, stride: stride, depthwise: true))
            }
        }
        specs.append(convolution("depthwise k3 s1 240ch 7x7", batch: 64, in: 240, out: 240, size: 7, kernel: 3,
                                 depthwise: true))
        var matmul = OperationSpec(kind: "matmul", name: "matmul 3136x96 · 96x384", batch: 1)
        (matmul.rows, matmul.inner, matmul.columns) = (64 * 49, 96, 384)
        specs.append(matmul)
        var square = OperationSpec(kind: "matmul", name: "matmul 1024x1024 · 1024x1024", batch: 1)
        (square.rows, square.inner, square.columns) = (1024, 1024, 1024)
        specs.append(square)
        for (tokens, embed, heads) in [(49, 96, 4), (16, 128, 4)] {
            var attention = OperationSpec(kind: "attention", name: "attention \(tokens) tokens d\(embed) h\(heads)", batch: 64)
            (attention.tokens, attention.embed, attention.heads) = (tokens, embed, heads)
            specs.append(attention)
        }
        return specs
    }()
}

struct OperationResult: Codable {
    var spec: OperationSpec
    var forwardBackwardMilliseconds: Double
    var gflopsPerSecond: Double
    var fractionOfSgemmPeak: Double
}

struct OperationBenchmarkReport: Codable {
    var threads: Int
    var blasCore: String
    var sgemmPeakGflopsPerSecond: Double
    var operations: [OperationResult]
}

struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time the main kernels forward+backward and the machine's sgemm peak.",
        discussion: """
        Each operation runs forward and backward (input and weight gradients) at the sizes of \
        28×28 networks (batch 64); the median of repeated runs is reported as milliseconds and \
        GFLOP/s, next to the sgemm peak measured in the same run (1024³, all worker threads).

        Examples:
          edgenas bench ops
          edgenas bench ops --threads 2 --json > ours.json
          python3 scripts/bench-ops-vs-pytorch.py     # adds PyTorch CPU and the ratios
        """
    )

    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    @Option(help: "Minimum measuring time per operation, in seconds.")
    var seconds: Double = 0.5

    @Option(help: "Run only operations whose name contains this text.")
    var filter: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive, got \(seconds)") }
    }

    func run() throws { try precisionOptions.scoped { try threadOptions.scoped(execute) } }

    private func execute() throws {
        let peak = measureSgemmPeak(minimumSeconds: seconds)
        var results: [OperationResult] = []
        for spec in OperationSpec.standardSet where filter.map({ spec.name.contains($0) }) ?? true {
            let step = makeForwardBackward(spec)
            let milliseconds = medianMilliseconds(minimumSeconds: seconds, step)
            let gflops = spec.forwardBackwardFLOPs / (milliseconds * 1e6)
            results.append(OperationResult(spec: spec, forwardBackwardMilliseconds: milliseconds,
                                           gflopsPerSecond: gflops, fractionOfSgemmPeak: gflops / peak))
            if !json {
                FileHandle.standardError.write(Data("  \(spec.name): \(String(format: "%.3f", milliseconds)) ms\n".utf8))
            }
        }
        let report = OperationBenchmarkReport(threads: Compute.threadCount, blasCore: Compute.blasCoreName,
                                              sgemmPeakGflopsPerSecond: peak, operations: results)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("threads \(report.threads), OpenBLAS \(report.blasCore), sgemm peak \(String(format: "%.1f", peak)) GFLOP/s")
        print("operation".padding(toLength: 34, withPad: " ", startingAt: 0) + "   fwd+bwd ms   GFLOP/s   of peak")
        for result in results {
            print(result.spec.name.padding(toLength: 34, withPad: " ", startingAt: 0)
                  + String(format: " %12.3f %9.1f %8.0f%%", result.forwardBackwardMilliseconds,
                           result.gflopsPerSecond, result.fractionOfSgemmPeak * 100))
        }
    }

    /// A closure that runs one forward + backward pass of `spec` on fixed random inputs.
    private func makeForwardBackward(_ spec: OperationSpec) -> () -> Void {
        var generator = SeededGenerator(seed: 1)
        func parameter(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, storage: Initializer.uniform(shape, low: -1, high: 1, using: &generator),
                   requiresGradient: true)
        }
        switch spec.kind {
        case "conv2d":
            let x = parameter([spec.batch, spec.inChannels, spec.size, spec.size])
            let weight = parameter([spec.outChannels, spec.inChannels / spec.groups, spec.kernel, spec.kernel])
            return {
                x.gradient = nil; weight.gradient = nil
                conv2d(x, weight: weight, stride: spec.stride, padding: spec.kernel / 2, groups: spec.groups).sum().backward()
            }
        case "matmul":
            let a = parameter([spec.rows, spec.inner]), b = parameter([spec.inner, spec.columns])
            return {
                a.gradient = nil; b.gradient = nil
                matmul(a, b).sum().backward()
            }
        default:
            let qkv = parameter([spec.batch, spec.tokens, 3 * spec.embed])
            return {
                qkv.gradient = nil
                multiHeadSelfAttention(qkv: qkv, heads: spec.heads).sum().backward()
            }
        }
    }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time full training steps of an architecture (forward, cross-entropy, backward, SGD update).",
        discussion: """
        Random inputs of the architecture's shape and random labels; reports samples per \
        second over the timed steps (after 3 warm-up steps) and the process's peak resident \
        memory. scripts/bench-train-vs-pytorch.py runs the same steps in PyTorch CPU.

        Examples:
          edgenas bench train --arch spaces/../arch.json --batch 64 --steps 30 --threads 2 --json
        """
    )

    @Option(help: "Architecture JSON file.")
    var arch: String

    @Option(help: "Batch size.")
    var batch: Int = 64

    @Option(help: "Timed training steps.")
    var steps: Int = 30

    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2, got \(batch)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws { try precisionOptions.scoped { try threadOptions.scoped(execute) } }

    private func execute() throws {
        let architecture = try loadArchitecture(arch)
        let model = NetworkBuilder.network(for: architecture, seed: 0)
        let input = architecture.input
        var generator = SeededGenerator(seed: 1)
        let images = Tensor(shape: [batch, input.channels, input.height, input.width],
                            storage: Initializer.normal([batch, input.channels, input.height, input.width],
                                                        standardDeviation: 1, using: &generator))
        let labels = (0..<batch).map { _ in generator.uniformIndex(below: architecture.classes) }
        let optimizer = SGD(parameters: model.parameters, learningRate: 0.01, momentum: 0.9)
        func step() {
            optimizer.zeroGradients()
            crossEntropy(logits: model(images), labels: labels).backward()
            optimizer.step()
        }
        for _ in 0..<3 { step() }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let samplesPerSecond = Double(batch * steps) / seconds
        let peakMegabytes = peakResidentMegabytes()
        if json {
            print(String(format: "{\"train_samples_per_s\": %.2f, \"peak_rss_mb\": %.1f, \"matmul_precision\": \"%@\"}",
                         samplesPerSecond, peakMegabytes, Compute.matrixPrecision.rawValue))
        } else {
            print(String(format: "%@: %.1f samples/s (batch %d, %d steps, %d threads, %@ matrix products), peak RSS %.1f MB",
                         architecture.id, samplesPerSecond, batch, steps, Compute.threadCount,
                         Compute.matrixPrecision.rawValue, peakMegabytes))
        }
    }
}

/// The process's peak resident set size in MB (VmHWM on Linux).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kilobytes / 1024
}

/// sgemm GFLOP/s at 1024³ through the engine's (parallel) GEMM path, on the current thread count.
func measureSgemmPeak(minimumSeconds: Double) -> Double {
    let size = 1024
    let a = Tensor.full([size, size], 0.5), b = Tensor.full([size, size], 0.25)
    // The float32 peak whatever precision the command runs at: it is the yardstick (and
    // float32 is never refused).
    let milliseconds = try! Compute.withMatrixPrecision(.float32) {
        medianMilliseconds(minimumSeconds: minimumSeconds) { _ = matmul(a, b) }
    }
    return 2 * Double(size * size * size) / (milliseconds * 1e6)
}

/// Median wall time of `body` after two warm-up calls, over at least 5 runs and
/// `minimumSeconds`.
func medianMilliseconds(minimumSeconds: Double, _ body: () -> Void) -> Double {
    body(); body()
    var samples: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    while samples.count < 5 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minimumSeconds {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        if samples.count >= 1000 { break }
    }
    samples.sort()
    return samples[samples.count / 2]
}
