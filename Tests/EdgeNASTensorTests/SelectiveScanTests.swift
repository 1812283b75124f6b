@testable import EdgeNASTensor
import Foundation
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct SelectiveScanTests {
        /// Inputs of a small scan: Δ positive (it comes out of a softplus), A_log around log(1…S).
        static func inputs(batch: Int, tokens: Int, channels: Int, states: Int, seed: UInt64) -> [Tensor] {
            let aLog = randomTensor([channels, states], seed: seed + 4, low: -0.2, high: 0.2)
            for index in aLog.storage.indices { aLog.storage[index] += Foundation.log(Float(index % states + 1)) }
            return [
                randomTensor([batch, tokens, channels], seed: seed),
                randomTensor([batch, tokens, channels], seed: seed + 1, low: 0.05, high: 1.5),
                randomTensor([batch, tokens, states], seed: seed + 2),
                randomTensor([batch, tokens, states], seed: seed + 3),
                aLog,
                randomTensor([channels], seed: seed + 5, low: 0.5, high: 1.5),
            ]
        }

        static func scan(_ x: [Tensor]) -> Tensor {
            selectiveScan(x[0], delta: x[1], b: x[2], c: x[3], aLog: x[4], d: x[5])
        }

        // 19 channels: one 16-lane block of the backward kernel and a remainder.
        @Test(arguments: [(1, 4, 3, 2), (2, 6, 5, 4), (3, 1, 2, 3), (1, 3, 19, 2)])
        func gradientsMatchCentralDifferences(shape: (Int, Int, Int, Int)) {
            let (batch, tokens, channels, states) = shape
            expectGradientsMatch("selectiveScan \(shape)",
                                 inputs: Self.inputs(batch: batch, tokens: tokens, channels: channels, states: states, seed: 90),
                                 h: 1e-2, atol: 3e-3, rtol: 2e-2, Self.scan)
        }

        /// The first token's output is D·v + Δ·v·(B·C): nothing to decay yet.
        @Test func firstTokenHasNoHistory() {
            let x = Self.inputs(batch: 1, tokens: 3, channels: 2, states: 3, seed: 95)
            let y = Self.scan(x)
            for e in 0..<2 {
                var bc: Float = 0
                for s in 0..<3 { bc += x[2].storage[s] * x[3].storage[s] }
                let expected = x[5].storage[e] * x[0].storage[e] + x[1].storage[e] * x[0].storage[e] * bc
                #expect(abs(y.storage[e] - expected) < 1e-5)
            }
        }

        /// Samples are scanned independently: a batch gives what each sample alone gives,
        /// on one worker or two.
        @Test func batchAndThreadCountDoNotChangeResults() {
            let x = Self.inputs(batch: 4, tokens: 7, channels: 6, states: 4, seed: 97)
            let single = Compute.withThreads(1) {
                let y = Self.scan(x)
                (y * randomTensor(y.shape, seed: 99, requiresGradient: false)).sum().backward()
                return y
            }
            let singleGradients = x.map { $0.gradient! }
            x.forEach { $0.gradient = nil }
            let double = Compute.withThreads(2) {
                let y = Self.scan(x)
                (y * randomTensor(y.shape, seed: 99, requiresGradient: false)).sum().backward()
                return y
            }
            #expect(single.storage == double.storage)
            for (index, tensor) in x.enumerated() {
                expectClose(tensor.gradient!, singleGradients[index], atol: 1e-6, rtol: 1e-5, "input \(index)")
            }
        }
    }
}
