import CEdgeKernels
import COpenBLAS
import Foundation

// MARK: - Unary functions

extension Tensor {
    /// Applies an element-wise function with a closed-form derivative; forward and backward
    /// run as vectorised C kernels, split across workers for large tensors.
    func applying(_ function: edgenas_unary) -> Tensor {
        let input = self
        let count = storage.count
        let values = storage.withUnsafeBufferPointer { source in
            makeStorage(count) { output in
                let source = UnsafeSendable(source.baseAddress!), output = UnsafeSendable(output)
                parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                    edgenas_unary_forward(function, source.value + range.lowerBound, output.value + range.lowerBound,
                                          range.count)
                }
            }
        }
        let output = Tensor(shape: shape, storage: values, inputs: [input]) { result in
            input.writeOrAccumulateGradient { inputGradient, accumulate in
                input.storage.withUnsafeBufferPointer { x in
                    result.storage.withUnsafeBufferPointer { y in
                        result.gradient!.withUnsafeBufferPointer { g in
                            let (x, y, g) = (UnsafeSendable(x.baseAddress!), UnsafeSendable(y.baseAddress!),
                                             UnsafeSendable(g.baseAddress!))
                            let dx = UnsafeSendable(inputGradient)
                            parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                                let offset = range.lowerBound
                                edgenas_unary_backward(function, x.value + offset, y.value + offset, g.value + offset,
                                                       dx.value + offset, range.count, accumulate ? 1 : 0)
                            }
                        }
                    }
                }
            }
        }
        if let recorder = ActivationRecorder.current, Self.preservesSign(function) { recorder.append(output) }
        return output
    }

    private static func preservesSign(_ function: edgenas_unary) -> Bool {
        [EDGENAS_RELU, EDGENAS_RELU6, EDGENAS_HARD_SWISH, EDGENAS_SILU, EDGENAS_GELU].contains(function)
    }
}

/// max(0, x).
public func relu(_ x: Tensor) -> Tensor { x.applying(EDGENAS_RELU) }

/// min(max(0, x), 6).
public func relu6(_ x: Tensor) -> Tensor { x.applying(EDGENAS_RELU6) }

/// Hard sigmoid: relu6(x + 3) / 6.
public func hardSigmoid(_ x: Tensor) -> Tensor { x.applying(EDGENAS_HARD_SIGMOID) }

/// Hard swish: x · relu6(x + 3) / 6.
public func hardSwish(_ x: Tensor) -> Tensor { x.applying(EDGENAS_HARD_SWISH) }

/// Logistic sigmoid 1 / (1 + e^-x).
public func sigmoid(_ x: Tensor) -> Tensor { x.applying(EDGENAS_SIGMOID) }

/// SiLU (swish): x · sigmoid(x).
public func silu(_ x: Tensor) -> Tensor { x.applying(EDGENAS_SILU) }

/// GELU, exact form: x · Φ(x) = x · (1 + erf(x/√2)) / 2.
public func gelu(_ x: Tensor) -> Tensor { x.applying(EDGENAS_GELU) }

/// Softplus: log(1 + e^x), computed without overflow.
public func softplus(_ x: Tensor) -> Tensor { x.applying(EDGENAS_SOFTPLUS) }

/// e^x.
public func exp(_ x: Tensor) -> Tensor { x.applying(EDGENAS_EXP) }

/// Natural logarithm (values must be positive).
public func log(_ x: Tensor) -> Tensor { x.applying(EDGENAS_LOG) }

/// Applies an activation by its architecture-file name.
public enum ActivationFunction: String, Sendable, CaseIterable {
    case relu, relu6, hswish, hsigmoid, sigmoid, silu, gelu

    /// Applies the activation to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return EdgeNASTensor.relu(x)
        case .relu6: return EdgeNASTensor.relu6(x)
        case .hswish: return hardSwish(x)
        case .hsigmoid: return hardSigmoid(x)
        case .sigmoid: return EdgeNASTensor.sigmoid(x)
        case .silu: return EdgeNASTensor.silu(x)
        case .gelu: return EdgeNASTensor.gelu(x)
        }
    }
}

// MARK: - Scalar arithmetic

extension Tensor {
    /// self · factor + offset, element-wise.
    public func affine(scale factor: Float, offset: Float = 0) -> Tensor {
        let input = self
        let count = storage.count
        let values = storage.withUnsafeBufferPointer { source in
            makeStorage(count) { edgenas_scale_shift(source.baseAddress!, $0, count, factor, offset) }
        }
        return Tensor(shape: shape, storage: values, inputs: [input]) { result in
            input.accumulateGradient { inputGradient in
                result.gradient!.withUnsafeBufferPointer { g in
                    cblas_saxpy(Int32(count), factor, g.baseAddress!, 1, inputGradient, 1)
                }
            }
        }
    }

    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: rhs) }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: lhs) }
    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, offset: rhs) }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, offset: -rhs) }
    public static prefix func - (operand: Tensor) -> Tensor { operand.affine(scale: -1) }
}

// MARK: - Broadcasting binary operations

/// How two shapes broadcast (NumPy rules: align on the right, size-1 axes stretch).
struct BroadcastPlan {
    let outputShape: [Int]
    /// Per-axis strides into each input, 0 along broadcast axes; same rank as outputShape.
    let lhsStrides: [Int]
    let rhsStrides: [Int]

