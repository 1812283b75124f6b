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

    static func preservesSign(_ function: edgenas_unary) -> Bool {
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

    /// The engine kernel that computes it.
    var kernel: edgenas_unary {
        switch self {
        case .relu: return EDGENAS_RELU
        case .relu6: return EDGENAS_RELU6
        case .hswish: return EDGENAS_HARD_SWISH
        case .hsigmoid: return EDGENAS_HARD_SIGMOID
        case .sigmoid: return EDGENAS_SIGMOID
        case .silu: return EDGENAS_SILU
        case .gelu: return EDGENAS_GELU
        }
    }

    /// Positive exactly where its input is (what NASWOT's activation codes read).
    var preservesSign: Bool { Tensor.preservesSign(kernel) }

    /// Applies the activation to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.applying(kernel) }
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
        if let plane = planeSize(of: lhs.shape, perPlane: rhs.shape) {
            return perPlaneBinary(large: lhs, small: rhs, largeIsLeft: true, plane: plane, operation)
        }
        if let plane = planeSize(of: rhs.shape, perPlane: lhs.shape) {
            return perPlaneBinary(large: rhs, small: lhs, largeIsLeft: false, plane: plane, operation)
        }
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

    /// The plane size when `small` holds one value per plane of `large`: the same rank, equal
    /// leading axes and 1 on all trailing ones (a squeeze-excite gate [B, C, 1, 1] on
    /// [B, C, H, W]); nil otherwise.
    private static func planeSize(of large: [Int], perPlane small: [Int]) -> Int? {
        guard large.count == small.count, !large.contains(0) else { return nil }
        var split = small.count
        while split > 0 && small[split - 1] == 1 { split -= 1 }
        guard Array(large[..<split]) == Array(small[..<split]) else { return nil }
        let plane = large[split...].reduce(1, *)
        return plane > 1 ? plane : nil
    }

    /// A binary operation between each plane of `large` and its one value in `small`:
    /// contiguous loops per plane, split across workers, instead of the general strided walk.
    private static func perPlaneBinary(large: Tensor, small: Tensor, largeIsLeft: Bool, plane: Int,
                                       _ operation: BinaryOperation) -> Tensor {
        let planes = small.count
        // out = L·S, L + S, L − S (large on the left) or S − L, as L·α + S·β per plane:
        // multiply has α = S; the others α = ±1 and β = ±1.
        let largeSign: Float = operation == .subtract && !largeIsLeft ? -1 : 1
        let smallSign: Float = operation == .subtract && largeIsLeft ? -1 : 1
        let minimumPlanes = max(1, (1 << 15) / plane)
        let values = large.storage.withUnsafeBufferPointer { pl in
            small.storage.withUnsafeBufferPointer { ps in
                makeStorage(large.count) { out in
                    let (pl, ps, out) = (UnsafeSendable(pl.baseAddress!), UnsafeSendable(ps.baseAddress!), UnsafeSendable(out))
                    parallelChunks(planes, minimumPerChunk: minimumPlanes) { block in
                        for index in block {
                            let (source, target) = (pl.value + index * plane, out.value + index * plane)
                            if operation == .multiply {
                                edgenas_scale_shift(source, target, plane, ps.value[index], 0)
                            } else {
                                edgenas_scale_shift(source, target, plane, largeSign, smallSign * ps.value[index])
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: large.shape, storage: values, inputs: largeIsLeft ? [large, small] : [small, large]) { result in
            result.gradient!.withUnsafeBufferPointer { g in
                let g = UnsafeSendable(g.baseAddress!)
                if large.requiresGradient {
                    large.accumulateGradient { dl in
                        small.storage.withUnsafeBufferPointer { ps in
                            let (dl, ps) = (UnsafeSendable(dl), UnsafeSendable(ps.baseAddress!))
                            parallelChunks(planes, minimumPerChunk: minimumPlanes) { block in
                                for index in block {
                                    let factor = operation == .multiply ? ps.value[index] : largeSign
                                    cblas_saxpy(Int32(plane), factor, g.value + index * plane, 1, dl.value + index * plane, 1)
                                }
                            }
                        }
                    }
                }
                if small.requiresGradient {
                    small.accumulateGradient { ds in
                        large.storage.withUnsafeBufferPointer { pl in
                            let (ds, pl) = (UnsafeSendable(ds), UnsafeSendable(pl.baseAddress!))
                            parallelChunks(planes, minimumPerChunk: minimumPlanes) { block in
                                for index in block {
                                    let planeGradient = g.value + index * plane
                                    ds.value[index] += operation == .multiply
                                        ? cblas_sdot(Int32(plane), planeGradient, 1, pl.value + index * plane, 1)
                                        : smallSign * edgenas_sum(planeGradient, plane)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Same-shape operands (residual sums, gates): plain loops split across workers for
    /// large tensors.
    private static func sameShapeBinary(_ lhs: Tensor, _ rhs: Tensor, _ operation: BinaryOperation) -> Tensor {
        let count = lhs.count
        let values = lhs.storage.withUnsafeBufferPointer { a in
            rhs.storage.withUnsafeBufferPointer { b in
                makeStorage(count) { out in
                    let (a, b, out) = (UnsafeSendable(a.baseAddress!), UnsafeSendable(b.baseAddress!), UnsafeSendable(out))
                    parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                        let (a, b, out) = (a.value, b.value, out.value)
                        switch operation {
                        case .add: for i in range { out[i] = a[i] + b[i] }
                        case .subtract: for i in range { out[i] = a[i] - b[i] }
                        case .multiply: for i in range { out[i] = a[i] * b[i] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: lhs.shape, storage: values, inputs: [lhs, rhs]) { result in
            result.gradient!.withUnsafeBufferPointer { g in
                let g = UnsafeSendable(g.baseAddress!)
                // On first use a sum's input takes the output's gradient array itself: shared
                // copy-on-write, it is copied only if both inputs add more into theirs later.
                if lhs.requiresGradient, lhs.gradient == nil, operation != .multiply {
                    lhs.gradient = result.gradient
                } else if lhs.requiresGradient {
                    lhs.accumulateGradient { da in
                        rhs.storage.withUnsafeBufferPointer { b in
                            let (da, b) = (UnsafeSendable(da), UnsafeSendable(b.baseAddress!))
                            parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                                let (da, b, g) = (da.value, b.value, g.value)
                                switch operation {
                                case .add, .subtract: for i in range { da[i] += g[i] }
                                case .multiply: for i in range { da[i] += g[i] * b[i] }
                                }
                            }
                        }
                    }
                }
                if rhs.requiresGradient, rhs.gradient == nil, operation == .add {
                    rhs.gradient = result.gradient
                } else if rhs.requiresGradient {
                    rhs.accumulateGradient { db in
                        lhs.storage.withUnsafeBufferPointer { a in
                            let (db, a) = (UnsafeSendable(db), UnsafeSendable(a.baseAddress!))
                            parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                                let (db, a, g) = (db.value, a.value, g.value)
                                switch operation {
                                case .add: for i in range { db[i] += g[i] }
                                case .subtract: for i in range { db[i] -= g[i] }
                                case .multiply: for i in range { db[i] += g[i] * a[i] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
