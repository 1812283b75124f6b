import EdgeNASTensor
import Foundation
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct NormalizationAndLossTests {
        @Test(arguments: [[4, 3, 3, 3], [6, 3]], [true, false])
        func batchNormGradientMatchesCentralDifferences(inputShape: [Int], training: Bool) {
            let channels = inputShape[1]
            let x = randomTensor(inputShape, seed: 81, low: -2, high: 2)
            let weight = randomTensor([channels], seed: 82, low: 0.5, high: 1.5)
            let bias = randomTensor([channels], seed: 83)
            let runningMean = randomTensor([channels], seed: 84, low: -0.5, high: 0.5, requiresGradient: false)
            let runningVariance = randomTensor([channels], seed: 85, low: 0.5, high: 2, requiresGradient: false)
            expectGradientsMatch("batchNorm \(inputShape) training \(training) seeds 81–85", inputs: [x, weight, bias]) {
                batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: runningMean, runningVariance: runningVariance,
                          training: training)
            }
        }

        /// The fused normalisation + activation gives the values and gradients of the two
        /// operations one after the other, in training and inference, also when x's gradient
        /// already holds values (x feeds two branches) and for activations that need y.
        @Test(arguments: [ActivationFunction.relu6, .hswish, .gelu, .sigmoid], [true, false])
        func batchNormWithActivationMatchesTheActivationAfterIt(activation: ActivationFunction, training: Bool) {
            func run(fused: Bool) -> [[Float]] {
                let x = randomTensor([4, 3, 5, 5], seed: 88, low: -3, high: 3)
                let weight = randomTensor([3], seed: 89, low: 0.5, high: 1.5)
                let bias = randomTensor([3], seed: 90)
                let statistics = (mean: randomTensor([3], seed: 91, requiresGradient: false),
                                  variance: randomTensor([3], seed: 92, low: 0.5, high: 2, requiresGradient: false))
                let y = fused
                    ? batchNorm(x, weight: weight, bias: bias, runningMean: statistics.mean,
                                runningVariance: statistics.variance, training: training, activation: activation)
                    : activation(batchNorm(x, weight: weight, bias: bias, runningMean: statistics.mean,
                                           runningVariance: statistics.variance, training: training))
                let g = randomTensor(y.shape, seed: 93, requiresGradient: false)
                ((y * g).sum() + (x * x).sum()).backward()
                return [y.storage, x.gradient ?? [], weight.gradient ?? [], bias.gradient ?? [],
                        statistics.mean.storage, statistics.variance.storage]
            }
            let (fused, separate) = (run(fused: true), run(fused: false))
            let labels = ["output", "x gradient", "weight gradient", "bias gradient", "running mean", "running variance"]
            for (label, (one, two)) in zip(labels, zip(fused, separate)) {
                #expect(!one.isEmpty, "\(label) missing")
                expectClose(one, two, atol: 1e-5, rtol: 1e-5, "\(activation) training \(training) \(label), seeds 88–93")
            }
        }

        @Test func batchNormTrainingNormalizesEachChannelAndUpdatesRunningStatistics() {
            let x = randomTensor([4, 2, 3, 3], seed: 86, low: -2, high: 3, requiresGradient: false)
            let runningMean = Tensor.zeros([2])
            let runningVariance = Tensor.full([2], 1)
            let y = batchNorm(x, weight: Tensor.full([2], 1), bias: Tensor.zeros([2]), runningMean: runningMean,
                              runningVariance: runningVariance, training: true, momentum: 0.1, epsilon: 0)
            for channel in 0..<2 {
                let values = (0..<4).flatMap { n in (0..<9).map { y.storage[(n * 2 + channel) * 9 + $0] } }
                let inputs = (0..<4).flatMap { n in (0..<9).map { Double(x.storage[(n * 2 + channel) * 9 + $0]) } }
                let mean = values.reduce(0, +) / 36
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 36
                #expect(abs(mean) < 1e-5, "channel \(channel) mean \(mean) seed 86")
                #expect(abs(variance - 1) < 1e-4, "channel \(channel) variance \(variance) seed 86")
                let inputMean = inputs.reduce(0, +) / 36
                let unbiased = inputs.map { ($0 - inputMean) * ($0 - inputMean) }.reduce(0, +) / 35
                #expect(abs(Double(runningMean.storage[channel]) - 0.1 * inputMean) < 1e-6,
                        "channel \(channel) running mean: r ← 0.9·0 + 0.1·batch mean, seed 86")
                #expect(abs(Double(runningVariance.storage[channel]) - (0.9 + 0.1 * unbiased)) < 1e-6,
                        "channel \(channel) running variance: r ← 0.9·1 + 0.1·unbiased batch variance, seed 86")
            }
        }

        /// A long channel (64 planes of 28×28, folded into double sums in chunks) with a large
        /// mean: the batch statistics and the weight and bias gradients match double-precision
        /// sums over the same values; planes of 7×7 exercise the per-plane remainders.
        @Test(arguments: [28, 7])
        func batchNormStatisticsOfLongChannelsKeepTheirPrecision(size: Int) {
            let (batch, channels) = (64, 2)
            let plane = size * size
            let base = randomTensor([batch, channels, size, size], seed: 86, requiresGradient: false)
            let x = Tensor(shape: base.shape, storage: base.storage.map { 1000 + $0 * 0.01 }, requiresGradient: true)
            let weight = Tensor.full([channels], 1, requiresGradient: true), bias = Tensor.full([channels], 0, requiresGradient: true)
            let runningMean = Tensor.zeros([channels]), runningVariance = Tensor.full([channels], 1)
            let y = batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                              training: true, momentum: 1)
            let g = randomTensor(y.shape, seed: 87, requiresGradient: false)
            (y * g).sum().backward()
            for c in 0..<channels {
                var values: [Double] = [], gradients: [Double] = []
                for n in 0..<batch {
                    let offset = (n * channels + c) * plane
                    values += x.storage[offset..<offset + plane].map(Double.init)
                    gradients += g.storage[offset..<offset + plane].map(Double.init)
                }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                #expect(abs(Double(runningMean.storage[c]) - mean) < 1e-4, "channel \(c) mean")
                let unbiased = variance * Double(values.count) / Double(values.count - 1)
                #expect(abs(Double(runningVariance.storage[c]) / unbiased - 1) < 1e-3, "channel \(c) variance")
                let biasGradient = gradients.reduce(0, +)
                #expect(abs(Double(bias.gradient![c]) - biasGradient) < 1e-3 * max(1, abs(biasGradient)), "channel \(c) bias gradient")
                let inverse = 1 / (variance + 1e-5).squareRoot()
                let weightGradient = zip(gradients, values).map { $0 * ($1 - mean) * inverse }.reduce(0, +)
                #expect(abs(Double(weight.gradient![c]) - weightGradient) < 2e-2 * max(1, abs(weightGradient)), "channel \(c) weight gradient")
            }
        }

        @Test func batchNormInferenceUsesRunningStatisticsAndLeavesThemAlone() {
            let x = randomTensor([2, 2, 2], seed: 87, requiresGradient: false)
            let runningMean = Tensor(shape: [2], storage: [0.5, -1])
            let runningVariance = Tensor(shape: [2], storage: [4, 0.25])
            let y = batchNorm(x, weight: Tensor(shape: [2], storage: [2, 3]), bias: Tensor(shape: [2], storage: [0.1, 0.2]),
                              runningMean: runningMean, runningVariance: runningVariance, training: false, epsilon: 0)
            let expected = x.storage.enumerated().map { index, value -> Float in
                let channel = (index / 2) % 2
                return channel == 0 ? 2 * (value - 0.5) / 2 + 0.1 : 3 * (value + 1) / 0.5 + 0.2
            }
            expectClose(y.storage, expected, atol: 1e-6, rtol: 1e-6, "batchNorm inference seed 87")
            #expect(runningMean.storage == [0.5, -1] && runningVariance.storage == [4, 0.25])
        }

        // 37 features: two 16-lane blocks and a tail, as in the kernels' vector paths.
        @Test(arguments: [[2, 3, 6], [4, 5], [3, 37]])
        func layerNormGradientMatchesCentralDifferences(inputShape: [Int]) {
            let width = inputShape.last!
            let x = randomTensor(inputShape, seed: 91, low: -2, high: 2)
            let weight = randomTensor([width], seed: 92, low: 0.5, high: 1.5)
            let bias = randomTensor([width], seed: 93)
            expectGradientsMatch("layerNorm \(inputShape) seeds 91–93", inputs: [x, weight, bias]) {
                layerNorm($0[0], weight: $0[1], bias: $0[2])
            }
        }

        @Test func layerNormGivesEachRowZeroMeanAndUnitVariance() {
            let x = randomTensor([3, 8], seed: 94, low: -3, high: 5, requiresGradient: false)
            let y = layerNorm(x, weight: Tensor.full([8], 1), bias: Tensor.zeros([8]), epsilon: 0)
            for row in 0..<3 {
                let values = y.storage[(row * 8)..<(row * 8 + 8)]
                let mean = values.reduce(0, +) / 8
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
                #expect(abs(mean) < 1e-6 && abs(variance - 1) < 1e-5, "row \(row): mean \(mean), variance \(variance), seed 94")
            }
        }

        @Test(arguments: [[3, 5], [2, 2, 4], [2, 37]])
        func softmaxGradientMatchesCentralDifferences(inputShape: [Int]) {
            let x = randomTensor(inputShape, seed: 95, low: -3, high: 3)
            expectGradientsMatch("softmax \(inputShape) seed 95", inputs: [x]) { softmax($0[0]) }
        }

        @Test func softmaxMatchesItsDefinitionEvenForLargeLogits() {
            let rows: [[Double]] = [[1000, 1001, 1002], [-5, 0, 5], [-90, 0, 0]]
            let x = Tensor(shape: [3, 3], storage: rows.flatMap { $0.map(Float.init) })
            let expected = rows.flatMap { row -> [Float] in
                let largest = row.max()!
                let exponentials = row.map { Foundation.exp($0 - largest) }
                let total = exponentials.reduce(0, +)
                return exponentials.map { Float($0 / total) }
            }
            expectClose(softmax(x).storage, expected, atol: 1e-7, rtol: 1e-6, "softmax of \(rows)")
        }

        @Test(arguments: [1, 2, 4])
        func attentionGradientMatchesCentralDifferences(heads: Int) {
            let qkv = randomTensor([2, 3, 24], seed: 101, low: -1.5, high: 1.5)
            expectGradientsMatch("multiHeadSelfAttention heads \(heads) seed 101", inputs: [qkv]) {
                multiHeadSelfAttention(qkv: $0[0], heads: heads)
            }
        }

        /// 19 tokens: score rows longer than one 16-lane vector, softmax'ed in place.
        @Test func attentionOverManyTokensMatchesCentralDifferences() {
            let qkv = randomTensor([1, 19, 12], seed: 102, low: -1.5, high: 1.5)
            expectGradientsMatch("multiHeadSelfAttention 19 tokens seed 102", inputs: [qkv]) {
                multiHeadSelfAttention(qkv: $0[0], heads: 2)
            }
        }

        @Test func attentionOverIdenticalKeysAveragesTheValues() {
            // Equal keys give uniform attention: every output token is the mean of the values.
            let (tokens, embed) = (3, 4)
            var storage: [Float] = []
            for token in 0..<tokens {
                storage += [0.3, -0.2, 0.5, 1.0]                          // q
                storage += [1, 2, 3, 4]                                   // k, the same for every token
                storage += (0..<embed).map { Float(token * embed + $0) }  // v
            }
            let output = multiHeadSelfAttention(qkv: Tensor(shape: [1, tokens, 3 * embed], storage: storage), heads: 2)
            let meanValue = (0..<embed).map { column in Float((0..<tokens).map { $0 * embed + column }.reduce(0, +)) / Float(tokens) }
            expectClose(output.storage, Array([[Float]](repeating: meanValue, count: tokens).joined()), atol: 1e-5, rtol: 1e-5,
                        "attention with identical keys")
        }

        @Test(arguments: [Float(0), 0.1])
        func crossEntropyGradientMatchesCentralDifferences(labelSmoothing: Float) {
            let logits = randomTensor([4, 5], seed: 111, low: -3, high: 3)
            let labels = [2, 0, 4, 1]
            expectGradientsMatch("crossEntropy smoothing \(labelSmoothing) seed 111", inputs: [logits]) {
                crossEntropy(logits: $0[0], labels: labels, labelSmoothing: labelSmoothing)
            }
        }

        @Test(arguments: [Float(0), 0.1])
        func crossEntropyMatchesItsDefinition(labelSmoothing: Float) {
            let logits = randomTensor([4, 5], seed: 112, low: -3, high: 3, requiresGradient: false)
            let labels = [2, 0, 4, 1]
            var total = 0.0
            for row in 0..<4 {
                let values = (0..<5).map { Double(logits.storage[row * 5 + $0]) }
                let logSum = Foundation.log(values.map { Foundation.exp($0) }.reduce(0, +))
                for c in 0..<5 {
                    let target = (c == labels[row] ? 1 - Double(labelSmoothing) : 0) + Double(labelSmoothing) / 5
                    total -= target * (values[c] - logSum)
                }
            }
            let loss = crossEntropy(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
            #expect(loss.shape == [])
            expectClose([loss.item], [Float(total / 4)], atol: 1e-6, rtol: 1e-6, "crossEntropy smoothing \(labelSmoothing) seed 112")
        }

        @Test func meanSquaredErrorGradientMatchesCentralDifferences() {
            let prediction = randomTensor([3, 4], seed: 121)
            let target = randomTensor([3, 4], seed: 122)
            expectGradientsMatch("meanSquaredError seeds 121, 122", inputs: [prediction, target]) {
                meanSquaredError($0[0], $0[1])
            }
        }

        @Test func meanSquaredErrorIsTheMeanOfSquaredDifferences() {
            let prediction = Tensor(shape: [2, 2], storage: [1, 2, 3, 4])
            let target = Tensor(shape: [2, 2], storage: [0, 2, 5, 1])
            #expect(meanSquaredError(prediction, target).item == Float(1 + 0 + 4 + 9) / 4)
        }
    }
}