    init(_ lhs: [Int], _ rhs: [Int]) {
        let rank = max(lhs.count, rhs.count)
        let left = [Int](repeating: 1, count: rank - lhs.count) + lhs
        let right = [Int](repeating: 1, count: rank - rhs.count) + rhs
        var output: [Int] = []
        for axis in 0..<rank {
            let (a, b) = (left[axis], right[axis])
            precondition(a == b || a == 1 || b == 1, "broadcast: shapes \(lhs) and \(rhs) are incompatible")
            output.append(a == 1 ? b : a)
        }
        outputShape = output
        lhsStrides = BroadcastPlan.strides(left)
        rhsStrides = BroadcastPlan.strides(right)
    }

    private static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = shape[axis] == 1 ? 0 : running
            running *= shape[axis]
        }
        return strides
    }

    /// Calls `row` for each innermost run: (output offset, lhs offset, rhs offset, length,
    /// lhs inner stride, rhs inner stride).
    func forEachRow(_ row: (Int, Int, Int, Int, Int, Int) -> Void) {
        let inner = outputShape.last ?? 1
        let lhsInner = lhsStrides.last ?? 0, rhsInner = rhsStrides.last ?? 0
        EdgeNASTensor.forEachRow(of: outputShape, firstStrides: lhsStrides, secondStrides: rhsStrides) { index, lhs, rhs in
            row(index * inner, lhs, rhs, inner, lhsInner, rhsInner)
        }
    }
}

extension Tensor {
    /// Element-wise sum with broadcasting.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, .add) }
    /// Element-wise difference with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, .subtract) }
    /// Element-wise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, .multiply) }

    enum BinaryOperation { case add, subtract, multiply }

    static func broadcastBinary(_ lhs: Tensor, _ rhs: Tensor, _ operation: BinaryOperation) -> Tensor {
        if lhs.shape == rhs.shape { return sameShapeBinary(lhs, rhs, operation) }
        let plan = BroadcastPlan(lhs.shape, rhs.shape)
        let count = plan.outputShape.reduce(1, *)
        let values = lhs.storage.withUnsafeBufferPointer { a in
            rhs.storage.withUnsafeBufferPointer { b in
                makeStorage(count) { out in
                    let a = a.baseAddress!, b = b.baseAddress!
                    plan.forEachRow { o, ia, ib, n, sa, sb in
                        switch operation {
                        case .add: for j in 0..<n { out[o + j] = a[ia + j * sa] + b[ib + j * sb] }
                        case .subtract: for j in 0..<n { out[o + j] = a[ia + j * sa] - b[ib + j * sb] }
                        case .multiply: for j in 0..<n { out[o + j] = a[ia + j * sa] * b[ib + j * sb] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: plan.outputShape, storage: values, inputs: [lhs, rhs]) { result in
            result.gradient!.withUnsafeBufferPointer { g in
                let g = g.baseAddress!
                if lhs.requiresGradient {
                    lhs.accumulateGradient { da in
                        rhs.storage.withUnsafeBufferPointer { b in
                            let b = b.baseAddress!
                            plan.forEachRow { o, ia, ib, n, sa, sb in
                                switch operation {
                                case .add, .subtract: for j in 0..<n { da[ia + j * sa] += g[o + j] }
                                case .multiply: for j in 0..<n { da[ia + j * sa] += g[o + j] * b[ib + j * sb] }
                                }
                            }
                        }
                    }
                }
                if rhs.requiresGradient {
                    rhs.accumulateGradient { db in
                        lhs.storage.withUnsafeBufferPointer { a in
                            let a = a.baseAddress!
                            plan.forEachRow { o, ia, ib, n, sa, sb in
                                switch operation {
                                case .add: for j in 0..<n { db[ib + j * sb] += g[o + j] }
                                case .subtract: for j in 0..<n { db[ib + j * sb] -= g[o + j] }
                                case .multiply: for j in 0..<n { db[ib + j * sb] += g[o + j] * a[ia + j * sa] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func sameShapeBinary(_ lhs: Tensor, _ rhs: Tensor, _ operation: BinaryOperation) -> Tensor {
        let count = lhs.count
        let values = lhs.storage.withUnsafeBufferPointer { a in
            rhs.storage.withUnsafeBufferPointer { b in
                makeStorage(count) { out in
                    let a = a.baseAddress!, b = b.baseAddress!
                    switch operation {
                    case .add: for i in 0..<count { out[i] = a[i] + b[i] }
                    case .subtract: for i in 0..<count { out[i] = a[i] - b[i] }
                    case .multiply: for i in 0..<count { out[i] = a[i] * b[i] }
                    }
                }
            }
        }
        return Tensor(shape: lhs.shape, storage: values, inputs: [lhs, rhs]) { result in
            result.gradient!.withUnsafeBufferPointer { g in
                let g = g.baseAddress!
                if lhs.requiresGradient, lhs.gradient == nil, operation != .multiply {
                    lhs.gradient = Array(UnsafeBufferPointer(start: g, count: count))  // first use: a plain copy
                } else if lhs.requiresGradient {
                    lhs.accumulateGradient { da in
                        switch operation {
                        case .add, .subtract: for i in 0..<count { da[i] += g[i] }
                        case .multiply:
                            rhs.storage.withUnsafeBufferPointer { b in
                                for i in 0..<count { da[i] += g[i] * b[i] }
                            }
                        }
                    }
                }
                if rhs.requiresGradient, rhs.gradient == nil, operation == .add {
                    rhs.gradient = Array(UnsafeBufferPointer(start: g, count: count))
                } else if rhs.requiresGradient {
                    rhs.accumulateGradient { db in
                        switch operation {
                        case .add: for i in 0..<count { db[i] += g[i] }
                        case .subtract: for i in 0..<count { db[i] -= g[i] }
                        case .multiply:
                            lhs.storage.withUnsafeBufferPointer { a in
                                for i in 0..<count { db[i] += g[i] * a[i] }
                            }
                        }
                    }
                }
            }
        }
    }
}
