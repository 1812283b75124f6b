import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct ConvolutionTests {
        struct ConvolutionCase: Sendable, CustomTestStringConvertible {
            let name: String
            var batch = 1
            let inChannels: Int
            let outChannels: Int
            let height: Int
            let width: Int
            let kernel: Int
            var stride = 1
            let padding: Int
            var groups = 1
            var hasBias = false

            var testDescription: String {
                "\(name): [\(batch), \(inChannels), \(height), \(width)] → \(outChannels) channels, " +
                    "k\(kernel) s\(stride) p\(padding) g\(groups)\(hasBias ? " bias" : "")"
            }

            func makeInputs(seed: UInt64, requiresGradient: Bool = true) -> [Tensor] {
                let x = randomTensor([batch, inChannels, height, width], seed: seed, requiresGradient: requiresGradient)
                let weight = randomTensor([outChannels, inChannels / groups, kernel, kernel], seed: seed + 1,
                                          requiresGradient: requiresGradient)
                let bias = randomTensor([outChannels], seed: seed + 2, requiresGradient: requiresGradient)
                return hasBias ? [x, weight, bias] : [x, weight]
            }

            func apply(_ inputs: [Tensor]) -> Tensor {
                conv2d(inputs[0], weight: inputs[1], bias: hasBias ? inputs[2] : nil,
                       stride: stride, padding: padding, groups: groups)
            }
        }

        static let gradientCases: [ConvolutionCase] = [
            ConvolutionCase(name: "3x3", batch: 2, inChannels: 3, outChannels: 4, height: 5, width: 5, kernel: 3, padding: 1),
            ConvolutionCase(name: "3x3 stride 2", batch: 2, inChannels: 3, outChannels: 4, height: 6, width: 6, kernel: 3,
                            stride: 2, padding: 1),
            ConvolutionCase(name: "1x1 pointwise", batch: 2, inChannels: 4, outChannels: 3, height: 3, width: 3, kernel: 1,
                            padding: 0, hasBias: true),
            ConvolutionCase(name: "1x1 stride 2", inChannels: 3, outChannels: 2, height: 5, width: 5, kernel: 1,
                            stride: 2, padding: 0),
            ConvolutionCase(name: "1x1 pointwise groups 2", batch: 2, inChannels: 4, outChannels: 6, height: 3, width: 3,
                            kernel: 1, padding: 0, groups: 2),
            ConvolutionCase(name: "5x5", inChannels: 2, outChannels: 3, height: 6, width: 6, kernel: 5, padding: 2),
            ConvolutionCase(name: "7x7", inChannels: 2, outChannels: 2, height: 7, width: 7, kernel: 7, padding: 3),
            ConvolutionCase(name: "7x7 stride 2", inChannels: 2, outChannels: 2, height: 8, width: 8, kernel: 7,
                            stride: 2, padding: 3),
            ConvolutionCase(name: "groups 2", batch: 2, inChannels: 4, outChannels: 6, height: 4, width: 4, kernel: 3,
                            padding: 1, groups: 2, hasBias: true),
            ConvolutionCase(name: "depthwise k3", batch: 2, inChannels: 3, outChannels: 3, height: 6, width: 6, kernel: 3,
                            padding: 1, groups: 3),
            ConvolutionCase(name: "depthwise k3 stride 2", batch: 2, inChannels: 3, outChannels: 3, height: 7, width: 7,
                            kernel: 3, stride: 2, padding: 1, groups: 3),
            ConvolutionCase(name: "depthwise k5", batch: 2, inChannels: 3, outChannels: 3, height: 6, width: 6, kernel: 5,
                            padding: 2, groups: 3, hasBias: true),
            ConvolutionCase(name: "depthwise k5 stride 2", batch: 2, inChannels: 3, outChannels: 3, height: 7, width: 7,
                            kernel: 5, stride: 2, padding: 2, groups: 3),
            ConvolutionCase(name: "depthwise k7", inChannels: 3, outChannels: 3, height: 7, width: 7, kernel: 7,
                            padding: 3, groups: 3),
            ConvolutionCase(name: "depthwise k7 stride 2", batch: 2, inChannels: 3, outChannels: 3, height: 8, width: 8,
                            kernel: 7, stride: 2, padding: 3, groups: 3, hasBias: true),
            ConvolutionCase(name: "depthwise non-square", inChannels: 2, outChannels: 2, height: 4, width: 7, kernel: 3,
                            padding: 1, groups: 2, hasBias: true),
            ConvolutionCase(name: "depthwise channel multiplier 2", inChannels: 2, outChannels: 4, height: 5, width: 5,
                            kernel: 3, padding: 1, groups: 2),
            ConvolutionCase(name: "with bias", batch: 2, inChannels: 2, outChannels: 3, height: 4, width: 4, kernel: 3,
                            padding: 1, hasBias: true),
            ConvolutionCase(name: "non-square", inChannels: 2, outChannels: 3, height: 4, width: 6, kernel: 3, padding: 1),
            ConvolutionCase(name: "non-square stride 2", inChannels: 2, outChannels: 3, height: 5, width: 8, kernel: 3,
                            stride: 2, padding: 1),
            ConvolutionCase(name: "padding 0", inChannels: 2, outChannels: 2, height: 5, width: 5, kernel: 3, padding: 0),
            ConvolutionCase(name: "depthwise padding 0", inChannels: 2, outChannels: 2, height: 5, width: 6, kernel: 3,
                            stride: 2, padding: 0, groups: 2),
            ConvolutionCase(name: "depthwise 7x7 stride 2 on a 3x3 map", inChannels: 2, outChannels: 2, height: 3, width: 3,
                            kernel: 7, stride: 2, padding: 3, groups: 2),
            // Rows longer than one vector that it does not divide (the last copy overlaps).
            ConvolutionCase(name: "depthwise k3 on 11 columns", batch: 2, inChannels: 2, outChannels: 2, height: 3,
                            width: 11, kernel: 3, padding: 1, groups: 2),
            ConvolutionCase(name: "depthwise k5 stride 2 on 13 columns", inChannels: 2, outChannels: 2, height: 4,
                            width: 13, kernel: 5, stride: 2, padding: 2, groups: 2),
            ConvolutionCase(name: "depthwise k3 stride 2 on 18 columns", batch: 2, inChannels: 2, outChannels: 2, height: 3,
                            width: 18, kernel: 3, stride: 2, padding: 1, groups: 2, hasBias: true),
        ]

        /// Kernels wider than the image plus its padding on one side, so that whole kernel
        /// columns fall off the right edge of the map (small late-stage maps of a NAS network).
        static let kernelWiderThanMapCases: [ConvolutionCase] = [
            ConvolutionCase(name: "5x5 stride 2 on a 2x2 map", inChannels: 2, outChannels: 3, height: 2, width: 2,
                            kernel: 5, stride: 2, padding: 2),
            ConvolutionCase(name: "7x7 stride 2 on a 3x3 map", batch: 2, inChannels: 2, outChannels: 2, height: 3, width: 3,
                            kernel: 7, stride: 2, padding: 3),
        ]

        @Test(arguments: gradientCases + kernelWiderThanMapCases)
        func convolutionGradientMatchesCentralDifferences(_ convolution: ConvolutionCase) {
            let inputs = convolution.makeInputs(seed: 61)
            expectGradientsMatch("conv2d \(convolution.testDescription) seeds 61–63", inputs: inputs, convolution.apply)
        }

        /// A network's first convolution sees a constant image: only the weights need gradients.
        @Test(arguments: gradientCases.filter { ["3x3 stride 2", "1x1 pointwise", "groups 2", "depthwise k5 stride 2"].contains($0.name) })
        func convolutionOfAConstantInputGivesWeightGradientsOnly(_ convolution: ConvolutionCase) {
            let inputs = convolution.makeInputs(seed: 67)
            let image = Tensor(shape: inputs[0].shape, storage: inputs[0].storage)
            let parameters = [image] + inputs.dropFirst()
            expectGradientsMatch("conv2d \(convolution.testDescription), constant input, seeds 67–69",
                                 inputs: parameters, convolution.apply)
            #expect(image.gradient == nil, "a constant input receives no gradient")
        }

        /// The forward pass against the defining sum, computed in Double.
        @Test(arguments: gradientCases + kernelWiderThanMapCases)
        func convolutionForwardMatchesDefiningSum(_ convolution: ConvolutionCase) {
            let inputs = convolution.makeInputs(seed: 64, requiresGradient: false)
            let expected = Self.referenceConvolution(convolution, inputs)
            let result = convolution.apply(inputs)
            #expect(result.shape == expected.shape, "\(convolution.testDescription)")
            expectClose(result.storage, expected.values, atol: 1e-5, rtol: 1e-5,
                        "conv2d \(convolution.testDescription) seeds 64–66")
        }

        /// y[n, o, i, j] = bias[o] + Σ_{c, u, v} w[o, c, u, v] · x[n, g·C/groups + c, i·s + u − p, j·s + v − p].
        static func referenceConvolution(_ convolution: ConvolutionCase,
                                         _ inputs: [Tensor]) -> (shape: [Int], values: [Float]) {
            let (x, weight) = (inputs[0].doubles, inputs[1].doubles)
            let bias = convolution.hasBias ? inputs[2].doubles : nil
            let (k, s, p) = (convolution.kernel, convolution.stride, convolution.padding)
            let outHeight = (convolution.height + 2 * p - k) / s + 1
            let outWidth = (convolution.width + 2 * p - k) / s + 1
            let inPerGroup = convolution.inChannels / convolution.groups
            let outPerGroup = convolution.outChannels / convolution.groups
            var values: [Float] = []
            for n in 0..<convolution.batch {
                for o in 0..<convolution.outChannels {
                    let group = o / outPerGroup
                    for i in 0..<outHeight {
                        for j in 0..<outWidth {
                            var total = bias?[o] ?? 0
                            for c in 0..<inPerGroup {
                                let channel = group * inPerGroup + c
                                for u in 0..<k {
                                    for v in 0..<k {
                                        let (row, column) = (i * s + u - p, j * s + v - p)
                                        guard row >= 0, row < convolution.height, column >= 0, column < convolution.width
                                        else { continue }
                                        let input = ((n * convolution.inChannels + channel) * convolution.height + row)
                                            * convolution.width + column
                                        total += weight[((o * inPerGroup + c) * k + u) * k + v] * x[input]
                                    }
                                }
                            }
                            values.append(Float(total))
                        }
                    }
                }
            }
            return ([convolution.batch, convolution.outChannels, outHeight, outWidth], values)
        }

        @Test(arguments: 1...4)
        func causalDepthwiseConv1dGradientMatchesCentralDifferences(kernel: Int) {
            let x = randomTensor([2, 5, 3], seed: 71)
            let weight = randomTensor([3, kernel], seed: 72)
            let bias = randomTensor([3], seed: 73)
            expectGradientsMatch("causalDepthwiseConv1d k\(kernel) seeds 71–73", inputs: [x, weight, bias]) {
                causalDepthwiseConv1d($0[0], weight: $0[1], bias: $0[2])
            }
        }

        /// y[b, t, e] = bias[e] + Σ_{j<k} w[e, j] · x[b, t + j − (k − 1), e]: token t sees only
        /// tokens ≤ t.
        @Test(arguments: 1...4)
        func causalDepthwiseConv1dForwardMatchesDefiningSum(kernel: Int) {
            let x = randomTensor([2, 5, 3], seed: 74, requiresGradient: false)
            let weight = randomTensor([3, kernel], seed: 75, requiresGradient: false)
            let bias = randomTensor([3], seed: 76, requiresGradient: false)
            var expected: [Float] = []
            for b in 0..<2 {
                for t in 0..<5 {
                    for e in 0..<3 {
                        var total = Double(bias.storage[e])
                        for j in 0..<kernel where t + j - (kernel - 1) >= 0 {
                            total += Double(weight.storage[e * kernel + j]) * Double(x.storage[(b * 5 + t + j - (kernel - 1)) * 3 + e])
                        }
                        expected.append(Float(total))
                    }
                }
            }
            expectClose(causalDepthwiseConv1d(x, weight: weight, bias: bias).storage, expected, atol: 1e-6, rtol: 1e-5,
                        "causalDepthwiseConv1d k\(kernel) seeds 74–76")
        }

        @Test func outputSizeFollowsTheFloorFormula() {
            #expect(convolutionOutputSize(28, kernel: 3, stride: 1, padding: 1) == 28)
            #expect(convolutionOutputSize(28, kernel: 3, stride: 2, padding: 1) == 14)
            #expect(convolutionOutputSize(7, kernel: 5, stride: 2, padding: 2) == 4)
            #expect(convolutionOutputSize(5, kernel: 3, stride: 1, padding: 0) == 3)
        }
    }
}
