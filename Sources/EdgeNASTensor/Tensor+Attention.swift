import CEdgeKernels

/// Softmax along the last axis: y_i = e^{x_i − max x} / Σ_j e^{x_j − max x}.
public func softmax(_ x: Tensor) -> Tensor {
    let width = x.shape.last ?? 1
    let rows = x.count / max(1, width)
    let values = x.storage.withUnsafeBufferPointer { px in
        makeStorage(x.count) { py in
            edgenas_softmax_rows(px.baseAddress!, py, rows, width)
        }
    }
    return Tensor(shape: x.shape, storage: values, inputs: [x]) { result in
        x.accumulateGradient { dx in
            result.storage.withUnsafeBufferPointer { y in
                result.gradient!.withUnsafeBufferPointer { g in
                    edgenas_softmax_backward_rows(y.baseAddress!, g.baseAddress!, dx, rows, width, 1, 1)
                }
            }
        }
    }
}

/// Multi-head scaled dot-product self-attention on packed projections.
///
/// `qkv` is [B, N, 3·D] holding q, k and v in that order (the output of one
/// Linear(D → 3D)); each of the `heads` heads uses a slice of size D/heads:
/// out_h = softmax(q_h·k_hᵀ / √(D/heads)) · v_h, heads concatenated back to [B, N, D].
/// Works on strided views of `qkv` (no copies) and keeps the attention probabilities for
/// the backward pass.
public func multiHeadSelfAttention(qkv: Tensor, heads: Int) -> Tensor {
    precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "multiHeadSelfAttention: qkv \(qkv.shape) is not [B, N, 3D]")
    let (batch, tokens) = (qkv.shape[0], qkv.shape[1])
    let embed = qkv.shape[2] / 3
    precondition(heads >= 1 && embed % heads == 0, "multiHeadSelfAttention: embed \(embed) not divisible by \(heads) heads")
    let headSize = embed / heads
    let scale = 1 / Float(headSize).squareRoot()
    let rowStride = 3 * embed
    let pairCount = batch * heads
    // Every entry is written by the score product below.
    var probabilities = [Float](unsafeUninitializedCapacity: pairCount * tokens * tokens) { _, initialized in
        initialized = pairCount * tokens * tokens
    }
    let values = qkv.storage.withUnsafeBufferPointer { pqkv in
        probabilities.withUnsafeMutableBufferPointer { pp in
            makeStorage(batch * tokens * embed) { out in
                let (pqkv, pp, out) = (UnsafeSendable(pqkv.baseAddress!), UnsafeSendable(pp.baseAddress!), UnsafeSendable(out))
                parallelChunks(pairCount) { pairs in
                    for pair in pairs {
                        let (b, h) = (pair / heads, pair % heads)
                        let base = pqkv.value + b * tokens * rowStride + h * headSize
                        let scores = pp.value + pair * tokens * tokens
                        gemm(transposeA: false, transposeB: true, m: tokens, n: tokens, k: headSize, alpha: scale,
                             a: base, lda: rowStride, b: base + embed, ldb: rowStride,
                             beta: 0, c: scores, ldc: tokens, parallel: false)
                        edgenas_softmax_rows(scores, scores, tokens, tokens)
                        gemm(transposeA: false, transposeB: false, m: tokens, n: headSize, k: tokens,
                             a: scores, lda: tokens, b: base + 2 * embed, ldb: rowStride,
                             beta: 0, c: out.value + b * tokens * embed + h * headSize, ldc: embed, parallel: false)
                    }
                }
            }
        }
    }
    return Tensor(shape: [batch, tokens, embed], storage: values, inputs: [qkv]) { result in
        qkv.accumulateGradient { dqkv in
            qkv.storage.withUnsafeBufferPointer { pqkv in
                probabilities.withUnsafeBufferPointer { pp in
                    result.gradient!.withUnsafeBufferPointer { g in
                        let (pqkv, pp, g) = (UnsafeSendable(pqkv.baseAddress!), UnsafeSendable(pp.baseAddress!), UnsafeSendable(g.baseAddress!))
                        let dqkv = UnsafeSendable(dqkv)
                        parallelChunks(pairCount) { pairs in
                            var scratch = [Float](repeating: 0, count: tokens * tokens)
                            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                                let scoreGradient = scratchBuffer.baseAddress!
                                for pair in pairs {
                                    let (b, h) = (pair / heads, pair % heads)
                                    let base = pqkv.value + b * tokens * rowStride + h * headSize
                                    let gradientBase = dqkv.value + b * tokens * rowStride + h * headSize
                                    let probability = pp.value + pair * tokens * tokens
                                    let outputGradient = g.value + b * tokens * embed + h * headSize
                                    // dV += Pᵀ · dO
                                    gemm(transposeA: true, transposeB: false, m: tokens, n: headSize, k: tokens,
                                         a: probability, lda: tokens, b: outputGradient, ldb: embed,
                                         beta: 1, c: gradientBase + 2 * embed, ldc: rowStride, parallel: false)
                                    // dP = dO · Vᵀ
                                    gemm(transposeA: false, transposeB: true, m: tokens, n: tokens, k: headSize,
                                         a: outputGradient, lda: embed, b: base + 2 * embed, ldb: rowStride,
                                         beta: 0, c: scoreGradient, ldc: tokens, parallel: false)
                                    // dS = P ⊙ (dP − Σ_j dP⊙P) · scale
                                    edgenas_softmax_backward_rows(probability, scoreGradient, scoreGradient,
                                                                  tokens, tokens, scale, 0)
                                    // dQ += dS · K, dK += dSᵀ · Q
                                    gemm(transposeA: false, transposeB: false, m: tokens, n: headSize, k: tokens,
                                         a: scoreGradient, lda: tokens, b: base + embed, ldb: rowStride,
                                         beta: 1, c: gradientBase, ldc: rowStride, parallel: false)
                                    gemm(transposeA: true, transposeB: false, m: tokens, n: headSize, k: tokens,
                                         a: scoreGradient, lda: tokens, b: base, ldb: rowStride,
                                         beta: 1, c: gradientBase + embed, ldc: rowStride, parallel: false)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
