/// One candidate network in the `edgenas.architecture/1` format.
///
/// The envelope (input image shape, number of classes) is shared by every family; the
/// family's own description is in ``body``. Values built in code are not checked until
/// ``validate()`` runs; values decoded with ``init(jsonData:file:)`` are always valid.
/// Two architectures are equal exactly when their canonical JSON is equal.
public struct Architecture: Hashable, Sendable {
    /// The `format` string every architecture document carries.
    public static let formatIdentifier = "edgenas.architecture/1"

    /// Shape of one input image (NCHW without the batch dimension).
    public var input: ImageShape
    /// Number of output classes of the final linear layer.
    public var classes: Int
    /// The family and its layers.
    public var body: ArchitectureBody

    /// Creates an architecture without checking it; call ``validate()`` before use.
    public init(input: ImageShape, classes: Int, body: ArchitectureBody) {
        self.input = input
        self.classes = classes
        self.body = body
    }

    /// The family named by the `family` field.
    public var family: ArchitectureFamily { body.family }
}

/// The network families the format describes.
public enum ArchitectureFamily: String, CaseIterable, Hashable, Sendable {
    /// MobileNetV2/V3-style inverted residual blocks.
    case mbconv
    /// A plain pre-norm Vision Transformer.
    case vit
    /// A bidirectional selective state-space model (Vim-style).
    case mamba
}

/// A family-specific network description.
public enum ArchitectureBody: Hashable, Sendable {
    /// Family `mbconv`.
    case mbconv(MBConvBody)
    /// Family `vit`.
    case vit(ViTBody)
    /// Family `mamba`.
    case mamba(MambaBody)

    /// The family of this body.
    public var family: ArchitectureFamily {
        switch self {
        case .mbconv: return .mbconv
        case .vit: return .vit
        case .mamba: return .mamba
        }
    }
}

/// Channels, height and width of one image or feature map (NCHW without the batch).
public struct ImageShape: Hashable, Sendable, CustomStringConvertible {
    /// Number of channels C.
    public var channels: Int
    /// Height H in pixels.
    public var height: Int
    /// Width W in pixels.
    public var width: Int

    /// Creates a C × H × W shape.
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// `channels×height×width`, for messages.
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// Activation functions by their names in the format.
public enum Activation: String, CaseIterable, Hashable, Sendable {
    /// max(0, x)
    case relu
    /// min(max(0, x), 6)
    case relu6
    /// x · relu6(x + 3) / 6
    case hswish
    /// x · sigmoid(x)
    case silu
    /// x · Φ(x), the exact erf form
    case gelu
}

// MARK: - MBConv

/// An MBConv network: stem convolution, stages of inverted residual blocks, optional
/// 1×1 head convolution, global average pool and a linear classifier.
public struct MBConvBody: Hashable, Sendable {
    /// Activation used after every convolution that has one.
    public var activation: Activation
    /// The first convolution.
    public var stem: MBConvStem
    /// Stages in order; each maps its input to `channels` through its blocks.
    public var stages: [MBConvStage]
    /// Output channels of the 1×1 head convolution; 0 means no head convolution.
    public var headChannels: Int

    /// Creates an MBConv body without checking it.
    public init(activation: Activation, stem: MBConvStem, stages: [MBConvStage], headChannels: Int) {
        self.activation = activation
        self.stem = stem
        self.stages = stages
        self.headChannels = headChannels
    }
}

/// The stem: Conv(input → channels, kernel, stride, no bias) → BN → activation.
public struct MBConvStem: Hashable, Sendable {
    /// Output channels.
    public var channels: Int
    /// Square kernel side, one of 1, 3, 5, 7.
    public var kernel: Int
    /// 1 or 2.
    public var stride: Int

    /// Creates a stem without checking it.
    public init(channels: Int, kernel: Int, stride: Int) {
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
    }
}

/// A stage: its first block uses `stride`, the others stride 1; all output `channels`.
public struct MBConvStage: Hashable, Sendable {
    /// Output channels of every block of the stage.
    public var channels: Int
    /// Stride of the stage's first block, 1 or 2.
    public var stride: Int
    /// At least one block.
    public var blocks: [MBConvBlock]

