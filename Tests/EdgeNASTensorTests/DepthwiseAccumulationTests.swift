import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    /// The depthwise backward pass writes a fresh input gradient directly and adds into an
    /// existing one: both paths must give the sum of every use's contribution.
    @Suite struct DepthwiseAccumulationTests {
        @Test(arguments: [(3, 1), (3, 2), (5, 2), (7, 1)])
        func anInputUsedTwiceReceivesBothDepthwiseGradients(kernel: Int, stride: Int) {
            let x = randomTensor([2, 4, 9, 9], seed: 81)
            let first = randomTensor([4, 1, kernel, kernel], seed: 82, requiresGradient: false)
            let second = randomTensor([4, 1, kernel, kernel], seed: 83, requiresGradient: false)
            func convolve(_ weight: Tensor) -> Tensor {
                conv2d(x, weight: weight, stride: stride, padding: kernel / 2, groups: 4).sum()
            }
            convolve(first).backward()
            let firstGradient = x.gradient!
            x.gradient = nil
            convolve(second).backward()
            let secondGradient = x.gradient!
            x.gradient = nil
            (convolve(first) + convolve(second)).backward()
            let expected = zip(firstGradient, secondGradient).map { $0 + $1 }
            expectClose(x.gradient!, expected, atol: 1e-5, rtol: 1e-5, "k\(kernel) s\(stride) seeds 81–83")
        }
    }
}
