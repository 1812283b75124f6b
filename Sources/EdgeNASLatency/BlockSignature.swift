import EdgeNASCore

/// One part of a network that is timed on its own: the unit of a latency table.
///
/// Shapes are those the part sees inside the whole network at batch 1, so a table built
/// from a space's parts predicts every architecture of that space.
public enum ProfiledBlock: Hashable, Sendable {
    /// MBConv stem: Conv(input → stem.channels) → BN → activation.
    case mbconvStem(input: ImageShape, stem: MBConvStem, activation: Activation)
    /// One inverted residual block on `input`; the residual follows from stride and channels.
    case mbconvBlock(input: ImageShape, outputChannels: Int, kernel: Int, expand: Int, stride: Int, se: Bool,
                     activation: Activation)
    /// The 1×1 head convolution → BN → activation.
    case mbconvHead(input: ImageShape, channels: Int, activation: Activation)
    /// Global average pool → flatten → Linear(→ classes).
    case pooledClassifier(input: ImageShape, classes: Int)
    /// ViT patch embedding plus positional embedding on the images.
    case vitPatchEmbedding(input: ImageShape, patch: Int, embed: Int)
    /// One pre-norm transformer layer on `tokens` × `embed`.
    case vitLayer(tokens: Int, embed: Int, heads: Int, mlpHidden: Int)
    /// One bidirectional Mamba layer on `tokens` × `embed` (as exported: the Scan-operator form).
    case mambaLayer(tokens: Int, embed: Int, layer: MambaLayer)
    /// Final LayerNorm → mean over tokens → Linear(→ classes).
    case tokenClassifier(tokens: Int, embed: Int, classes: Int)

    /// The canonical table key: a kind, then `name=value` fields in a fixed order, shapes as
    /// H×W×C, booleans as 0/1, e.g. `mbconv_block/in=14x14x24/out=40/k=5/e=6/s=2/se=1/act=hswish/res=0`.
    public var key: String {
        func shape(_ s: ImageShape) -> String { "\(s.height)x\(s.width)x\(s.channels)" }
        switch self {
        case let .mbconvStem(input, stem, activation):
            return "mbconv_stem/in=\(shape(input))/out=\(stem.channels)/k=\(stem.kernel)/s=\(stem.stride)"
                + "/act=\(activation.rawValue)"
        case let .mbconvBlock(input, outputChannels, kernel, expand, stride, se, activation):
            let residual = stride == 1 && input.channels == outputChannels
            return "mbconv_block/in=\(shape(input))/out=\(outputChannels)/k=\(kernel)/e=\(expand)/s=\(stride)"
                + "/se=\(se ? 1 : 0)/act=\(activation.rawValue)/res=\(residual ? 1 : 0)"
        case let .mbconvHead(input, channels, activation):
            return "mbconv_head/in=\(shape(input))/out=\(channels)/act=\(activation.rawValue)"
        case let .pooledClassifier(input, classes):
            return "pool_classifier/in=\(shape(input))/classes=\(classes)"
        case let .vitPatchEmbedding(input, patch, embed):
            return "vit_patch_embed/in=\(shape(input))/patch=\(patch)/embed=\(embed)"
        case let .vitLayer(tokens, embed, heads, mlpHidden):
            return "vit_layer/tokens=\(tokens)/embed=\(embed)/heads=\(heads)/mlp=\(mlpHidden)"
        case let .mambaLayer(tokens, embed, layer):
            return "mamba_layer/tokens=\(tokens)/embed=\(embed)/state=\(layer.state)/e=\(layer.expand)/conv=\(layer.conv)"
        case let .tokenClassifier(tokens, embed, classes):
            return "token_classifier/tokens=\(tokens)/embed=\(embed)/classes=\(classes)"
        }
    }

    /// The part's input at batch 1: [1, C, H, W] for images and feature maps, [1, N, D] for tokens.
    public var inputShape: [Int] {
        switch self {
        case let .mbconvStem(input, _, _), let .mbconvBlock(input, _, _, _, _, _, _), let .mbconvHead(input, _, _),
             let .pooledClassifier(input, _), let .vitPatchEmbedding(input, _, _):
            return [1, input.channels, input.height, input.width]
        case let .vitLayer(tokens, embed, _, _), let .mambaLayer(tokens, embed, _), let .tokenClassifier(tokens, embed, _):
            return [1, tokens, embed]
        }
    }

