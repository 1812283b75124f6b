import CEdgeKernels
import Foundation

/// Mamba's selective scan as one operation with its own gradient rule (a chain of per-token
/// tensor ops would record tokens × 6 graph nodes per layer and direction).
///
/// For every sample, with A = −exp(`aLog`) and h₀ = 0:
///
///     h_t = exp(Δ_t · A) ⊙ h_{t−1} + (Δ_t ⊙ v_t) ⊗ B_t
///     y_t = h_t · C_t + D ⊙ v_t
///
/// - Parameters:
///   - v: the scanned sequence [batch, tokens, channels].
///   - delta: Δ, the per-token step sizes [batch, tokens, channels] (already positive).
///   - b: B, the input projection of the state [batch, tokens, states].
///   - c: C, the output projection of the state [batch, tokens, states].
///   - aLog: log(−A) [channels, states].
///   - d: the skip D [channels].
/// - Returns: y [batch, tokens, channels].
///
/// The backward pass recomputes each sample's states instead of keeping them from the
/// forward pass: tokens × channels × states floats per sample would dominate a training
/// step's memory, and the recomputation costs one more forward scan.
public func selectiveScan(_ v: Tensor, delta: Tensor, b: Tensor, c: Tensor, aLog: Tensor, d: Tensor) -> Tensor {
    precondition(v.rank == 3 && delta.shape == v.shape, "selectiveScan: v \(v.shape), delta \(delta.shape)")
    let (batch, tokens, channels) = (v.shape[0], v.shape[1], v.shape[2])
    let states = aLog.rank == 2 ? aLog.shape[1] : 0
    precondition(aLog.shape == [channels, states] && d.shape == [channels] && b.shape == [batch, tokens, states]
                 && c.shape == [batch, tokens, states],
                 "selectiveScan: v \(v.shape), B \(b.shape), C \(c.shape), A_log \(aLog.shape), D \(d.shape)")
    // A = −exp(A_log), transposed to the kernels' state-major layout [states, channels].
    let a: [Float] = (0..<(states * channels)).map { index in
        let (s, e) = (index / channels, index % channels)
        return -Foundation.exp(aLog.storage[e * states + s])
    }
    let sequenceCount = tokens * channels, projectionCount = tokens * states
    let values = makeStorage(v.count) { py in
        withScanInputs(v, delta, b, c, a, d) { inputs in
            let py = UnsafeSendable(py)
            parallelChunks(batch) { samples in
                var scratch = [Float](repeating: 0, count: channels + states * channels)
                scratch.withUnsafeMutableBufferPointer { scratch in
                    for sample in samples {
                        edgenas_selective_scan_forward(
                            Int32(tokens), Int32(channels), Int32(states),
                            inputs.v + sample * sequenceCount, inputs.delta + sample * sequenceCount,
                            inputs.b + sample * projectionCount, inputs.c + sample * projectionCount,
                            inputs.a, inputs.d, py.value + sample * sequenceCount, nil, scratch.baseAddress!)
                    }
                }
            }
        }
    }
    return Tensor(shape: v.shape, storage: values, inputs: [v, delta, b, c, aLog, d]) { result in
        backwardSelectiveScan(result, v, delta, b, c, aLog, d, a: a)
    }
}

/// Raw pointers to the scan's inputs, handed to worker closures.
private struct ScanInputs: @unchecked Sendable {
    let v, delta, b, c, a, d: UnsafePointer<Float>
}

private func withScanInputs<Result>(_ v: Tensor, _ delta: Tensor, _ b: Tensor, _ c: Tensor, _ a: [Float], _ d: Tensor,
                                    _ body: (ScanInputs) -> Result) -> Result {
    v.storage.withUnsafeBufferPointer { pv in
        delta.storage.withUnsafeBufferPointer { pdelta in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeBufferPointer { pc in
                    a.withUnsafeBufferPointer { pa in
                        d.storage.withUnsafeBufferPointer { pd in
                            body(ScanInputs(v: pv.baseAddress!, delta: pdelta.baseAddress!, b: pb.baseAddress!,
                                            c: pc.baseAddress!, a: pa.baseAddress!, d: pd.baseAddress!))
                        }
                    }
                }
            }
        }
    }
}

