import EdgeNASCore

extension ONNXGraphBuilder {
    /// The stem on images [batch, C, H, W]: Conv(stem.kernel, stem.stride) with BatchNorm
    /// folded in → activation. Engine names: `prefix.conv.*`, `prefix.bn.*`.
    ///
    /// - Returns: the value [batch, stem.channels, H′, W′].
    public mutating func mbconvStem(_ images: String, stem: MBConvStem, inputChannels: Int, activation: Activation,
                                    prefix: String = "stem") -> String {
        convolutionUnit(images, prefix: prefix, inputChannels: inputChannels, outputChannels: stem.channels,
                        kernel: stem.kernel, stride: stem.stride, activation: activation)
    }

    /// One inverted-residual block on [batch, cin, H, W]: expand 1×1 (when expand > 1) →
    /// depthwise k×k → squeeze-excite (when se) → project 1×1 → + input (stride 1 and
    /// cin == cout).
    ///
    /// Squeeze-excite is GlobalAveragePool → Conv 1×1 (bias) → Relu → Conv 1×1 (bias) →
    /// HardSigmoid → Mul, with the engine's Linear weights `se.fc1|fc2.weight` [out, in]
    /// reshaped to [out, in, 1, 1].
    ///
    /// - Parameter prefix: the block's engine name; `stages.S.blocks.B` from `layout` when nil.
    /// - Returns: the value [batch, cout, H′, W′].
    public mutating func mbconvBlock(_ x: String, layout: MBConvBlockLayout, activation: Activation,
                                     prefix: String? = nil) -> String {
        let prefix = prefix ?? "stages.\(layout.stageIndex).blocks.\(layout.blockIndex)"
        let hidden = layout.hiddenChannels
        var y = x
        if layout.expand > 1 {
            y = convolutionUnit(y, prefix: "\(prefix).expand", inputChannels: layout.inputChannels,
                                outputChannels: hidden, kernel: 1, stride: 1, activation: activation)
        }
        y = convolutionUnit(y, prefix: "\(prefix).depthwise", inputChannels: hidden, outputChannels: hidden,
                            kernel: layout.kernel, stride: layout.stride, groups: hidden, activation: activation)
        if let squeezed = layout.squeezeChannels {
            y = squeezeExcite(y, prefix: "\(prefix).se", channels: hidden, squeezed: squeezed)
        }
        y = convolutionUnit(y, prefix: "\(prefix).project", inputChannels: hidden, outputChannels: layout.outputChannels,
                            kernel: 1, stride: 1, activation: nil)
        guard layout.hasResidual else { return y }
        return node("Add", [x, y], name: "\(prefix)/Add")
    }

    /// The optional 1×1 head convolution (BatchNorm folded, activation) when
    /// `headChannels` > 0; the input unchanged otherwise.
    ///
    /// - Returns: the value [batch, headChannels (or inputChannels), H, W].
    public mutating func mbconvHead(_ x: String, inputChannels: Int, headChannels: Int, activation: Activation,
                                    prefix: String = "head") -> String {
        guard headChannels > 0 else { return x }
        return convolutionUnit(x, prefix: prefix, inputChannels: inputChannels, outputChannels: headChannels,
                               kernel: 1, stride: 1, activation: activation)
    }

    /// Global average pool → Flatten → Gemm(transB = 1) on a feature map [batch, F, H, W].
    ///
    /// - Returns: the logits [batch, classes].
    public mutating func pooledClassifier(_ x: String, features: Int, classes: Int,
                                          prefix: String = "classifier") -> String {
        let pooled = node("GlobalAveragePool", [x], name: "\(prefix)/GlobalAveragePool")
        let flat = node("Flatten", [pooled], name: "\(prefix)/Flatten", attributes: [Self.attribute("axis", int: 1)])
        return gemmClassifier(flat, prefix: prefix, features: features, classes: classes)
    }

    /// The whole `mbconv` network on images [batch, C, H, W]: stem, every block, head and
    /// classifier, with the engine's names.
    ///
    /// - Returns: the logits [batch, classes].
    public mutating func mbconvNetwork(_ images: String, body: MBConvBody, input: ImageShape, classes: Int) -> String {
        var x = mbconvStem(images, stem: body.stem, inputChannels: input.channels, activation: body.activation)
        for layout in body.blockLayouts(input: input) {
            x = mbconvBlock(x, layout: layout, activation: body.activation)
        }
        let lastChannels = body.lastBlockOutputShape(input: input).channels
        x = mbconvHead(x, inputChannels: lastChannels, headChannels: body.headChannels, activation: body.activation)
        return pooledClassifier(x, features: body.featureShape(input: input).channels, classes: classes)
    }

    /// x ⊙ hsigmoid(W₂ relu(W₁ pool(x) + b₁) + b₂), channel-wise.
    mutating func squeezeExcite(_ x: String, prefix: String, channels: Int, squeezed: Int) -> String {
        let pooled = node("GlobalAveragePool", [x], name: "\(prefix)/GlobalAveragePool")
        let reduced = pointwiseConvolutionWithBias(pooled, prefix: "\(prefix).fc1", inputChannels: channels,
                                                   outputChannels: squeezed)
        let rectified = node("Relu", [reduced], name: "\(prefix)/Relu")
        let expanded = pointwiseConvolutionWithBias(rectified, prefix: "\(prefix).fc2", inputChannels: squeezed,
                                                    outputChannels: channels)
        let scale = hardSigmoid(expanded, name: prefix)
        return node("Mul", [x, scale], name: "\(prefix)/Mul")
    }

    /// Conv 1×1 with bias from an engine Linear (`prefix.weight` [out, in], `prefix.bias`).
    private mutating func pointwiseConvolutionWithBias(_ x: String, prefix: String, inputChannels: Int,
                                                       outputChannels: Int) -> String {
        let weightName = addInitializer("\(prefix).weight", shape: [outputChannels, inputChannels, 1, 1],
                                        values: weight("\(prefix).weight", shape: [outputChannels, inputChannels]))
        let biasName = addInitializer("\(prefix).bias", shape: [outputChannels],
                                      values: weight("\(prefix).bias", shape: [outputChannels]))
        return node("Conv", [x, weightName, biasName], name: "\(prefix)/Conv",
                    attributes: [Self.attribute("kernel_shape", ints: [1, 1])])
    }
}
