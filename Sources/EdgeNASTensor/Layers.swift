/// A network building block that owns named tensors and child modules.
///
/// Names compose with dots (`stages.0.blocks.1.depthwise.weight`), which is what checkpoints
/// store; parameters are the trainable tensors, buffers the rest of the state (BatchNorm
/// running statistics).
public protocol Module: AnyObject {
    /// This module's own trainable tensors, not its children's.
    var ownParameters: [(name: String, tensor: Tensor)] { get }
    /// This module's own non-trainable state.
    var ownBuffers: [(name: String, tensor: Tensor)] { get }
    /// Child modules in a fixed order.
    var children: [(name: String, module: any Module)] { get }
    /// Switches this module alone between training and inference behaviour.
    func setOwnTrainingMode(_ training: Bool)
}

extension Module {
    public var ownBuffers: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] { [] }
    public func setOwnTrainingMode(_ training: Bool) {}

    /// Every trainable tensor below this module with its dotted name, depth first.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        collect { $0.ownParameters }
    }

    /// Every buffer below this module with its dotted name.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        collect { $0.ownBuffers }
    }

    /// Parameters then buffers: everything a checkpoint holds.
    public func namedState() -> [(name: String, tensor: Tensor)] {
        namedParameters() + namedBuffers()
    }

    /// The trainable tensors alone.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// This module and every module below it, depth first.
    public func allModules() -> [any Module] {
        [self] + children.flatMap { $0.module.allModules() }
    }

    /// Switches this module and all below it between training and inference.
    public func setTrainingMode(_ training: Bool) {
        setOwnTrainingMode(training)
        for child in children { child.module.setTrainingMode(training) }
    }

    private func collect(_ pick: (any Module) -> [(name: String, tensor: Tensor)]) -> [(name: String, tensor: Tensor)] {
        var result = pick(self)
        for child in children {
            for entry in child.module.collect(pick) {
                result.append((name: "\(child.name).\(entry.name)", tensor: entry.tensor))
            }
        }
        return result
    }
}

/// How a layer draws its initial weights and biases.
public enum WeightInitialization: Sendable {
    /// PyTorch's default for Conv/Linear: weights and biases from U(−1/√fanIn, 1/√fanIn).
    case fanInUniform
    /// He-normal in fan-out mode for weights (the MobileNet convention), zero biases.
    case heNormalFanOut
    /// N(0, std²) weights (e.g. 0.02 for transformers), zero biases.
    case normal(standardDeviation: Float)

    func weights(_ shape: [Int], fanIn: Int, fanOut: Int, using generator: inout some RandomNumberGenerator) -> [Float] {
        switch self {
        case .fanInUniform: return Initializer.fanInUniform(shape, fanIn: fanIn, using: &generator)
        case .heNormalFanOut: return Initializer.heNormal(shape, fan: fanOut, using: &generator)
        case let .normal(standardDeviation):
            return Initializer.normal(shape, standardDeviation: standardDeviation, using: &generator)
        }
    }

    func biases(_ count: Int, fanIn: Int, using generator: inout some RandomNumberGenerator) -> [Float] {
        switch self {
        case .fanInUniform: return Initializer.fanInUniform([count], fanIn: fanIn, using: &generator)
        case .heNormalFanOut, .normal: return [Float](repeating: 0, count: count)
        }
    }
}

/// 2-D convolution layer: weight [O, C/groups, k, k], optional bias [O].
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let groups: Int

    /// A convolution with weights drawn by `initialization` (PyTorch's default unless told).
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
                groups: Int = 1, bias: Bool = false, initialization: WeightInitialization = .fanInUniform,
                using generator: inout some RandomNumberGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: \(inChannels) → \(outChannels) channels not divisible by \(groups) groups")
        let shape = [outChannels, inChannels / groups, kernel, kernel]
        let fanIn = inChannels / groups * kernel * kernel
        let fanOut = outChannels / groups * kernel * kernel
        weight = Tensor(shape: shape, storage: initialization.weights(shape, fanIn: fanIn, fanOut: fanOut, using: &generator),
                        requiresGradient: true)
        self.bias = bias ? Tensor(shape: [outChannels], storage: initialization.biases(outChannels, fanIn: fanIn, using: &generator),
                                  requiresGradient: true) : nil
        self.stride = stride
        self.padding = padding ?? kernel / 2
        self.groups = groups
    }

    public var ownParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, groups: groups)
    }
}

/// Fully connected layer y = x·Wᵀ + b with weight [out, in].
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    /// A fully connected layer with weights drawn by `initialization` (PyTorch's default unless told).
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true,
                initialization: WeightInitialization = .fanInUniform,
                using generator: inout some RandomNumberGenerator) {
        let shape = [outFeatures, inFeatures]
        weight = Tensor(shape: shape, storage: initialization.weights(shape, fanIn: inFeatures, fanOut: outFeatures, using: &generator),
                        requiresGradient: true)
        self.bias = bias ? Tensor(shape: [outFeatures], storage: initialization.biases(outFeatures, fanIn: inFeatures, using: &generator),
                                  requiresGradient: true) : nil
    }

    public var ownParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight, bias: bias)
    }
}

/// Batch normalisation over channels with learnable scale/shift and running statistics.
public final class BatchNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVariance: Tensor
    /// Weight of a batch in the running statistics; ``recalibrate`` varies it.
    public var momentum: Float
    public let epsilon: Float
    /// Batch statistics when true, running statistics when false.
    public var isTraining = true

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        weight = Tensor.full([channels], 1, requiresGradient: true)
        bias = Tensor.zeros([channels], requiresGradient: true)
        runningMean = Tensor.zeros([channels])
        runningVariance = Tensor.full([channels], 1)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }
    public var ownBuffers: [(name: String, tensor: Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVariance)]
    }
    public func setOwnTrainingMode(_ training: Bool) { isTraining = training }

    /// Normalises `x`, then applies `activation` in the same pass when given.
    public func callAsFunction(_ x: Tensor, activation: ActivationFunction? = nil) -> Tensor {
        batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                  training: isTraining, momentum: momentum, epsilon: epsilon, activation: activation)
    }
}

/// Layer normalisation over the last axis with learnable scale/shift.
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let epsilon: Float

    public init(features: Int, epsilon: Float = 1e-5) {
        weight = Tensor.full([features], 1, requiresGradient: true)
        bias = Tensor.zeros([features], requiresGradient: true)
        self.epsilon = epsilon
    }

    public var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, weight: weight, bias: bias, epsilon: epsilon)
    }
}