    /// The part's output at batch 1, as the next part of the network receives it.
    public var outputShape: [Int] {
        switch self {
        case let .mbconvStem(input, stem, _):
            let out = input.convolved(outputChannels: stem.channels, kernel: stem.kernel, stride: stem.stride)
            return [1, out.channels, out.height, out.width]
        case let .mbconvBlock(input, outputChannels, kernel, _, stride, _, _):
            let out = input.convolved(outputChannels: outputChannels, kernel: kernel, stride: stride)
            return [1, out.channels, out.height, out.width]
        case let .mbconvHead(input, channels, _):
            return [1, channels, input.height, input.width]
        case let .pooledClassifier(_, classes), let .tokenClassifier(_, _, classes):
            return [1, classes]
        case let .vitPatchEmbedding(input, patch, embed):
            return [1, (input.height / patch) * (input.width / patch), embed]
        case let .vitLayer(tokens, embed, _, _), let .mambaLayer(tokens, embed, _):
            return [1, tokens, embed]
        }
    }
}

/// The canonical text key of one block with its input shape: what latency tables store.
///
/// Two signatures are equal exactly when their keys are; they sort by key.
public struct BlockSignature: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The table key, e.g. `vit_layer/tokens=49/embed=64/heads=2/mlp=128`.
    public let key: String
    /// The part the key describes, for building and timing it.
    public let block: ProfiledBlock

    /// The signature of `block`.
    public init(_ block: ProfiledBlock) {
        self.block = block
        self.key = block.key
    }

    public static func == (lhs: BlockSignature, rhs: BlockSignature) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
    public static func < (lhs: BlockSignature, rhs: BlockSignature) -> Bool { lhs.key < rhs.key }
    public var description: String { key }
}

extension Architecture {
    /// The blocks of this network in execution order, duplicates kept: their latencies add
    /// up to the network's.
    /// The token families share the patch embedding and the classifier (the same graphs).
    public func blockSignatures() -> [BlockSignature] {
        switch body {
        case let .mbconv(body):
            var blocks: [ProfiledBlock] = [.mbconvStem(input: input, stem: body.stem, activation: body.activation)]
            for layout in body.blockLayouts(input: input) {
                blocks.append(.mbconvBlock(input: layout.inputShape, outputChannels: layout.outputChannels,
                                           kernel: layout.kernel, expand: layout.expand, stride: layout.stride,
                                           se: layout.se, activation: body.activation))
            }
            if body.headChannels > 0 {
                blocks.append(.mbconvHead(input: body.lastBlockOutputShape(input: input), channels: body.headChannels,
                                          activation: body.activation))
            }
            blocks.append(.pooledClassifier(input: body.featureShape(input: input), classes: classes))
            return blocks.map(BlockSignature.init)
        case let .vit(body):
            let tokens = body.tokenCount(input: input)
            var blocks: [ProfiledBlock] = [.vitPatchEmbedding(input: input, patch: body.patch, embed: body.embed)]
            for layer in body.layers {
                blocks.append(.vitLayer(tokens: tokens, embed: body.embed, heads: layer.heads,
                                        mlpHidden: layer.mlpHidden(embed: body.embed)))
            }
            blocks.append(.tokenClassifier(tokens: tokens, embed: body.embed, classes: classes))
            return blocks.map(BlockSignature.init)
        case let .mamba(body):
            let tokens = body.tokenCount(input: input)
            var blocks: [ProfiledBlock] = [.vitPatchEmbedding(input: input, patch: body.patch, embed: body.embed)]
            for layer in body.layers {
                blocks.append(.mambaLayer(tokens: tokens, embed: body.embed, layer: layer))
            }
            blocks.append(.tokenClassifier(tokens: tokens, embed: body.embed, classes: classes))
            return blocks.map(BlockSignature.init)
        }
    }
}

