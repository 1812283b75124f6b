import EdgeNASCore
import EdgeNASTensor
import Testing
import TestSupport

/// Two layers under named children, as networks nest them.
final class ConvolutionBlock: Module {
    let convolution: Conv2d
    let normalization: BatchNorm

    init(channels: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        convolution = Conv2d(inChannels: channels, outChannels: channels, kernel: 3, groups: channels, using: &generator)
        normalization = BatchNorm(channels: channels)
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] { [("conv", convolution), ("norm", normalization)] }

    func callAsFunction(_ x: Tensor) -> Tensor { normalization(convolution(x)) }
}

/// Overwrites `tensor` with seeded uniform values (layers start from constant scales and zero biases).
func randomize(_ tensor: Tensor, seed: UInt64, low: Float = -1, high: Float = 1) {
    tensor.storage = randomTensor(tensor.shape, seed: seed, low: low, high: high, requiresGradient: false).storage
}

extension TensorEngineTests {
    @Suite struct LayerTests {
        @Test(arguments: [(groups: 1, stride: 1), (groups: 3, stride: 2), (groups: 1, stride: 2)])
        func conv2dLayerGradientsMatchCentralDifferences(groups: Int, stride: Int) throws {
            var generator = SeededGenerator(seed: 131)
            let layer = Conv2d(inChannels: 3, outChannels: 3, kernel: 3, stride: stride, groups: groups, bias: true,
                               using: &generator)
            let bias = try #require(layer.bias)
            randomize(bias, seed: 132)
            let x = randomTensor([2, 3, 5, 5], seed: 133)
            expectGradientsMatch("Conv2d groups \(groups) stride \(stride) seeds 131–133",
                                 inputs: [x, layer.weight, bias]) { layer($0[0]) }
        }

        @Test func conv2dLayerPadsToKeepTheSizeAndNamesItsParameters() {
            var generator = SeededGenerator(seed: 134)
            let layer = Conv2d(inChannels: 4, outChannels: 8, kernel: 5, groups: 2, bias: true, using: &generator)
            #expect(layer.padding == 2)
            #expect(layer.weight.shape == [8, 2, 5, 5])
            #expect(layer(Tensor.zeros([1, 4, 6, 6])).shape == [1, 8, 6, 6])
            #expect(layer.namedParameters().map(\.name) == ["weight", "bias"])
            #expect(layer.parameterCount == 8 * 2 * 5 * 5 + 8)
        }

        @Test(arguments: [true, false])
        func linearLayerGradientsMatchCentralDifferences(hasBias: Bool) throws {
            var generator = SeededGenerator(seed: 141)
            let layer = Linear(inFeatures: 4, outFeatures: 3, bias: hasBias, using: &generator)
            var inputs = [randomTensor([2, 3, 4], seed: 142), layer.weight]
            if hasBias {
                let bias = try #require(layer.bias)
                randomize(bias, seed: 143)
                inputs.append(bias)
            }
            expectGradientsMatch("Linear bias \(hasBias) seeds 141–143", inputs: inputs) { layer($0[0]) }
        }

        @Test(arguments: [true, false])
        func batchNormLayerGradientsMatchCentralDifferences(training: Bool) {
            let layer = BatchNorm(channels: 3)
            randomize(layer.weight, seed: 151, low: 0.5, high: 1.5)
            randomize(layer.bias, seed: 152)
            randomize(layer.runningMean, seed: 153, low: -0.5, high: 0.5)
            randomize(layer.runningVariance, seed: 154, low: 0.5, high: 2)
            layer.setTrainingMode(training)
            let x = randomTensor([4, 3, 2, 2], seed: 155, low: -2, high: 2)
            expectGradientsMatch("BatchNorm training \(training) seeds 151–155",
                                 inputs: [x, layer.weight, layer.bias]) { layer($0[0]) }
        }

        @Test func layerNormLayerGradientsMatchCentralDifferences() {
            let layer = LayerNorm(features: 6)
            randomize(layer.weight, seed: 161, low: 0.5, high: 1.5)
            randomize(layer.bias, seed: 162)
            let x = randomTensor([2, 3, 6], seed: 163, low: -2, high: 2)
            expectGradientsMatch("LayerNorm seeds 161–163", inputs: [x, layer.weight, layer.bias]) { layer($0[0]) }
        }

        @Test func nestedModulesNameTheirStateWithDots() {
            let block = ConvolutionBlock(channels: 2, seed: 171)
            #expect(block.namedParameters().map(\.name) == ["conv.weight", "norm.weight", "norm.bias"])
            #expect(block.namedBuffers().map(\.name) == ["norm.running_mean", "norm.running_var"])
            #expect(block.namedState().count == 5)
            #expect(block.parameterCount == 2 * 1 * 3 * 3 + 2 + 2)
        }

        @Test func trainingModeReachesNestedBatchNorms() {
            let block = ConvolutionBlock(channels: 2, seed: 172)
            block.setTrainingMode(false)
            #expect(!block.normalization.isTraining)
            block.setTrainingMode(true)
            #expect(block.normalization.isTraining)
        }
    }
}
