/// A dense float32 tensor, row-major (NCHW for images), that records the operations that
/// produced it so that `backward()` can compute gradients (reverse-mode autodiff).
///
/// A tensor is a node of the computation graph: `inputs` are the tensors it was computed
/// from and `backwardRule` adds this node's gradient, pulled back through the operation,
/// into the inputs' gradients. Leaves created with `requiresGradient: true` are the
/// trainable parameters; their `gradient` is kept after `backward()`, intermediate nodes'
/// gradients are released as soon as they have been propagated.
public final class Tensor {
    /// Sizes of each axis, outermost first.
    public let shape: [Int]
    /// The values, `shape.reduce(1, *)` of them, row-major.
    public var storage: [Float]
    /// d(loss)/d(self) after `backward()`; `nil` before, or when no gradient reached this tensor.
    public var gradient: [Float]?
    /// Whether gradients flow to this tensor (parameters, and results computed from them).
    public let requiresGradient: Bool

    private(set) var inputs: [Tensor]
    private(set) var backwardRule: ((_ output: Tensor) -> Void)?

    /// A leaf tensor holding `storage` with the given `shape`.
    public init(shape: [Int], storage: [Float], requiresGradient: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative size in shape \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "Tensor: shape \(shape) holds \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGradient = requiresGradient
        self.inputs = []
        self.backwardRule = nil
    }

    /// An operation result. Records `inputs` and `backward` only when gradient recording is
    /// on and some input needs a gradient.
    init(shape: [Int], storage: [Float], inputs: [Tensor], backward: @escaping (_ output: Tensor) -> Void) {
        precondition(shape.reduce(1, *) == storage.count,
                     "Tensor: shape \(shape) holds \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
        let records = GradientRecording.isEnabled && inputs.contains { $0.requiresGradient }
        self.requiresGradient = records
        self.inputs = records ? inputs : []
        self.backwardRule = records ? backward : nil
    }

    /// Releases the graph below this node iteratively: the default release recurses once
    /// per node and would overflow the stack on very deep graphs (long token loops).
    deinit {
        guard !inputs.isEmpty else { return }
        backwardRule = nil
        var pending = inputs
        inputs = []
        while var node = pending.popLast() {
            guard isKnownUniquelyReferenced(&node) else { continue }
            node.backwardRule = nil  // its captures are references to the inputs moved below
            pending += node.inputs
            node.inputs = []
        }
    }

    /// Number of values.
    public var count: Int { storage.count }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(storage.count == 1, "item: tensor of shape \(shape) has \(storage.count) values")
        return storage[0]
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGradient: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: [Float](repeating: 0, count: shape.reduce(1, *)),
               requiresGradient: requiresGradient)
    }

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float, requiresGradient: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)),
               requiresGradient: requiresGradient)
    }

    /// A one-element tensor of shape [] (rank 0).
    public static func scalar(_ value: Float) -> Tensor {
        Tensor(shape: [], storage: [value])
    }

    /// Zeroes this tensor's gradient (keeps the buffer to avoid reallocating every step).
    public func zeroGradient() {
        guard gradient != nil else { return }
        gradient!.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Allocates the gradient buffer on first use: zero-filled, or with `zeroFilled: false`
    /// left unfilled for a kernel that writes every value.
    /// - Returns: whether the buffer is new and unfilled (store into it, don't add).
    private func prepareGradient(zeroFilled: Bool) -> Bool {
        guard gradient == nil else { return false }
        gradient = zeroFilled ? [Float](repeating: 0, count: storage.count)
            : [Float](unsafeUninitializedCapacity: storage.count) { _, initialized in initialized = storage.count }
        return !zeroFilled
    }

    /// Adds into this tensor's gradient through `body`, allocating zeros on first use.
    /// Called by backward rules only for inputs that require a gradient.
    func accumulateGradient(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        _ = prepareGradient(zeroFilled: true)
        gradient!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Like `accumulateGradient`, for kernels that write every value: on first use the
    /// buffer is not zero-filled and `body` gets `accumulate == false` (store, don't add),
    /// which saves a full pass over memory for most tensors of a training step.
    func writeOrAccumulateGradient(_ body: (_ gradient: UnsafeMutablePointer<Float>, _ accumulate: Bool) -> Void) {
        let isFresh = prepareGradient(zeroFilled: false)
        gradient!.withUnsafeMutableBufferPointer { body($0.baseAddress!, !isFresh) }
    }

    /// Pointer to this tensor's gradient buffer, for backward rules that write into several
    /// inputs' gradients from one kernel; valid until the gradient array is next reassigned.
    /// With `zeroFilled: false`, `isFresh` says a new buffer was left unfilled.
    func gradientPointer(zeroFilled: Bool = true) -> (pointer: UnsafeMutablePointer<Float>, isFresh: Bool) {
        let isFresh = prepareGradient(zeroFilled: zeroFilled)
        return (gradient!.withUnsafeMutableBufferPointer { $0.baseAddress! }, isFresh)
    }

    /// Back-propagates from this one-element tensor (usually a loss): every tensor it was
    /// computed from that requires a gradient receives d(self)/d(tensor) in `gradient`,
    /// added to what is already there (call `zeroGradient()` on parameters between steps).
    public func backward() {
        precondition(storage.count == 1, "backward: needs a one-element tensor, got shape \(shape)")
        guard requiresGradient else { return }
        let order = topologicalOrder()
        gradient = [1]
        for node in order.reversed() {
            guard let rule = node.backwardRule, node.gradient != nil else { continue }
            rule(node)
            node.gradient = nil  // an intermediate: its gradient is fully propagated now
        }
    }

    /// Nodes of the graph below `self`, each after all of its inputs (iterative DFS, so deep
    /// graphs don't overflow the stack).
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                let input = node.inputs[next]
                if input.requiresGradient && visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }

    /// The same values cut from the graph (no gradient flows through the result).
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage)
    }
}

/// Whether operations record the graph for `backward()`.
public enum GradientRecording {
    @TaskLocal static var isEnabledValue = true

    /// True unless inside `withoutGradients`.
    public static var isEnabled: Bool { isEnabledValue }
}

/// Runs `body` without recording the graph: for evaluation and inference, which then use
/// no memory for saved activations.
public func withoutGradients<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradientRecording.$isEnabledValue.withValue(false) { try body() }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = storage.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(storage.count > 8 ? ", …" : "")])"
    }
}

/// Makes a float array of `count` values written by `body` (no zero-fill first).
@inlinable
func makeStorage(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { body(buffer.baseAddress!) }
        initialized = count
    }
}

/// Makes a zero-filled float array of `count` values and lets `body` add into it.
@inlinable
func makeZeroedStorage(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var result = [Float](repeating: 0, count: count)
    if count > 0 { result.withUnsafeMutableBufferPointer { body($0.baseAddress!) } }
    return result
}