extension SearchSpace {
    /// Every distinct signature an architecture of this space can have, sorted by key.
    ///
    /// Enumerated exactly, not sampled: for MBConv, each stage's possible input shapes are
    /// carried forward per choice of channels and depth, so a block is listed only with
    /// input shapes that can really reach it.
    public func blockSignatures() -> [BlockSignature] {
        var blocks: Set<ProfiledBlock> = []
        switch body {
        case let .mbconv(space):
            let activation = space.activation
            blocks.insert(.mbconvStem(input: input, stem: space.stem, activation: activation))
            var stageInputs: Set<ImageShape> = [
                input.convolved(outputChannels: space.stem.channels, kernel: space.stem.kernel, stride: space.stem.stride),
            ]
            for stage in space.stages {
                var stageOutputs: Set<ImageShape> = []
                let maximumDepth = stage.depth.max() ?? 0
                for channels in Set(stage.channels) {
                    var blockInputs = stageInputs
                    for position in 0..<maximumDepth {
                        let stride = position == 0 ? stage.stride : 1
                        var blockOutputs: Set<ImageShape> = []
                        for shape in blockInputs {
                            for kernel in Set(stage.kernel) {
                                blockOutputs.insert(shape.convolved(outputChannels: channels, kernel: kernel, stride: stride))
                                for expand in Set(stage.expand) {
                                    for se in Set(stage.se) {
                                        blocks.insert(.mbconvBlock(input: shape, outputChannels: channels, kernel: kernel,
                                                                   expand: expand, stride: stride, se: se,
                                                                   activation: activation))
                                    }
                                }
                            }
                        }
                        // A stage of depth d ends after its block d − 1.
                        if stage.depth.contains(position + 1) { stageOutputs.formUnion(blockOutputs) }
                        blockInputs = blockOutputs
                    }
                }
                stageInputs = stageOutputs
            }
            for shape in stageInputs {
                for headChannels in Set(space.headChannels) {
                    if headChannels > 0 {
                        blocks.insert(.mbconvHead(input: shape, channels: headChannels, activation: activation))
                        blocks.insert(.pooledClassifier(
                            input: ImageShape(channels: headChannels, height: shape.height, width: shape.width),
                            classes: classes))
                    } else {
                        blocks.insert(.pooledClassifier(input: shape, classes: classes))
                    }
                }
            }
        case let .vit(space):
            for patch in Set(space.patch) {
                let tokens = (input.height / patch) * (input.width / patch)
                for embed in Set(space.embed) {
                    blocks.insert(.vitPatchEmbedding(input: input, patch: patch, embed: embed))
                    for heads in Set(space.heads) {
                        for ratio in Set(space.mlpRatio) {
                            let hidden = ViTLayer(heads: heads, mlpRatio: ratio).mlpHidden(embed: embed)
                            blocks.insert(.vitLayer(tokens: tokens, embed: embed, heads: heads, mlpHidden: hidden))
                        }
                    }
                    blocks.insert(.tokenClassifier(tokens: tokens, embed: embed, classes: classes))
                }
            }
        case let .mamba(space):
            for patch in Set(space.patch) {
                let tokens = (input.height / patch) * (input.width / patch)
                for embed in Set(space.embed) {
                    blocks.insert(.vitPatchEmbedding(input: input, patch: patch, embed: embed))
                    for state in Set(space.state) {
                        for expand in Set(space.expand) {
                            for conv in Set(space.conv) {
                                blocks.insert(.mambaLayer(tokens: tokens, embed: embed,
                                                          layer: MambaLayer(state: state, expand: expand, conv: conv)))
                            }
                        }
                    }
                    blocks.insert(.tokenClassifier(tokens: tokens, embed: embed, classes: classes))
                }
            }
        }
        return blocks.map(BlockSignature.init).sorted()
    }
}

extension SearchSpaceUnion {
    /// Every distinct signature of any member space, sorted by key.
    public func blockSignatures() -> [BlockSignature] {
        Set(members.flatMap { $0.blockSignatures() }).sorted()
    }
}
