import CEdgeKernels
// Matrix products on OpenBLAS sgemm.

/// Matrix product over the last two axes.
///
/// - `a` [..., M, K] · `b` [K, N] → [..., M, N] (one matrix shared by all leading indices);
/// - `a` [B..., M, K] · `b` [B..., K, N] → [B..., M, N] (batched, leading axes equal).
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "matmul: lhs \(a.shape) vs rhs \(b.shape)")
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
    let n = b.shape[b.rank - 1]
    precondition(b.shape[b.rank - 2] == k, "matmul: lhs \(a.shape) vs rhs \(b.shape)")
    if b.rank == 2 {
        // Shared right operand: one GEMM over all rows of `a`.
        let rows = a.count / k
        let values = a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                makeStorage(rows * n) { pc in
                    gemm(transposeA: false, transposeB: false, m: rows, n: n, k: k,
                         a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, beta: 0, c: pc, ldc: n)
                }
            }
        }
        return Tensor(shape: Array(a.shape.dropLast()) + [n], storage: values, inputs: [a, b]) { result in
            result.gradient!.withUnsafeBufferPointer { g in
                if a.requiresGradient {
                    a.writeOrAccumulateGradient { da, accumulate in
                        b.storage.withUnsafeBufferPointer { pb in
                            gemm(transposeA: false, transposeB: true, m: rows, n: k, k: n,
                                 a: g.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, beta: accumulate ? 1 : 0,
                                 c: da, ldc: k)
                        }
                    }
                }
                if b.requiresGradient {
                    b.accumulateGradient { db in
                        a.storage.withUnsafeBufferPointer { pa in
                            accumulatingGemmSplittingDepth(transposeA: true, transposeB: false, m: k, n: n, k: rows,
                                                           a: pa.baseAddress!, lda: k, b: g.baseAddress!, ldb: n,
                                                           c: db, ldc: n)
                        }
                    }
                }
            }
        }
    }
    precondition(Array(a.shape.dropLast(2)) == Array(b.shape.dropLast(2)),
                 "matmul: batch axes differ, lhs \(a.shape) vs rhs \(b.shape)")
    let batch = a.count / (m * k)
    let values = a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
            makeStorage(batch * m * n) { pc in
                let pa = UnsafeSendable(pa.baseAddress!), pb = UnsafeSendable(pb.baseAddress!), pc = UnsafeSendable(pc)
                parallelChunks(batch) { range in
                    for i in range {
                        gemm(transposeA: false, transposeB: false, m: m, n: n, k: k,
                             a: pa.value + i * m * k, lda: k, b: pb.value + i * k * n, ldb: n,
                             beta: 0, c: pc.value + i * m * n, ldc: n, parallel: false)
                    }
                }
            }
        }
    }
    return Tensor(shape: Array(a.shape.dropLast()) + [n], storage: values, inputs: [a, b]) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            let g = UnsafeSendable(g.baseAddress!)
            if a.requiresGradient {
                a.accumulateGradient { da in
                    b.storage.withUnsafeBufferPointer { pb in
                        let pb = UnsafeSendable(pb.baseAddress!), da = UnsafeSendable(da)
                        parallelChunks(batch) { range in
                            for i in range {
                                gemm(transposeA: false, transposeB: true, m: m, n: k, k: n,
                                     a: g.value + i * m * n, lda: n, b: pb.value + i * k * n, ldb: n,
                                     beta: 1, c: da.value + i * m * k, ldc: k, parallel: false)
                            }
                        }
                    }
                }
            }
            if b.requiresGradient {
                b.accumulateGradient { db in
                    a.storage.withUnsafeBufferPointer { pa in
                        let pa = UnsafeSendable(pa.baseAddress!), db = UnsafeSendable(db)
                        parallelChunks(batch) { range in
                            for i in range {
                                gemm(transposeA: true, transposeB: false, m: k, n: n, k: m,
                                     a: pa.value + i * m * k, lda: k, b: g.value + i * m * n, ldb: n,
                                     beta: 1, c: db.value + i * k * n, ldc: n, parallel: false)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Fully connected layer: y = x · Wᵀ + bias, with `x` [..., in], `weight` [out, in] and
/// `bias` [out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(weight.rank == 2 && x.shape.last == weight.shape[1],
                 "linear: input \(x.shape) vs weight \(weight.shape)")
    let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
    if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) vs weight \(weight.shape)") }
    let rows = x.count / inFeatures
    // Rows are independent: each worker fills its rows' bias and multiplies them, so the
    // bias fill runs in parallel with the product instead of before it.
    let values = x.storage.withUnsafeBufferPointer { px in
        weight.storage.withUnsafeBufferPointer { pw in
            makeStorage(rows * outFeatures) { py in
                let (px, pw, py) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(pw.baseAddress!), UnsafeSendable(py))
                withStoragePointer(bias) { pb in
                    let pb = UnsafeSendable(pb)
                    parallelRowBlocks(rows, flopsPerRow: 2 * inFeatures * outFeatures) { block in
                        let out = py.value + block.lowerBound * outFeatures
                        if let biasValues = pb.value {
                            for row in 0..<block.count { (out + row * outFeatures).update(from: biasValues, count: outFeatures) }
                        }
                        gemm(transposeA: false, transposeB: true, m: block.count, n: outFeatures, k: inFeatures,
                             a: px.value + block.lowerBound * inFeatures, lda: inFeatures, b: pw.value, ldb: inFeatures,
                             beta: pb.value == nil ? 0 : 1, c: out, ldc: outFeatures, parallel: false)
                    }
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], storage: values, inputs: inputs) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            let g = g.baseAddress!
            if x.requiresGradient {
                // dX = dY · W, written straight into a fresh buffer (no zero fill, no read).
                x.writeOrAccumulateGradient { dx, accumulate in
                    weight.storage.withUnsafeBufferPointer { pw in
                        gemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                             a: g, lda: outFeatures, b: pw.baseAddress!, ldb: inFeatures, beta: accumulate ? 1 : 0,
                             c: dx, ldc: inFeatures)
                    }
                }
            }
            if weight.requiresGradient {
                weight.accumulateGradient { dw in
                    x.storage.withUnsafeBufferPointer { px in
                        accumulatingGemmSplittingDepth(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures,
                                                       k: rows, a: g, lda: outFeatures, b: px.baseAddress!, ldb: inFeatures,
                                                       c: dw, ldc: inFeatures)
                    }
                }
            }
            if let bias, bias.requiresGradient {
                bias.accumulateGradient { db in addColumnSums(g, rows: rows, columns: outFeatures, into: db) }
            }
        }
    }
}

/// sums[j] += Σ_row values[row, j] of a row-major [rows, columns] matrix, split over
/// column blocks for large inputs (each worker owns its columns' sums).
func addColumnSums(_ values: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    let (values, sums) = (UnsafeSendable(values), UnsafeSendable(sums))
    parallelChunks(columns, minimumPerChunk: max(16, (1 << 16) / max(1, rows))) { block in
        edgenas_add_column_sums(values.value + block.lowerBound, rows, block.count, columns, sums.value + block.lowerBound)
    }
}

/// Calls `body` with a pointer to `tensor`'s values, or with nil when there is no tensor.
func withStoragePointer<Result>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> Result) -> Result {
    guard let tensor else { return body(nil) }
    return tensor.storage.withUnsafeBufferPointer { body($0.baseAddress) }
}
