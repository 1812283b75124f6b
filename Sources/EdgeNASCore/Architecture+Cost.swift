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

    /// Floating-point operations for one image: 2 · MACs (saturating at `Int.max`, like
    /// every count here).
    public var flops: Int { Saturating.product(2, macs) }

    /// ``flops`` in units of 10⁶.
    public var megaFLOPs: Double { Double(flops) / 1e6 }

    /// ``params`` in units of 10⁶.
    public var megaParams: Double { Double(params) / 1e6 }

    /// `Params 478602, MACs 17592832, MFLOPs 35.186`.
    public var description: String {
        "Params \(params), MACs \(macs), MFLOPs \(String(format3: megaFLOPs))"
    }

    fileprivate static func + (lhs: ArchitectureCost, rhs: ArchitectureCost) -> ArchitectureCost {
        ArchitectureCost(params: Saturating.sum(lhs.params, rhs.params), macs: Saturating.sum(lhs.macs, rhs.macs))
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
    /// Exact for a valid architecture (see ``validate()``, which also keeps every count far
    /// below `Int.max`). Any other architecture still gets an answer without trapping: a
    /// count that would overflow saturates at `Int.max`.
    public var cost: ArchitectureCost {
        var total = ArchitectureCost(params: 0, macs: 0)
        forEachPart { _, cost, _ in total = total + cost }
        return total
    }

    /// Calls `body` with every part of the network in execution order: its place in the
    /// document, its Params and MACs, and the activation scalars it produces for one sample
    /// (see ``activationsPerSample``).
    func forEachPart(_ body: (ArchitecturePart, ArchitectureCost, Int) -> Void) {
        switch self.body {
        case .mbconv(let mbconv):
            mbconv.forEachPart(input: input, body)
            let width = mbconv.featureShape(input: input).channels
            body(.classifier, linearCost(inputs: width, outputs: classes, bias: true, tokens: 1), classes)
        case .vit(let vit):
            vit.forEachPart(input: input, body)
            body(.classifier, layerNormCost(width: vit.embed) + linearCost(inputs: vit.embed, outputs: classes, bias: true, tokens: 1),
                 classes)
        case .mamba(let mamba):
            mamba.forEachPart(input: input, body)
            body(.classifier, layerNormCost(width: mamba.embed)
                    + linearCost(inputs: mamba.embed, outputs: classes, bias: true, tokens: 1), classes)
        }
    }
}

/// A part of a network, as named in an error about its size.
enum ArchitecturePart: Hashable, Sendable {
    case stem
    case block(stage: Int, index: Int)
    case head
    case patchEmbedding
    case layer(Int)
    case classifier

    /// The JSON path of the part in an architecture document.
    var path: FieldPath {
        switch self {
        case .stem: return .root.key("stem")
        case let .block(stage, index): return .root.key("stages").index(stage).key("blocks").index(index)
        case .head: return .root.key("head").key("channels")
        case .patchEmbedding: return .root.key("patch")
        case let .layer(index): return .root.key("layers").index(index)
        case .classifier: return .root.key("classes")
        }
    }
}

// MARK: - Per-layer counts

/// A convolution over a `height`×`width` output: weights (input / groups)·k²·output,
/// MACs = weights · output pixels.
private func convolutionCost(
    inputs: Int, outputs: Int, kernel: Int, groups: Int = 1, bias: Bool, outputPixels: Int
) -> ArchitectureCost {
    let weights = Saturating.product(groups > 0 ? inputs / groups : inputs, kernel, kernel, outputs)
    return ArchitectureCost(params: Saturating.sum(weights, bias ? outputs : 0), macs: Saturating.product(weights, outputPixels))
}

/// A linear layer applied to `tokens` vectors: MACs = inputs · outputs · tokens.
private func linearCost(inputs: Int, outputs: Int, bias: Bool, tokens: Int) -> ArchitectureCost {
    ArchitectureCost(params: Saturating.sum(Saturating.product(inputs, outputs), bias ? outputs : 0),
                     macs: Saturating.product(inputs, outputs, tokens))
}

/// BatchNorm's learnable scale and shift.
private func batchNormCost(channels: Int) -> ArchitectureCost {
    ArchitectureCost(params: Saturating.product(2, channels), macs: 0)
}

/// LayerNorm's learnable scale and shift.
private func layerNormCost(width: Int) -> ArchitectureCost {
    ArchitectureCost(params: Saturating.product(2, width), macs: 0)
}

/// Patch embedding (a patch×patch convolution with bias, stride patch) plus the learned
/// positional embedding of N × embed.
private func patchEmbeddingCost(input: ImageShape, patch: Int, embed: Int, tokens: Int) -> ArchitectureCost {
    convolutionCost(inputs: input.channels, outputs: embed, kernel: patch, bias: true, outputPixels: tokens)
        + ArchitectureCost(params: Saturating.product(tokens, embed), macs: 0)
}

extension MBConvBody {
    /// Everything before global average pooling: stem, blocks, head convolution. A
    /// convolution's activations are its output map, counted once for the convolution, its
    /// BatchNorm and its activation function alike.
    fileprivate func forEachPart(input: ImageShape, _ body: (ArchitecturePart, ArchitectureCost, Int) -> Void) {
        let stemShape = stemOutputShape(input: input)
        body(.stem, convolutionCost(
            inputs: input.channels, outputs: stem.channels, kernel: stem.kernel, bias: false,
            outputPixels: stemShape.pixelCount)
            + batchNormCost(channels: stem.channels), stemShape.scalarCount)
        for layout in blockLayouts(input: input) {
            body(.block(stage: layout.stageIndex, index: layout.blockIndex), layout.cost, layout.activationsPerSample)
        }
        if headChannels > 0 {
            let last = lastBlockOutputShape(input: input)
            body(.head, convolutionCost(
                    inputs: last.channels, outputs: headChannels, kernel: 1, bias: false,
                    outputPixels: last.pixelCount)
                + batchNormCost(channels: headChannels), Saturating.product(headChannels, last.pixelCount))
        }
    }
}

