// Shape operations: reshape, permute, slice, concatenate, flip.

/// Row-major strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// Resolves a possibly negative axis (-1 = last).
@inline(__always)
func normalizedAxis(_ axis: Int, rank: Int, _ operation: String) -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    precondition(resolved >= 0 && resolved < rank, "\(operation): axis \(axis) out of range for rank \(rank)")
    return resolved
}

extension Tensor {
    /// The same values with a new shape of equal size; one axis may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer -1 in \(newShape) from \(shape)")
            resolved[inferred] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "reshaped: \(shape) (\(count) values) vs \(newShape)")
        let input = self
        return Tensor(shape: resolved, storage: storage, inputs: [input]) { result in
            input.accumulateGradient { inputGradient in
                result.gradient!.withUnsafeBufferPointer { g in
                    for index in 0..<g.count { inputGradient[index] += g[index] }
                }
            }
        }
    }

    /// Flattens axes from `startAxis` on into one: [N, C, H, W].flattened(1) is [N, C·H·W].
    public func flattened(from startAxis: Int = 1) -> Tensor {
        reshaped(Array(shape[..<startAxis]) + [shape[startAxis...].reduce(1, *)])
    }

    /// Reorders axes: result axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permuted: \(order) is not a permutation of 0..<\(rank)")
        if order == Array(0..<rank) { return reshaped(shape) }
        let outputShape = order.map { shape[$0] }
        let inputStrides = contiguousStrides(shape)
        let gatherStrides = order.map { inputStrides[$0] }
        let input = self
        let values = storage.withUnsafeBufferPointer { source in
            makeStorage(count) { out in
                stridedCopy(shape: outputShape, sourceStrides: gatherStrides, source: source.baseAddress!,
                            destination: out, accumulate: false)
            }
        }
        // Backward: scatter the gradient back with the same strides (a permutation is a bijection).
        return Tensor(shape: outputShape, storage: values, inputs: [input]) { result in
            input.accumulateGradient { inputGradient in
                result.gradient!.withUnsafeBufferPointer { g in
                    stridedScatterAdd(shape: outputShape, destinationStrides: gatherStrides,
                                      source: g.baseAddress!, destination: inputGradient)
                }
            }
        }
    }

    /// Swaps two axes.
    public func transposed(_ first: Int, _ second: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(first, rank: rank, "transposed"), normalizedAxis(second, rank: rank, "transposed"))
        return permuted(order)
    }

    /// Values `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let axis = normalizedAxis(axis, rank: rank, "sliced")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "sliced: range \(range) outside axis \(axis) of size \(shape[axis])")
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let axisSize = shape[axis], length = range.count
        var outputShape = shape
        outputShape[axis] = length
        let input = self
        let values = storage.withUnsafeBufferPointer { source in
            makeStorage(outer * length * inner) { out in
                for o in 0..<outer {
                    (out + o * length * inner).update(
                        from: source.baseAddress! + (o * axisSize + range.lowerBound) * inner, count: length * inner)
                }
            }
        }
        return Tensor(shape: outputShape, storage: values, inputs: [input]) { result in
            input.accumulateGradient { inputGradient in
                result.gradient!.withUnsafeBufferPointer { g in
                    for o in 0..<outer {
                        let destination = inputGradient + (o * axisSize + range.lowerBound) * inner
                        let source = g.baseAddress! + o * length * inner
                        for j in 0..<(length * inner) { destination[j] += source[j] }
                    }
                }
            }
        }
    }

    /// Reverses the order of values along `axis`.
    public func flipped(axis: Int) -> Tensor {
        let axis = normalizedAxis(axis, rank: rank, "flipped")
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let axisSize = shape[axis]
        let input = self
        // The flip is its own inverse: the same index map serves forward and backward.
        let flip: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Bool) -> Void = { source, destination, add in
            for o in 0..<outer {
                for i in 0..<axisSize {
                    let from = source + (o * axisSize + i) * inner
                    let to = destination + (o * axisSize + (axisSize - 1 - i)) * inner
                    if add {
                        for j in 0..<inner { to[j] += from[j] }
                    } else {
                        to.update(from: from, count: inner)
                    }
                }
            }
        }
        let values = storage.withUnsafeBufferPointer { source in
            makeStorage(count) { flip(source.baseAddress!, $0, false) }
        }
        return Tensor(shape: shape, storage: values, inputs: [input]) { result in
            input.accumulateGradient { inputGradient in
                result.gradient!.withUnsafeBufferPointer { flip($0.baseAddress!, inputGradient, true) }
            }
        }
    }
}

