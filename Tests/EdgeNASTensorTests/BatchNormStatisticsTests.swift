import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    /// Batch statistics are computed in one pass of shifted moments: a large channel mean
    /// must not cancel the variance away.
    @Suite struct BatchNormStatisticsTests {
        @Test func varianceSurvivesALargeChannelMean() {
            let noise = randomTensor([8, 2, 5, 5], seed: 91, requiresGradient: false)
            let values = noise.storage.enumerated().map { index, value in
                (index / 25) % 2 == 0 ? 1000 + 0.01 * value : -3 + value
            }
            let x = Tensor(shape: [8, 2, 5, 5], storage: values)
            let runningMean = Tensor.zeros([2]), runningVariance = Tensor.full([2], 1)
            _ = batchNorm(x, weight: Tensor.full([2], 1), bias: Tensor.zeros([2]), runningMean: runningMean,
                          runningVariance: runningVariance, training: true, momentum: 1)
            for channel in 0..<2 {
                let channelValues = values.indices.filter { ($0 / 25) % 2 == channel }.map { Double(values[$0]) }
                let mean = channelValues.reduce(0, +) / Double(channelValues.count)
                let unbiased = channelValues.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(channelValues.count - 1)
                expectClose([runningMean.storage[channel]], [Float(mean)], atol: 1e-4, rtol: 1e-6, "channel \(channel) mean, seed 91")
                expectClose([runningVariance.storage[channel]], [Float(unbiased)], atol: 1e-7, rtol: 1e-3,
                            "channel \(channel) variance, seed 91")
            }
        }
    }
}
