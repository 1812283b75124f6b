import Dispatch
import EdgeNASTensor
import Synchronization
import Testing
import TestSupport

/// Runs `body` with the engine on `count` workers.
func withThreadCount<Result>(_ count: Int, _ body: () -> Result) -> Result {
    Compute.withThreads(count, body)
}

extension TensorEngineTests {
    /// The parallel kernels split work by image, channel, (batch, head) pair or matrix rows and
    /// columns; two workers must agree with one up to float rounding.
    @Suite struct ThreadCountTests {
        /// A computation big enough for each kernel to take its parallel path with two workers.
        struct Scenario: Sendable, CustomTestStringConvertible {
            let name: String
            let inputShapes: [[Int]]
            let apply: @Sendable ([Tensor]) -> Tensor

            var testDescription: String { name }
        }

        static let scenarios: [Scenario] = [
            Scenario(name: "conv2d 3x3, batch 4 (one image per worker)", inputShapes: [[4, 3, 8, 8], [5, 3, 3, 3], [5]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1)
            },
            Scenario(name: "conv2d 3x3, batch 1 (parallel GEMM inside, > 2M flops)", inputShapes: [[1, 16, 24, 24], [32, 16, 3, 3]]) {
                conv2d($0[0], weight: $0[1], padding: 1)
            },
            Scenario(name: "conv2d 1x1 pointwise, batch 1 (parallel GEMM inside)", inputShapes: [[1, 64, 24, 24], [64, 64, 1, 1]]) {
                conv2d($0[0], weight: $0[1])
            },
            Scenario(name: "depthwise conv2d 5x5 stride 2, batch 4", inputShapes: [[4, 6, 9, 9], [6, 1, 5, 5]]) {
                conv2d($0[0], weight: $0[1], stride: 2, padding: 2, groups: 6)
            },
            Scenario(name: "batched matmul, batch 4", inputShapes: [[4, 6, 5], [4, 5, 7]]) { matmul($0[0], $0[1]) },
            Scenario(name: "matmul [256, 128] · [128, 64] (rows split)", inputShapes: [[256, 128], [128, 64]]) {
                matmul($0[0], $0[1])
            },
            Scenario(name: "matmul [64, 128] · [128, 256] (columns split)", inputShapes: [[64, 128], [128, 256]]) {
                matmul($0[0], $0[1])
            },
            Scenario(name: "linear [128, 256] → 128", inputShapes: [[128, 256], [128, 256], [128]]) {
                linear($0[0], weight: $0[1], bias: $0[2])
            },
            Scenario(name: "attention, batch 2 × 2 heads", inputShapes: [[2, 5, 24]]) {
                multiHeadSelfAttention(qkv: $0[0], heads: 2)
            },
            Scenario(name: "batchNorm training, 128 planes of 64", inputShapes: [[16, 8, 8, 8], [8], [8]]) {
                batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: Tensor.zeros([8]),
                          runningVariance: Tensor.full([8], 1), training: true)
            },
            Scenario(name: "gelu over 140 000 values", inputShapes: [[140_000]]) { gelu($0[0]) },
            Scenario(name: "batchNorm + hswish fused, 128 planes of 64", inputShapes: [[16, 8, 8, 8], [8], [8]]) {
                batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: Tensor.zeros([8]),
                          runningVariance: Tensor.full([8], 1), training: true, activation: .hswish)
            },
            Scenario(name: "layerNorm, 512 rows of 64 (rows split)", inputShapes: [[512, 64], [64], [64]]) {
                layerNorm($0[0], weight: $0[1], bias: $0[2])
            },
            Scenario(name: "linear [1024, 64] → 96 (weight gradient split over rows)",
                     inputShapes: [[1024, 64], [96, 64], [96]]) {
                linear($0[0], weight: $0[1], bias: $0[2])
            },
            Scenario(name: "residual sum over 140 000 values", inputShapes: [[140_000], [140_000]]) { $0[0] + $0[1] },
            Scenario(name: "per-plane gate [16, 64, 8, 8] ⊙ [16, 64, 1, 1]", inputShapes: [[16, 64, 8, 8], [16, 64, 1, 1]]) {
                $0[0] * $0[1]
            },
            Scenario(name: "causal depthwise conv1d, batch 5 (samples split, per-worker weight sums)",
                     inputShapes: [[5, 9, 20], [20, 4], [20]]) {
                causalDepthwiseConv1d($0[0], weight: $0[1], bias: $0[2])
            },
        ]

        /// Output and every input gradient of L = Σ y ⊙ R at `threads` workers.
        static func run(_ scenario: Scenario, threads: Int) -> [[Float]] {
            withThreadCount(threads) {
                let inputs = scenario.inputShapes.enumerated().map { randomTensor($0.element, seed: 181 + UInt64($0.offset)) }
                let output = scenario.apply(inputs)
                let weights = randomTensor(output.shape, seed: 180, requiresGradient: false)
                (output * weights).sum().backward()
                return [output.storage] + inputs.map { $0.gradient ?? [] }
            }
        }

        @Test(arguments: scenarios)
        func twoThreadsAgreeWithOne(_ scenario: Scenario) {
            let single = Self.run(scenario, threads: 1)
            let parallel = Self.run(scenario, threads: 2)
            let labels = ["output"] + scenario.inputShapes.indices.map { "gradient of input \($0)" }
            for (label, (one, two)) in zip(labels, zip(single, parallel)) {
                #expect(!one.isEmpty, "\(scenario.name): \(label) missing")
                expectClose(two, one, atol: 1e-5, rtol: 1e-5, "\(scenario.name) \(label), seeds 180–183")
            }
        }

        @Test func threadCountIsAtLeastOne() {
            #expect(Compute.withThreads(0) { Compute.threadCount } == 1)
            #expect(Compute.withThreads(-3) { Compute.threadCount } == 1)
        }

        /// The count is scoped, not process state: two runs side by side keep their own, an
        /// inner scope does not leak out, and a kernel's pool workers run single-threaded.
        @Test func threadCountIsScopedPerRun() {
            #expect(Compute.threadCount == Compute.defaultThreadCount)
            Compute.withThreads(3) {
                #expect(Compute.threadCount == 3)
                Compute.withThreads(1) { #expect(Compute.threadCount == 1) }
                #expect(Compute.threadCount == 3)
            }
            #expect(Compute.threadCount == Compute.defaultThreadCount)
            let seen = Mutex<[Int: Int]>([:])
            DispatchQueue.concurrentPerform(iterations: 2) { run in
                Compute.withThreads(run + 2) {
                    for _ in 0..<200 { seen.withLock { $0[run] = max($0[run] ?? 0, Compute.threadCount) } }
                    #expect(Compute.threadCount == run + 2)
                }
            }
            #expect(seen.withLock { $0 } == [0: 2, 1: 3])
        }
    }
}