/// Joins tensors along `axis`; all other sizes must match.
public func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concatenate: no tensors")
    let first = tensors[0]
    let axis = normalizedAxis(axis, rank: first.rank, "concatenate")
    for tensor in tensors {
        precondition(tensor.rank == first.rank &&
                     zip(tensor.shape, first.shape).enumerated().allSatisfy { $0.offset == axis || $0.element.0 == $0.element.1 },
                     "concatenate: shapes \(tensors.map(\.shape)) differ off axis \(axis)")
    }
    let outer = first.shape[..<axis].reduce(1, *)
    let inner = first.shape[(axis + 1)...].reduce(1, *)
    let sizes = tensors.map { $0.shape[axis] }
    let total = sizes.reduce(0, +)
    var outputShape = first.shape
    outputShape[axis] = total
    var values = [Float](repeating: 0, count: outer * total * inner)
    values.withUnsafeMutableBufferPointer { out in
        var offset = 0
        for (tensor, size) in zip(tensors, sizes) {
            tensor.storage.withUnsafeBufferPointer { source in
                for o in 0..<outer {
                    (out.baseAddress! + (o * total + offset) * inner).update(
                        from: source.baseAddress! + o * size * inner, count: size * inner)
                }
            }
            offset += size
        }
    }
    return Tensor(shape: outputShape, storage: values, inputs: tensors) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            var offset = 0
            for (tensor, size) in zip(tensors, sizes) {
                if tensor.requiresGradient {
                    tensor.accumulateGradient { destination in
                        for o in 0..<outer {
                            let source = g.baseAddress! + (o * total + offset) * inner
                            let target = destination + o * size * inner
                            for j in 0..<(size * inner) { target[j] += source[j] }
                        }
                    }
                }
                offset += size
            }
        }
    }
}

/// Visits the rows (runs along the innermost axis) of `shape` in row-major order, with the
/// offset of each row's first element under two sets of strides: body(row, first, second).
/// An odometer over the outer axes, so any rank works without recursion.
func forEachRow(of shape: [Int], firstStrides: [Int], secondStrides: [Int],
                _ body: (_ row: Int, _ firstOffset: Int, _ secondOffset: Int) -> Void) {
    let rank = shape.count
    guard rank > 0 else { body(0, 0, 0); return }
    let outer = shape.dropLast().reduce(1, *)
    var index = [Int](repeating: 0, count: rank - 1)
    var first = 0, second = 0
    for row in 0..<outer {
        body(row, first, second)
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            first += firstStrides[axis]
            second += secondStrides[axis]
            if index[axis] < shape[axis] { break }
            first -= firstStrides[axis] * shape[axis]
            second -= secondStrides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// destination[i] (= or +=) source[Σ index_a · sourceStrides_a] over the row-major indices of `shape`.
func stridedCopy(shape: [Int], sourceStrides: [Int], source: UnsafePointer<Float>,
                 destination: UnsafeMutablePointer<Float>, accumulate: Bool) {
    let inner = shape.last ?? 1, innerStride = sourceStrides.last ?? 0
    forEachRow(of: shape, firstStrides: sourceStrides, secondStrides: sourceStrides) { row, sourceOffset, _ in
        let out = destination + row * inner
        let from = source + sourceOffset
        if accumulate {
            for j in 0..<inner { out[j] += from[j * innerStride] }
        } else {
            for j in 0..<inner { out[j] = from[j * innerStride] }
        }
    }
}

/// destination[Σ index_a · destinationStrides_a] += source[i] over the row-major indices of `shape`.
func stridedScatterAdd(shape: [Int], destinationStrides: [Int], source: UnsafePointer<Float>,
                       destination: UnsafeMutablePointer<Float>) {
    let inner = shape.last ?? 1, innerStride = destinationStrides.last ?? 0
    forEachRow(of: shape, firstStrides: destinationStrides, secondStrides: destinationStrides) { row, destinationOffset, _ in
        let from = source + row * inner
        let to = destination + destinationOffset
        for j in 0..<inner { to[j * innerStride] += from[j] }
    }
}