extension MBConvBlockLayout {
    /// Params and MACs of this block: expansion, depthwise, squeeze-excite, projection,
    /// each convolution with its BatchNorm.
    public var cost: ArchitectureCost {
        let hidden = hiddenChannels
        let inputPixels = inputShape.pixelCount
        let outputPixels = outputShape.pixelCount
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

    /// Activation scalars of this block for one sample: the expanded map, the depthwise
    /// output, the squeeze-excite vectors and the projected output.
    var activationsPerSample: Int {
        let hidden = hiddenChannels
        var total = expand > 1 ? Saturating.product(hidden, inputShape.pixelCount) : 0
        total = Saturating.sum(total, Saturating.product(hidden, outputShape.pixelCount))
        if let squeeze = squeezeChannels { total = Saturating.sum(total, Saturating.sum(squeeze, hidden)) }
        return Saturating.sum(total, outputShape.scalarCount)
    }
}

extension ViTBody {
    /// Patch and positional embedding plus every layer, before the final LayerNorm. A
    /// layer's activations are its Q, K and V, the attention maps of every head, the
    /// attention output and its projection, the MLP's hidden and output vectors.
    fileprivate func forEachPart(input: ImageShape, _ body: (ArchitecturePart, ArchitectureCost, Int) -> Void) {
        let tokens = tokenCount(input: input)
        let tokenVectors = Saturating.product(tokens, embed)
        body(.patchEmbedding, patchEmbeddingCost(input: input, patch: patch, embed: embed, tokens: tokens), tokenVectors)
        for (index, layer) in layers.enumerated() {
            let hidden = layer.mlpHidden(embed: embed)
            // Q·Kᵀ and A·V: each N·N·embed multiply-accumulates summed over the heads.
            let attentionProducts = ArchitectureCost(params: 0, macs: Saturating.product(2, tokens, tokens, embed))
            let cost = layerNormCost(width: embed)
                + linearCost(inputs: embed, outputs: Saturating.product(3, embed), bias: true, tokens: tokens)
                + attentionProducts
                + linearCost(inputs: embed, outputs: embed, bias: true, tokens: tokens)
                + layerNormCost(width: embed)
                + linearCost(inputs: embed, outputs: hidden, bias: true, tokens: tokens)
                + linearCost(inputs: hidden, outputs: embed, bias: true, tokens: tokens)
            let activations = [Saturating.product(5, tokenVectors), Saturating.product(layer.heads, tokens, tokens),
                               Saturating.product(tokens, hidden), tokenVectors].reduce(0, Saturating.sum)
            body(.layer(index), cost, activations)
        }
    }
}

extension MambaBody {
    /// Patch and positional embedding plus every layer, before the final LayerNorm. A
    /// layer's activations are its input projection, and per scan direction the
    /// convolution output, Δ, B, C and the scan's hidden states (tokens · inner · state),
    /// then the output projection.
    fileprivate func forEachPart(input: ImageShape, _ body: (ArchitecturePart, ArchitectureCost, Int) -> Void) {
        let tokens = tokenCount(input: input)
        let tokenVectors = Saturating.product(tokens, embed)
        body(.patchEmbedding, patchEmbeddingCost(input: input, patch: patch, embed: embed, tokens: tokens), tokenVectors)
        for (index, layer) in layers.enumerated() {
            let inner = layer.innerChannels(embed: embed)
            let cost = layerNormCost(width: embed)
                + linearCost(inputs: embed, outputs: Saturating.product(2, inner), bias: false, tokens: tokens)
                + directionCost(layer: layer, inner: inner, tokens: tokens)
                + directionCost(layer: layer, inner: inner, tokens: tokens)
                + linearCost(inputs: inner, outputs: embed, bias: false, tokens: tokens)
            let perDirection = [Saturating.product(2, tokens, inner), Saturating.product(2, tokens, layer.state),
                                Saturating.product(tokens, inner, layer.state)].reduce(0, Saturating.sum)
            let activations = [Saturating.product(2, tokens, inner), Saturating.product(2, perDirection), tokenVectors]
                .reduce(0, Saturating.sum)
            body(.layer(index), cost, activations)
        }
    }

    /// One scan direction: depthwise causal Conv1d with bias, the Δ projections, B and C
    /// projections, and the A_log (e × state) and D (e) parameters.
    private func directionCost(layer: MambaLayer, inner: Int, tokens: Int) -> ArchitectureCost {
        let convolution = ArchitectureCost(
            params: Saturating.sum(Saturating.product(inner, layer.conv), inner), macs: Saturating.product(inner, layer.conv, tokens))
        let stateParameters = ArchitectureCost(params: Saturating.sum(Saturating.product(inner, layer.state), inner), macs: 0)
        return convolution
            + linearCost(inputs: inner, outputs: deltaRank, bias: false, tokens: tokens)
            + linearCost(inputs: deltaRank, outputs: inner, bias: true, tokens: tokens)
            + linearCost(inputs: inner, outputs: layer.state, bias: false, tokens: tokens)
            + linearCost(inputs: inner, outputs: layer.state, bias: false, tokens: tokens)
            + stateParameters
    }
}
