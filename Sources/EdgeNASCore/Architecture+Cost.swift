/// Analytic size and compute of one network, per image, as the format defines them.
public struct ArchitectureCost: Hashable, Sendable, CustomStringConvertible {
    /// Trainable scalars: convolution and linear weights and biases, norm scales and
    /// shifts, embeddings. BatchNorm running statistics are not counted.
    public var params: Int
    /// Multiply-accumulates of convolutions, linear layers and the two attention matrix
    /// products (Q·Kᵀ and A·V) for one image. Norms, activations, pooling, softmax,
    /// additions and the SSM scan's element-wise work are not counted.
    public var macs: Int

    /// Creates a cost from counted Params and MACs; FLOPs follow as 2 · MACs.
    public init(params: Int, macs: Int) {
        self.params = params
        self.macs = macs
    }

    /// Floating-point operations for one image: 2 · MACs.
    public var flops: Int { 2 * macs }

    /// ``flops`` in units of 10⁶.
    public var megaFLOPs: Double { Double(flops) / 1e6 }

    /// ``params`` in units of 10⁶.
    public var megaParams: Double { Double(params) / 1e6 }

    /// `Params 478602, MACs 17592832, MFLOPs 35.186`.
    public var description: String {
        "Params \(params), MACs \(macs), MFLOPs \(String(format3: megaFLOPs))"
    }

    fileprivate static func + (lhs: ArchitectureCost, rhs: ArchitectureCost) -> ArchitectureCost {
        ArchitectureCost(params: lhs.params + rhs.params, macs: lhs.macs + rhs.macs)
    }
}

