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
                    a.accumulateGradient { da in
                        b.storage.withUnsafeBufferPointer { pb in
                            gemm(transposeA: false, transposeB: true, m: rows, n: k, k: n,
                                 a: g.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, beta: 1, c: da, ldc: k)
                        }
                    }
                }
                if b.requiresGradient {
                    b.accumulateGradient { db in
                        a.storage.withUnsafeBufferPointer { pa in
                            gemm(transposeA: true, transposeB: false, m: k, n: n, k: rows,
                                 a: pa.baseAddress!, lda: k, b: g.baseAddress!, ldb: n, beta: 1, c: db, ldc: n)
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
    let values = x.storage.withUnsafeBufferPointer { px in
        weight.storage.withUnsafeBufferPointer { pw in
            makeStorage(rows * outFeatures) { py in
                if let bias {
                    bias.storage.withUnsafeBufferPointer { pb in
                        for row in 0..<rows { (py + row * outFeatures).update(from: pb.baseAddress!, count: outFeatures) }
                    }
                }
                gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                     a: px.baseAddress!, lda: inFeatures, b: pw.baseAddress!, ldb: inFeatures,
                     beta: bias == nil ? 0 : 1, c: py, ldc: outFeatures)
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], storage: values, inputs: inputs) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            let g = g.baseAddress!
            if x.requiresGradient {
                x.accumulateGradient { dx in
                    weight.storage.withUnsafeBufferPointer { pw in
                        gemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                             a: g, lda: outFeatures, b: pw.baseAddress!, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
                    }
                }
            }
            if weight.requiresGradient {
                weight.accumulateGradient { dw in
                    x.storage.withUnsafeBufferPointer { px in
                        gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                             a: g, lda: outFeatures, b: px.baseAddress!, ldb: inFeatures, beta: 1, c: dw, ldc: inFeatures)
                    }
                }
            }
            if let bias, bias.requiresGradient {
                bias.accumulateGradient { db in
                    for row in 0..<rows {
                        let gradientRow = g + row * outFeatures
                        for j in 0..<outFeatures { db[j] += gradientRow[j] }
                    }
                }
            }
        }
    }
}
