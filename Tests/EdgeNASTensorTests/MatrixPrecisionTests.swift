@testable import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    /// `Compute.withMatrixPrecision(.bfloat16)`: large products with bfloat16 inputs where the
    /// machine runs them at speed, a clear refusal where it does not, and the setting carried
    /// to every worker and side-by-side run.
    @Suite struct MatrixPrecisionTests {
        static let bfloat16Runs = MatrixPrecision.bfloat16Unavailability == nil

        /// A product of [rows, depth] · [depth, columns] forward and backward (nn forward, nt for
        /// dA, tn for dB): the values and both gradients.
        static func product(rows: Int, depth: Int, columns: Int) -> (value: [Float], dA: [Float], dB: [Float]) {
            let a = randomTensor([rows, depth], seed: 1), b = randomTensor([depth, columns], seed: 2)
            let weights = randomTensor([rows, columns], seed: 3, requiresGradient: false)
            let c = matmul(a, b)
            (c * weights).sum().backward()
            return (c.storage, a.gradient!, b.gradient!)
        }

        static func largestDifference(_ x: [Float], _ y: [Float]) -> (absolute: Float, scale: Float) {
            (zip(x, y).map { abs($0 - $1) }.max()!, x.map(abs).max()!)
        }

        @Test(.enabled(if: bfloat16Runs, "this machine cannot run bfloat16 products at speed"))
        func bfloat16ProductsAgreeWithFloat32WithinTheirRounding() throws {
            // Split over two workers, each share is 2·256·160·128 = 10.5 M flops: above the
            // bfloat16 threshold, which applies to what one worker multiplies.
            let exact = Compute.withThreads(2) { Self.product(rows: 512, depth: 160, columns: 128) }
            let rounded = try Compute.withMatrixPrecision(.bfloat16) {
                Compute.withThreads(2) { Self.product(rows: 512, depth: 160, columns: 128) }
            }
            for (name, x, y) in [("C", exact.value, rounded.value), ("dA", exact.dA, rounded.dA), ("dB", exact.dB, rounded.dB)] {
                let (difference, scale) = Self.largestDifference(x, y)
                // Inputs carry 8 mantissa bits (relative error 2^-9); sums stay float32.
                #expect(difference <= 0.01 * scale, "\(name): off by \(difference) of \(scale)")
                // Not float32 under another name: the rounding shows.
                #expect(difference > 1e-5 * scale, "\(name): bit-identical to float32, bfloat16 did not run")
            }
        }

        @Test(.enabled(if: bfloat16Runs, "this machine cannot run bfloat16 products at speed"))
        func aNaNInAnOperandStaysNaNInBFloat16() throws {
            // One worker: 2·256·160·128 flops, above the threshold.
            var a = randomTensor([256, 160], seed: 4, requiresGradient: false).storage
            // All mantissa bits set: rounding to nearest would carry this NaN into the sign bit.
            a[5 * 160 + 7] = Float(bitPattern: 0x7fff_ffff)
            let left = Tensor(shape: [256, 160], storage: a)
            let right = randomTensor([160, 128], seed: 5, requiresGradient: false)
            let c = try Compute.withMatrixPrecision(.bfloat16) { Compute.withThreads(1) { matmul(left, right) } }
            #expect((0..<128).allSatisfy { c.storage[5 * 128 + $0].isNaN }, "row 5 holds a NaN input")
            #expect(c.storage[6 * 128..<256 * 128].allSatisfy { $0.isFinite })
        }

        @Test func smallProductsStayFloat32() throws {
            // 2·49·64·49 flops: attention's per-head size, faster in float32.
            let a = randomTensor([49, 64], seed: 6, requiresGradient: false)
            let b = randomTensor([64, 49], seed: 7, requiresGradient: false)
            let exact = matmul(a, b).storage
            let bound = Compute.$scopedMatrixPrecision.withValue(.bfloat16) { matmul(a, b).storage }
            #expect(exact == bound)
        }

        @Test(.enabled(if: !bfloat16Runs, "this machine runs bfloat16 products"))
        func aMachineWithoutBFloat16RefusesItBeforeRunningAnything() {
            var ran = false
            #expect(throws: MatrixPrecision.bfloat16Unavailability!) {
                try Compute.withMatrixPrecision(.bfloat16) { ran = true }
            }
            #expect(!ran)
        }

        @Test func theSettingReachesEveryKernelWorkerAndSideBySideRun() throws {
            let seen = Compute.$scopedMatrixPrecision.withValue(.bfloat16) {
                Compute.withThreads(2) {
                    var perWorker = [MatrixPrecision](repeating: .float32, count: 2)
                    perWorker.withUnsafeMutableBufferPointer { buffer in
                        let slots = UnsafeSendable(buffer.baseAddress!)
                        parallelChunks(2) { range in
                            for index in range { slots.value[index] = Compute.matrixPrecision }
                        }
                    }
                    return perWorker
                }
            }
            #expect(seen == [.bfloat16, .bfloat16])
            let perRun = try Compute.$scopedMatrixPrecision.withValue(.bfloat16) {
                try ConcurrentRuns(runners: 2, threadsPerRunner: 1).map(4) { _ in Compute.matrixPrecision }
            }
            #expect(perRun == [.bfloat16, .bfloat16, .bfloat16, .bfloat16])
            #expect(Compute.matrixPrecision == .float32, "the default outside any scope")
        }
    }
}
