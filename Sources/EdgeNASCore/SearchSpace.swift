/// A search space in the `edgenas.space/1` format: the envelope of an architecture plus
/// a `name`, with a list of choices wherever an architecture has one value.
///
/// Validation guarantees that every combination of choices is a valid architecture
/// (every patch choice divides the image, every heads choice divides every embed
/// choice, every MLP ratio gives a hidden width of at least 1 for every embed). That
/// lets ``sample(using:)`` pick each choice independently and uniformly, as the format
/// requires, without ever producing an invalid network.
public struct SearchSpace: Hashable, Sendable {
    /// The `format` string every search-space document carries.
    public static let formatIdentifier = "edgenas.space/1"

    /// The space's name, such as `fmnist-mbconv`.
    public var name: String
    /// Shape of one input image, fixed for the whole space.
    public var input: ImageShape
    /// Number of classes, fixed for the whole space.
    public var classes: Int
    /// The family and its choices.
    public var body: SearchSpaceBody

    /// Creates a space without checking it; call ``validate()`` before use.
    public init(name: String, input: ImageShape, classes: Int, body: SearchSpaceBody) {
        self.name = name
        self.input = input
        self.classes = classes
        self.body = body
    }

    /// The family every architecture of the space belongs to.
    public var family: ArchitectureFamily { body.family }
}

/// A family-specific set of choices.
public enum SearchSpaceBody: Hashable, Sendable {
    /// Family `mbconv`.
    case mbconv(MBConvSpace)
    /// Family `vit`.
    case vit(ViTSpace)
    /// Family `mamba`.
    case mamba(MambaSpace)

    /// The family of this space.
    public var family: ArchitectureFamily {
        switch self {
        case .mbconv: return .mbconv
        case .vit: return .vit
        case .mamba: return .mamba
        }
    }
}

/// Choices of an MBConv space; `activation` and `stem` are fixed.
public struct MBConvSpace: Hashable, Sendable {
    /// The activation of every architecture in the space.
    public var activation: Activation
    /// The stem of every architecture in the space.
    public var stem: MBConvStem
    /// One entry per stage; every architecture has exactly these stages.
    public var stages: [MBConvStageSpace]
    /// Choices of head channels; 0 means no head convolution.
    public var headChannels: [Int]

    /// Creates MBConv choices without checking them.
    public init(activation: Activation, stem: MBConvStem, stages: [MBConvStageSpace], headChannels: [Int]) {
        self.activation = activation
        self.stem = stem
        self.stages = stages
        self.headChannels = headChannels
    }
}

/// Choices of one MBConv stage; `kernel`, `expand` and `se` are picked per block.
public struct MBConvStageSpace: Hashable, Sendable {
    /// Choices of the stage's output channels.
    public var channels: [Int]
    /// Fixed stride of the stage's first block.
    public var stride: Int
    /// Choices of the number of blocks.
    public var depth: [Int]
    /// Choices of each block's depthwise kernel.
    public var kernel: [Int]
    /// Choices of each block's expansion ratio.
    public var expand: [Int]
    /// Choices of each block's squeeze-excite flag.
    public var se: [Bool]

    /// Creates stage choices without checking them.
    public init(channels: [Int], stride: Int, depth: [Int], kernel: [Int], expand: [Int], se: [Bool]) {
        self.channels = channels
        self.stride = stride
        self.depth = depth
        self.kernel = kernel
        self.expand = expand
        self.se = se
    }
}

/// Choices of a ViT space; `heads` and `mlpRatio` are picked per layer.
public struct ViTSpace: Hashable, Sendable {
    /// Choices of the patch side.
    public var patch: [Int]
    /// Choices of the embedding width.
    public var embed: [Int]
    /// Choices of the number of layers.
    public var depth: [Int]
    /// Choices of each layer's head count.
    public var heads: [Int]
    /// Choices of each layer's `mlp_ratio`.
    public var mlpRatio: [Double]

    /// Creates ViT choices without checking them.
    public init(patch: [Int], embed: [Int], depth: [Int], heads: [Int], mlpRatio: [Double]) {
        self.patch = patch
        self.embed = embed
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
    }
}

/// Choices of a Mamba space; `state`, `expand` and `conv` are picked per layer.
public struct MambaSpace: Hashable, Sendable {
    /// Choices of the patch side.
    public var patch: [Int]
    /// Choices of the embedding width.
    public var embed: [Int]
    /// Choices of the number of layers.
    public var depth: [Int]
    /// Choices of each layer's state size.
    public var state: [Int]
    /// Choices of each layer's expansion.
    public var expand: [Int]
    /// Choices of each layer's convolution kernel.
    public var conv: [Int]

    /// Creates Mamba choices without checking them.
    public init(patch: [Int], embed: [Int], depth: [Int], state: [Int], expand: [Int], conv: [Int]) {
        self.patch = patch
        self.embed = embed
        self.depth = depth
        self.state = state
        self.expand = expand
        self.conv = conv
    }
}
