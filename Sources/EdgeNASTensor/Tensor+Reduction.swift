import CEdgeKernels

// Sums and means over axes.

extension Tensor {
    /// Sum over `axes` (all axes when empty). Reduced axes are dropped unless
    /// `keepingDimensions`, which leaves them with size 1.
    public func sum(axes: [Int] = [], keepingDimensions: Bool = false) -> Tensor {
        reduce(axes: axes, keepingDimensions: keepingDimensions, scale: 1)
    }

    /// Mean over `axes` (all axes when empty).
    public func mean(axes: [Int] = [], keepingDimensions: Bool = false) -> Tensor {
        let reduced = axes.isEmpty ? Array(0..<rank) : axes.map { normalizedAxis($0, rank: rank, "mean") }
        let size = reduced.reduce(1) { $0 * shape[$1] }
        return reduce(axes: axes, keepingDimensions: keepingDimensions, scale: 1 / Float(max(1, size)))
    }

    /// Global average pooling of an NCHW feature map: [N, C, H, W] → [N, C].
    public func globalAveragePooled() -> Tensor {
        precondition(rank == 4, "globalAveragePooled: expected NCHW, got \(shape)")
        return mean(axes: [2, 3])
    }

    private func reduce(axes: [Int], keepingDimensions: Bool, scale: Float) -> Tensor {
        let reduced = Set(axes.isEmpty ? Array(0..<rank) : axes.map { normalizedAxis($0, rank: rank, "sum") })
        let keptShape = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let outputShape = keepingDimensions ? keptShape : shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let outputCount = keptShape.reduce(1, *)
        // Strides of the output seen from the input's index space: 0 along reduced axes.
        let keptStrides = contiguousStrides(keptShape)
        let broadcastStrides = shape.indices.map { reduced.contains($0) ? 0 : keptStrides[$0] }
        let trailing = reduced == Set((rank - reduced.count)..<rank)
        let inputShape = shape
        let input = self
        let values = storage.withUnsafeBufferPointer { source in
            makeZeroedStorage(outputCount) { out in
                if trailing {
                    // Each output is the sum of one contiguous block (global pooling, loss sums).
                    let block = count / max(1, outputCount)
                    for o in 0..<outputCount {
                        out[o] = edgenas_sum(source.baseAddress! + o * block, block) * scale
                    }
                } else {
                    stridedScatterAdd(shape: inputShape, destinationStrides: broadcastStrides,
                                      source: source.baseAddress!, destination: out)
                    if scale != 1 { for o in 0..<outputCount { out[o] *= scale } }
                }
            }
        }
        return Tensor(shape: outputShape, storage: values, inputs: [input]) { result in
            input.accumulateGradient { inputGradient in
                result.gradient!.withUnsafeBufferPointer { g in
                    if trailing {
                        // Each output's gradient spreads evenly over its contiguous block.
                        let block = inputShape.reduce(1, *) / max(1, outputCount)
                        for o in 0..<outputCount {
                            let value = g[o] * scale, target = inputGradient + o * block
                            for j in 0..<block { target[j] += value }
                        }
                        return
                    }
                    let scaled = g.map { $0 * scale }
                    scaled.withUnsafeBufferPointer { s in
                        stridedCopy(shape: inputShape, sourceStrides: broadcastStrides, source: s.baseAddress!,
                                    destination: inputGradient, accumulate: true)
                    }
                }
            }
        }
    }
}