extension String {
    /// `value` with three decimals, without Foundation's locale-dependent formatting.
    fileprivate init(format3 value: Double) {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(abs(thousandths) % 1000)
        let sign = thousandths < 0 ? "-" : ""
        self = "\(sign)\(abs(thousandths) / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

extension Architecture {
    /// Params, MACs and FLOPs counted analytically, layer by layer, exactly as the
    /// format specifies (and as the reference implementation counts them).
    ///
    /// Assumes a valid architecture (see ``validate()``).
    public var cost: ArchitectureCost {
        let classifier: ArchitectureCost
        let features: ArchitectureCost
        switch body {
        case .mbconv(let mbconv):
            features = mbconv.featureCost(input: input)
            let width = mbconv.featureShape(input: input).channels
            classifier = linearCost(inputs: width, outputs: classes, bias: true, tokens: 1)
        case .vit(let vit):
            features = vit.featureCost(input: input)
            classifier = layerNormCost(width: vit.embed)
                + linearCost(inputs: vit.embed, outputs: classes, bias: true, tokens: 1)
        case .mamba(let mamba):
            features = mamba.featureCost(input: input)
            classifier = layerNormCost(width: mamba.embed)
                + linearCost(inputs: mamba.embed, outputs: classes, bias: true, tokens: 1)
        }
        return features + classifier
    }
}

// MARK: - Per-layer counts

/// A convolution over a `height`×`width` output: weights (input / groups)·k²·output,
/// MACs = weights · output pixels.
private func convolutionCost(
    inputs: Int, outputs: Int, kernel: Int, groups: Int = 1, bias: Bool, outputPixels: Int
) -> ArchitectureCost {
    let weights = (inputs / groups) * kernel * kernel * outputs
    return ArchitectureCost(params: weights + (bias ? outputs : 0), macs: weights * outputPixels)
}

/// A linear layer applied to `tokens` vectors: MACs = inputs · outputs · tokens.
private func linearCost(inputs: Int, outputs: Int, bias: Bool, tokens: Int) -> ArchitectureCost {
    ArchitectureCost(params: inputs * outputs + (bias ? outputs : 0), macs: inputs * outputs * tokens)
}

/// BatchNorm's learnable scale and shift.
private func batchNormCost(channels: Int) -> ArchitectureCost {
    ArchitectureCost(params: 2 * channels, macs: 0)
}

/// LayerNorm's learnable scale and shift.
private func layerNormCost(width: Int) -> ArchitectureCost {
    ArchitectureCost(params: 2 * width, macs: 0)
}

/// Patch embedding (a patch×patch convolution with bias, stride patch) plus the learned
/// positional embedding of N × embed.
private func patchEmbeddingCost(input: ImageShape, patch: Int, embed: Int, tokens: Int) -> ArchitectureCost {
    convolutionCost(inputs: input.channels, outputs: embed, kernel: patch, bias: true, outputPixels: tokens)
        + ArchitectureCost(params: tokens * embed, macs: 0)
}

extension MBConvBody {
    /// Everything before global average pooling: stem, blocks, head convolution.
    fileprivate func featureCost(input: ImageShape) -> ArchitectureCost {
        let stemShape = stemOutputShape(input: input)
        var total = convolutionCost(
            inputs: input.channels, outputs: stem.channels, kernel: stem.kernel, bias: false,
            outputPixels: stemShape.height * stemShape.width)
            + batchNormCost(channels: stem.channels)
        for layout in blockLayouts(input: input) {
            total = total + layout.cost
        }
        if headChannels > 0 {
            let last = lastBlockOutputShape(input: input)
            total = total
                + convolutionCost(
                    inputs: last.channels, outputs: headChannels, kernel: 1, bias: false,
                    outputPixels: last.height * last.width)
                + batchNormCost(channels: headChannels)
        }
        return total
    }
}

extension MBConvBlockLayout {
    /// Params and MACs of this block: expansion, depthwise, squeeze-excite, projection,
    /// each convolution with its BatchNorm.
    public var cost: ArchitectureCost {
        let hidden = hiddenChannels
        let inputPixels = inputShape.height * inputShape.width
        let outputPixels = outputShape.height * outputShape.width
        var total = ArchitectureCost(params: 0, macs: 0)
        if expand > 1 {
            total = total
                + convolutionCost(inputs: inputChannels, outputs: hidden, kernel: 1, bias: false, outputPixels: inputPixels)
                + batchNormCost(channels: hidden)
        }
        total = total
            + convolutionCost(
                inputs: hidden, outputs: hidden, kernel: kernel, groups: hidden, bias: false, outputPixels: outputPixels)
            + batchNormCost(channels: hidden)
        if let squeeze = squeezeChannels {
            // Both 1×1 convolutions act on the pooled 1×1 map.
            total = total
                + convolutionCost(inputs: hidden, outputs: squeeze, kernel: 1, bias: true, outputPixels: 1)
                + convolutionCost(inputs: squeeze, outputs: hidden, kernel: 1, bias: true, outputPixels: 1)
        }
        return total
            + convolutionCost(inputs: hidden, outputs: outputChannels, kernel: 1, bias: false, outputPixels: outputPixels)
            + batchNormCost(channels: outputChannels)
    }
}

extension ViTBody {
    /// Patch and positional embedding plus every layer, before the final LayerNorm.
    fileprivate func featureCost(input: ImageShape) -> ArchitectureCost {
        let tokens = tokenCount(input: input)
        var total = patchEmbeddingCost(input: input, patch: patch, embed: embed, tokens: tokens)
        for layer in layers {
            let hidden = layer.mlpHidden(embed: embed)
            // Q·Kᵀ and A·V: each N·N·embed multiply-accumulates summed over the heads.
            let attentionProducts = ArchitectureCost(params: 0, macs: 2 * tokens * tokens * embed)
            total = total
                + layerNormCost(width: embed)
                + linearCost(inputs: embed, outputs: 3 * embed, bias: true, tokens: tokens)
                + attentionProducts
                + linearCost(inputs: embed, outputs: embed, bias: true, tokens: tokens)
                + layerNormCost(width: embed)
                + linearCost(inputs: embed, outputs: hidden, bias: true, tokens: tokens)
                + linearCost(inputs: hidden, outputs: embed, bias: true, tokens: tokens)
        }
        return total
    }
}

extension MambaBody {
    /// Patch and positional embedding plus every layer, before the final LayerNorm.
    fileprivate func featureCost(input: ImageShape) -> ArchitectureCost {
        let tokens = tokenCount(input: input)
        var total = patchEmbeddingCost(input: input, patch: patch, embed: embed, tokens: tokens)
        for layer in layers {
            let inner = layer.innerChannels(embed: embed)
            total = total
                + layerNormCost(width: embed)
                + linearCost(inputs: embed, outputs: 2 * inner, bias: false, tokens: tokens)
                + directionCost(layer: layer, inner: inner, tokens: tokens)
                + directionCost(layer: layer, inner: inner, tokens: tokens)
                + linearCost(inputs: inner, outputs: embed, bias: false, tokens: tokens)
        }
        return total
    }

    /// One scan direction: depthwise causal Conv1d with bias, the Δ projections, B and C
    /// projections, and the A_log (e × state) and D (e) parameters.
    private func directionCost(layer: MambaLayer, inner: Int, tokens: Int) -> ArchitectureCost {
        let convolution = ArchitectureCost(
            params: inner * layer.conv + inner, macs: inner * layer.conv * tokens)
        let stateParameters = ArchitectureCost(params: inner * layer.state + inner, macs: 0)
        return convolution
            + linearCost(inputs: inner, outputs: deltaRank, bias: false, tokens: tokens)
            + linearCost(inputs: deltaRank, outputs: inner, bias: true, tokens: tokens)
            + linearCost(inputs: inner, outputs: layer.state, bias: false, tokens: tokens)
            + linearCost(inputs: inner, outputs: layer.state, bias: false, tokens: tokens)
            + stateParameters
    }
}
