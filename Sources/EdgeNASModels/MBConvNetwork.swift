import EdgeNASCore
import EdgeNASTensor

/// An image classifier whose last step is a linear classifier on a pooled feature vector,
/// so that probes can put their own heads on the same features.
public protocol FeatureClassifier: ImageClassifier {
    /// Length of the pooled feature vector (the classifier's input).
    var featureCount: Int { get }
    /// Images [B, C, H, W] → pooled features [B, featureCount].
    func features(_ images: Tensor) -> Tensor
    /// The final Linear(featureCount → classes).
    var classifier: Linear { get }
}

extension FeatureClassifier {
    public func callAsFunction(_ images: Tensor) -> Tensor { classifier(features(images)) }
}

/// Builds the trainable network an architecture describes, exactly as the architecture
/// format specifies, initialised like PyTorch's defaults from `seed`.
public enum NetworkBuilder {
    /// - Parameters:
    ///   - inputChannels: overrides the architecture's input channels (the probes feed RGB
    ///     images to every candidate); everything else is unchanged.
    public static func network(for architecture: Architecture, inputChannels: Int? = nil,
                               seed: UInt64 = 0) -> any FeatureClassifier {
        var input = architecture.input
        if let inputChannels { input.channels = inputChannels }
        var generator = SeededGenerator(seed: seed)
        switch architecture.body {
        case let .mbconv(body):
            return MBConvNetwork(body, input: input, classes: architecture.classes, using: &generator)
        case let .vit(body):
            return ViTNetwork(body, input: input, classes: architecture.classes, using: &generator)
        case let .mamba(body):
            return MambaNetwork(body, input: input, classes: architecture.classes, using: &generator)
        }
    }
}

/// Convolution → BatchNorm → optional activation, the unit every MBConv part is made of.
final class ConvolutionUnit: Module {
    let convolution: Conv2d
    let normalization: BatchNorm
    let activation: ActivationFunction?

    init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
         activation: ActivationFunction?, using generator: inout some RandomNumberGenerator) {
        convolution = Conv2d(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                             groups: groups, using: &generator)
        normalization = BatchNorm(channels: outChannels)
        self.activation = activation
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] { [("conv", convolution), ("bn", normalization)] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        normalization(convolution(x), activation: activation)
    }
}

/// Squeeze-excite: x ⊙ hsigmoid(W₂ relu(W₁ pool(x) + b₁) + b₂), channel-wise.
/// The two 1×1 convolutions act on a pooled [B, C] vector, so they run as Linear layers
/// (same weights as Conv 1×1, without the trailing 1×1 axes).
final class SqueezeExcite: Module {
    let reduce: Linear
    let expand: Linear

    init(channels: Int, squeezed: Int, using generator: inout some RandomNumberGenerator) {
        reduce = Linear(inFeatures: channels, outFeatures: squeezed, using: &generator)
        expand = Linear(inFeatures: squeezed, outFeatures: channels, using: &generator)
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] { [("fc1", reduce), ("fc2", expand)] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let scale = hardSigmoid(expand(relu(reduce(x.globalAveragePooled()))))
        return x * scale.reshaped([x.shape[0], x.shape[1], 1, 1])
    }
}

/// One inverted-residual block: expand 1×1 → depthwise k×k → SE → project 1×1 (+ input).
final class MBConvBlockModule: Module {
    let expansion: ConvolutionUnit?
    let depthwise: ConvolutionUnit
    let squeezeExcite: SqueezeExcite?
    let projection: ConvolutionUnit
    let hasResidual: Bool

    init(_ layout: MBConvBlockLayout, activation: ActivationFunction, using generator: inout some RandomNumberGenerator) {
        let hidden = layout.hiddenChannels
        expansion = layout.expand > 1
            ? ConvolutionUnit(layout.inputChannels, hidden, kernel: 1, activation: activation, using: &generator) : nil
        depthwise = ConvolutionUnit(hidden, hidden, kernel: layout.kernel, stride: layout.stride, groups: hidden,
                                    activation: activation, using: &generator)
        squeezeExcite = layout.squeezeChannels.map { SqueezeExcite(channels: hidden, squeezed: $0, using: &generator) }
        projection = ConvolutionUnit(hidden, layout.outputChannels, kernel: 1, activation: nil, using: &generator)
        hasResidual = layout.hasResidual
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = []
        if let expansion { result.append(("expand", expansion)) }
        result.append(("depthwise", depthwise))
        if let squeezeExcite { result.append(("se", squeezeExcite)) }
        result.append(("project", projection))
        return result
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var y = expansion.map { $0(x) } ?? x
        y = depthwise(y)
        if let squeezeExcite { y = squeezeExcite(y) }
        y = projection(y)
        return hasResidual ? x + y : y
    }
}

/// MobileNetV2/V3-style network of the `mbconv` family.
public final class MBConvNetwork: FeatureClassifier {
    let stem: ConvolutionUnit
    let blocks: [(name: String, block: MBConvBlockModule)]
    let head: ConvolutionUnit?
    public let classifier: Linear
    public let featureCount: Int

    init(_ body: MBConvBody, input: ImageShape, classes: Int, using generator: inout some RandomNumberGenerator) {
        let activation = ActivationFunction(body.activation)
        stem = ConvolutionUnit(input.channels, body.stem.channels, kernel: body.stem.kernel, stride: body.stem.stride,
                               activation: activation, using: &generator)
        var blocks: [(name: String, block: MBConvBlockModule)] = []
        for layout in body.blockLayouts(input: input) {
            blocks.append(("stages.\(layout.stageIndex).blocks.\(layout.blockIndex)",
                           MBConvBlockModule(layout, activation: activation, using: &generator)))
        }
        self.blocks = blocks
        let lastChannels = body.lastBlockOutputShape(input: input).channels
        head = body.headChannels > 0
            ? ConvolutionUnit(lastChannels, body.headChannels, kernel: 1, activation: activation, using: &generator) : nil
        featureCount = body.headChannels > 0 ? body.headChannels : lastChannels
        classifier = Linear(inFeatures: featureCount, outFeatures: classes, using: &generator)
    }

    public var ownParameters: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = [("stem", stem)]
        result += blocks.map { ($0.name, $0.block as any Module) }
        if let head { result.append(("head", head)) }
        result.append(("classifier", classifier))
        return result
    }

    public func features(_ images: Tensor) -> Tensor {
        var x = stem(images)
        for (_, block) in blocks { x = block(x) }
        if let head { x = head(x) }
        return x.globalAveragePooled()
    }
}

extension ActivationFunction {
    /// The engine function for an architecture-file activation name.
    init(_ activation: Activation) {
        switch activation {
        case .relu: self = .relu
        case .relu6: self = .relu6
        case .hswish: self = .hswish
        case .silu: self = .silu
        case .gelu: self = .gelu
        }
    }
}