private func backwardSelectiveScan(_ result: Tensor, _ v: Tensor, _ delta: Tensor, _ b: Tensor, _ c: Tensor,
                                   _ aLog: Tensor, _ d: Tensor, a: [Float]) {
    let (batch, tokens, channels) = (v.shape[0], v.shape[1], v.shape[2])
    let states = aLog.shape[1]
    let sequenceCount = tokens * channels, projectionCount = tokens * states
    // Per-sample gradients go straight into the inputs' buffers (samples are disjoint); an
    // input without a gradient gets a throw-away buffer. The parameters' gradients are summed
    // per worker, then added.
    var discarded: [UnsafeMutablePointer<Float>] = []
    defer { discarded.forEach { $0.deallocate() } }
    func target(_ tensor: Tensor) -> UnsafeSendable<UnsafeMutablePointer<Float>> {
        if tensor.requiresGradient { return UnsafeSendable(tensor.gradientPointer(zeroFilled: true).pointer) }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tensor.count)
        buffer.initialize(repeating: 0, count: tensor.count)
        discarded.append(buffer)
        return UnsafeSendable(buffer)
    }
    let (dv, dDelta, dB, dC) = (target(v), target(delta), target(b), target(c))
    let workerLimit = max(1, Compute.threadCount)
    var parameterGradients = [Float](repeating: 0, count: workerLimit * (states * channels + channels))
    let perWorker = states * channels + channels
    let workers = result.gradient!.withUnsafeBufferPointer { g in
        parameterGradients.withUnsafeMutableBufferPointer { sums in
            withScanInputs(v, delta, b, c, a, d) { inputs in
                let (g, sums) = (UnsafeSendable(g.baseAddress!), UnsafeSendable(sums.baseAddress!))
                return parallelWorkers(batch, maximumWorkers: workerLimit) { worker, samples in
                    let dA = sums.value + worker * perWorker, dD = dA + states * channels
                    var history = [Float](repeating: 0, count: tokens * states * channels)
                    var scratch = [Float](repeating: 0, count: channels + states * channels)
                    var forward = [Float](repeating: 0, count: sequenceCount)
                    history.withUnsafeMutableBufferPointer { history in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            forward.withUnsafeMutableBufferPointer { forward in
                                for sample in samples {
                                    let (sequence, projection) = (sample * sequenceCount, sample * projectionCount)
                                    edgenas_selective_scan_forward(
                                        Int32(tokens), Int32(channels), Int32(states),
                                        inputs.v + sequence, inputs.delta + sequence,
                                        inputs.b + projection, inputs.c + projection, inputs.a, inputs.d,
                                        forward.baseAddress!, history.baseAddress!, scratch.baseAddress!)
                                    edgenas_selective_scan_backward(
                                        Int32(tokens), Int32(channels), Int32(states),
                                        inputs.v + sequence, inputs.delta + sequence,
                                        inputs.b + projection, inputs.c + projection, inputs.a, inputs.d,
                                        history.baseAddress!, g.value + sequence,
                                        dv.value + sequence, dDelta.value + sequence,
                                        dB.value + projection, dC.value + projection, dA, dD,
                                        scratch.baseAddress! + channels)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if aLog.requiresGradient {
        // dL/dA_log = dL/dA · A (A = −exp(A_log)), back to [channels, states].
        aLog.accumulateGradient { gradient in
            for worker in 0..<workers {
                let dA = worker * perWorker
                for s in 0..<states {
                    for e in 0..<channels {
                        let index = s * channels + e
                        gradient[e * states + s] += parameterGradients[dA + index] * a[index]
                    }
                }
            }
        }
    }
    if d.requiresGradient {
        d.accumulateGradient { gradient in
            for worker in 0..<workers {
                let dD = worker * perWorker + states * channels
                for e in 0..<channels { gradient[e] += parameterGradients[dD + e] }
            }
        }
    }
}
