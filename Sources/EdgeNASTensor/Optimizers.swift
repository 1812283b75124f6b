import CEdgeKernels
import Foundation

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// Step size; schedules set it before each `step()`.
    var learningRate: Float { get set }
    /// Applies one update to every parameter that has a gradient.
    func step()
    /// Zeroes the parameters' gradients.
    func zeroGradients()
}

/// Which parameters get weight decay: by default those of rank > 1 (weights), never
/// biases, norm scales or embeddings of rank 1.
public typealias WeightDecayFilter = @Sendable (_ parameter: Tensor) -> Bool

public let decayWeightsOnly: WeightDecayFilter = { $0.rank > 1 }

/// Stochastic gradient descent with momentum μ and optional Nesterov momentum:
/// v ← μ·v + (g + λ·w); w ← w − lr·(g + λ·w + μ·v) (Nesterov) or w − lr·v.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    private let parameters: [Tensor]
    private let decays: [Bool]
    private var velocities: [[Float]]

    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, nesterov: Bool = false,
                weightDecay: Float = 0, decayFilter: WeightDecayFilter = decayWeightsOnly) {
        precondition(!nesterov || momentum > 0, "SGD: Nesterov needs momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.decays = parameters.map { decayFilter($0) }
        self.velocities = parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    public func step() {
        for index in parameters.indices {
            let parameter = parameters[index]
            guard let gradient = parameter.gradient else { continue }
            let decay = decays[index] ? weightDecay : 0
            let (lr, mu, nesterov) = (learningRate, momentum, nesterov)
            velocities[index].withUnsafeMutableBufferPointer { v in
                parameter.storage.withUnsafeMutableBufferPointer { w in
                    for j in 0..<w.count {
                        let g = gradient[j] + decay * w[j]
                        if mu == 0 {
                            w[j] -= lr * g
                        } else {
                            v[j] = mu * v[j] + g
                            w[j] -= lr * (nesterov ? g + mu * v[j] : v[j])
                        }
                    }
                }
            }
        }
    }

    public func zeroGradients() { parameters.forEach { $0.zeroGradient() } }
}

/// Adam with decoupled weight decay (AdamW, Loshchilov & Hutter):
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·λ·w − lr·m̂/(√v̂ + ε),
/// with bias-corrected m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    private let parameters: [Tensor]
    private let decays: [Bool]
    private var firstMoments: [[Float]]
    private var secondMoments: [[Float]]
    /// Number of steps taken (t in the bias correction).
    public private(set) var stepCount = 0

    public init(parameters: [Tensor], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01, decayFilter: WeightDecayFilter = decayWeightsOnly) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decays = parameters.map { decayFilter($0) }
        self.firstMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
        self.secondMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    public func step() {
        stepCount += 1
        let correction1 = 1 - pow(beta1, Float(stepCount))
        let correction2 = 1 - pow(beta2, Float(stepCount))
        let (lr, b1, b2, eps) = (learningRate, beta1, beta2, epsilon)
        for index in parameters.indices {
            let parameter = parameters[index]
            guard let gradient = parameter.gradient, parameter.count > 0 else { continue }
            let decayFactor = 1 - lr * (decays[index] ? weightDecay : 0)
            firstMoments[index].withUnsafeMutableBufferPointer { m in
                secondMoments[index].withUnsafeMutableBufferPointer { v in
                    parameter.storage.withUnsafeMutableBufferPointer { w in
                        gradient.withUnsafeBufferPointer { g in
                            edgenas_adamw_update(w.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, w.count,
                                                 lr, b1, b2, eps, correction1, correction2, decayFactor)
                        }
                    }
                }
            }
        }
    }

    public func zeroGradients() { parameters.forEach { $0.zeroGradient() } }

    /// The optimizer's state as named tensors, for a checkpoint a run can resume from: each
    /// parameter's moments (`adamw.m.i`, `adamw.v.i`) and the step count (`adamw.steps`).
    public func namedState() -> [(name: String, tensor: Tensor)] {
        var state: [(name: String, tensor: Tensor)] = [("adamw.steps", Tensor(shape: [1], storage: [Float(stepCount)]))]
        for index in parameters.indices {
            state.append(("adamw.m.\(index)", Tensor(shape: parameters[index].shape, storage: firstMoments[index])))
            state.append(("adamw.v.\(index)", Tensor(shape: parameters[index].shape, storage: secondMoments[index])))
        }
        return state
    }

    /// Restores what ``namedState()`` saved; nothing changes unless every entry is there with
    /// its parameter's size.
    ///
    /// - Returns: false when an entry is missing or mis-sized.
    @discardableResult
    public func restore(_ entries: [Checkpoint.Entry]) -> Bool {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        guard let steps = byName["adamw.steps"]?.values.first, steps >= 0 else { return false }
        var first: [[Float]] = [], second: [[Float]] = []
        for index in parameters.indices {
            guard let m = byName["adamw.m.\(index)"], let v = byName["adamw.v.\(index)"],
                  m.values.count == parameters[index].count, v.values.count == parameters[index].count else { return false }
            first.append(m.values)
            second.append(v.values)
        }
        stepCount = Int(steps)
        firstMoments = first
        secondMoments = second
        return true
    }
}

/// Scales all gradients together so that their global L2 norm is at most `maxNorm`.
///
/// - Returns: the norm before clipping (infinite or NaN when a gradient is).
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var squares = 0.0
    for parameter in parameters {
        guard let gradient = parameter.gradient else { continue }
        for value in gradient { squares += Double(value) * Double(value) }
    }
    let norm = Float(squares.squareRoot())
    guard norm.isFinite, norm > maxNorm else { return norm }
    let factor = maxNorm / (norm + 1e-6)
    for parameter in parameters where parameter.gradient != nil {
        parameter.gradient!.withUnsafeMutableBufferPointer { g in
            for j in 0..<g.count { g[j] *= factor }
        }
    }
    return norm
}

/// A loss or gradient stopped being a finite number.
public struct NonFiniteValueError: Error, CustomStringConvertible {
    /// What was not finite, e.g. "loss".
    public let quantity: String
    /// The training step (0-based) at which it happened.
    public let step: Int
    public let value: Float

    public init(quantity: String, step: Int, value: Float) {
        self.quantity = quantity
        self.step = step
        self.value = value
    }

    public var description: String {
        let shown = value.isNaN ? "NaN" : "\(value)"
        return "training diverged: \(quantity) is \(shown) at step \(step); lower the learning rate or enable gradient clipping"
    }
}

/// Throws `NonFiniteValueError` unless `loss` is a finite number; call once per step before
/// `backward()` so that a diverged run stops with a clear error instead of poisoning the weights.
public func checkFinite(loss: Tensor, step: Int) throws {
    let value = loss.item
    if !value.isFinite { throw NonFiniteValueError(quantity: "loss", step: step, value: value) }
}