    /// Creates a stage without checking it.
    public init(channels: Int, stride: Int, blocks: [MBConvBlock]) {
        self.channels = channels
        self.stride = stride
        self.blocks = blocks
    }
}

/// One inverted residual block's choices; channels and stride come from its stage.
public struct MBConvBlock: Hashable, Sendable {
    /// Depthwise kernel side, one of 1, 3, 5, 7.
    public var kernel: Int
    /// Expansion ratio 1…8: hidden channels = input channels × expand.
    public var expand: Int
    /// Whether squeeze-excite follows the depthwise convolution.
    public var se: Bool

    /// Creates a block without checking it.
    public init(kernel: Int, expand: Int, se: Bool) {
        self.kernel = kernel
        self.expand = expand
        self.se = se
    }
}

// MARK: - ViT

/// A plain pre-norm Vision Transformer: patch embedding, learned positional embedding,
/// `layers`, final LayerNorm, mean over tokens, linear classifier.
public struct ViTBody: Hashable, Sendable {
    /// Side of the square patches; divides the input height and width.
    public var patch: Int
    /// Token width d; every layer's `heads` divides it.
    public var embed: Int
    /// At least one layer.
    public var layers: [ViTLayer]

    /// Creates a ViT body without checking it.
    public init(patch: Int, embed: Int, layers: [ViTLayer]) {
        self.patch = patch
        self.embed = embed
        self.layers = layers
    }
}

/// One transformer layer: x + MHSA(LN(x)), then x + MLP(LN(x)).
public struct ViTLayer: Hashable, Sendable {
    /// Number of attention heads, each of width embed / heads.
    public var heads: Int
    /// MLP hidden width relative to the embedding width (`mlp_ratio` in JSON).
    public var mlpRatio: Double

    /// Creates a layer without checking it.
    public init(heads: Int, mlpRatio: Double) {
        self.heads = heads
        self.mlpRatio = mlpRatio
    }

    /// MLP hidden width: round(embed · mlpRatio), ties to even as the reference's
    /// Python `round` does.
    ///
    /// Total for any ratio: a width beyond `Int` saturates at `Int.max` (or `Int.min`), and a
    /// NaN ratio gives 0, so that counting an unvalidated layer never traps.
    public func mlpHidden(embed: Int) -> Int {
        Saturating.integer((Double(embed) * mlpRatio).rounded(.toNearestOrEven))
    }

    /// Width of one attention head: embed / heads.
    public func headSize(embed: Int) -> Int {
        embed / heads
    }
}

// MARK: - Mamba

/// A bidirectional selective state-space network: patch and positional embedding,
/// `layers` of x + Mixer(LN(x)), final LayerNorm, mean over tokens, linear classifier.
public struct MambaBody: Hashable, Sendable {
    /// Side of the square patches; divides the input height and width.
    public var patch: Int
    /// Token width d.
    public var embed: Int
    /// At least one layer.
    public var layers: [MambaLayer]

    /// Creates a Mamba body without checking it.
    public init(patch: Int, embed: Int, layers: [MambaLayer]) {
        self.patch = patch
        self.embed = embed
        self.layers = layers
    }

    /// Rank r of the Δ projection: ceil(embed / 16).
    public var deltaRank: Int {
        Saturating.sum(embed, 15) / 16
    }
}

/// One Mamba mixer layer's choices.
public struct MambaLayer: Hashable, Sendable {
    /// SSM state size per channel.
    public var state: Int
    /// Expansion: the inner width e = expand · embed.
    public var expand: Int
    /// Kernel of the depthwise causal 1-D convolution over tokens.
    public var conv: Int

    /// Creates a layer without checking it.
    public init(state: Int, expand: Int, conv: Int) {
        self.state = state
        self.expand = expand
        self.conv = conv
    }

    /// Inner width e = expand · embed (saturating at `Int.max`).
    public func innerChannels(embed: Int) -> Int {
        Saturating.product(expand, embed)
    }
}
