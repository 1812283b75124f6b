import EdgeNASTensor
import Foundation
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct AutogradTests {
        @Test func gradientsAccumulateAcrossBackwardCalls() {
            let x = Tensor(shape: [3], storage: [1, -2, 3], requiresGradient: true)
            (x * x).sum().backward()
            (x * x).sum().backward()
            #expect(x.gradient == [4, -8, 12], "two backward passes of Σx² add 2x twice")
        }

        @Test func zeroGradientStartsTheNextAccumulationFromZero() {
            let x = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            (x * 3).sum().backward()
            x.zeroGradient()
            #expect(x.gradient == [0, 0])
            (x * 5).sum().backward()
            #expect(x.gradient == [5, 5])
        }

        @Test func aTensorUsedTwiceGetsBothContributions() {
            let x = Tensor(shape: [2], storage: [2, -3], requiresGradient: true)
            (x * x + x).sum().backward()
            #expect(x.gradient == [2 * 2 + 1, 2 * -3 + 1], "d(x² + x)/dx = 2x + 1")

            let y = Tensor(shape: [2], storage: [1, 1], requiresGradient: true)
            let shared = y * 2
            (concatenate([shared, shared], axis: 0) * Tensor(shape: [4], storage: [1, 2, 3, 4])).sum().backward()
            #expect(y.gradient == [2 * (1 + 3), 2 * (2 + 4)], "an intermediate used twice passes on both gradients")
        }

        @Test func diamondGraphsGetEveryPath() {
            // a → b, a → c, (b, c) → d: a's gradient is the sum over both paths.
            let a = Tensor(shape: [1], storage: [0.5], requiresGradient: true)
            let b = EdgeNASTensor.exp(a)
            let c = a * 3
            (b * c).sum().backward()
            let expected = Foundation.exp(Float(0.5)) * 3 * 0.5 + Foundation.exp(Float(0.5)) * 3
            expectClose(a.gradient ?? [], [expected], atol: 1e-6, rtol: 1e-6, "d(eᵃ·3a)/da")
        }

        @Test func withoutGradientsRecordsNothing() {
            let x = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            let y = withoutGradients { relu(x * x).sum() }
            #expect(!y.requiresGradient)
            y.backward()
            #expect(x.gradient == nil, "nothing flows back from a result computed without gradients")
            #expect((x * x).sum().requiresGradient, "recording resumes after withoutGradients")
        }

        @Test func resultsOfConstantsNeedNoGradient() {
            let constant = Tensor(shape: [2], storage: [1, 2])
            let parameter = Tensor(shape: [2], storage: [3, 4], requiresGradient: true)
            #expect(!(constant * constant).requiresGradient)
            (constant * parameter).sum().backward()
            #expect(constant.gradient == nil, "a constant input receives no gradient")
            #expect(parameter.gradient == [1, 2])
        }

        @Test func detachedCutsTheGraph() {
            let x = Tensor(shape: [2], storage: [3, -1], requiresGradient: true)
            let frozen = x.detached()
            #expect(!frozen.requiresGradient && frozen.storage == x.storage)
            (frozen * x).sum().backward()
            #expect(x.gradient == [3, -1], "only the path through the live x counts: d(c·x)/dx = c")
        }

        @Test func intermediateGradientsAreReleasedAfterBackward() {
            let x = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            let hidden = x * 2
            let activated = relu(hidden)
            let loss = activated.sum()
            loss.backward()
            #expect(hidden.gradient == nil && activated.gradient == nil && loss.gradient == nil)
            #expect(x.gradient == [2, 2], "leaves keep theirs")
        }

        @Test func backwardOnAConstantLossDoesNothing() {
            let loss = Tensor(shape: [3], storage: [1, 2, 3]).sum()
            loss.backward()
            #expect(loss.gradient == nil)
        }

        /// 300k nodes: deeper than a recursive backward or a recursive release survives on an
        /// 8 MB stack (the release used to recurse once per node).
        @Test func aLongChainBackPropagatesAndIsReleasedWithoutOverflowingTheStack() {
            let x = Tensor(shape: [1], storage: [1], requiresGradient: true)
            var y = x
            for _ in 0..<300_000 { y = y + 0 }
            y.sum().backward()
            #expect(x.gradient == [1])
            y = x  // releases the whole chain
            #expect(!y.requiresGradient || y === x)
        }
    }
}
