import CEdgeKernels
import Foundation

/// Batch normalisation over the channel axis 1 of `x` [N, C, ...].
///
/// Training: y = weight · (x − μ_B) / √(σ²_B + ε) + bias with the batch mean μ_B and biased
/// variance σ²_B per channel; the running statistics are updated in place as
/// r ← (1 − momentum)·r + momentum·b (unbiased variance for the running variance).
/// Inference (`training == false`): the running statistics replace the batch statistics.
///
/// With `activation`, returns activation(batchNorm(x)) in one pass, the same values as
/// applying it after (the pre-activation is recomputed in the backward pass, not stored).
public func batchNorm(_ x: Tensor, weight: Tensor, bias: Tensor,
                      runningMean: Tensor, runningVariance: Tensor,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5,
                      activation: ActivationFunction? = nil) -> Tensor {
    precondition(x.rank >= 2, "batchNorm: input \(x.shape) has no channel axis")
    let (batch, channels) = (x.shape[0], x.shape[1])
    let plane = x.shape.dropFirst(2).reduce(1, *)
    for (name, tensor) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVariance", runningVariance)] {
        precondition(tensor.shape == [channels], "batchNorm: \(name) \(tensor.shape) vs input \(x.shape)")
    }
    let reductionSize = batch * plane
    var means = [Float](repeating: 0, count: channels)
    var inverseStandardDeviations = [Float](repeating: 0, count: channels)
    if training {
        precondition(reductionSize > 1, "batchNorm: training needs more than one value per channel, input \(x.shape)")
        var variances = [Float](repeating: 0, count: channels)
        x.storage.withUnsafeBufferPointer { px in
            means.withUnsafeMutableBufferPointer { meansBuffer in
                variances.withUnsafeMutableBufferPointer { variancesBuffer in
                    let (px, meanOut, varianceOut) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(meansBuffer.baseAddress!),
                                                      UnsafeSendable(variancesBuffer.baseAddress!))
                    parallelChunks(channels) { range in
                        for c in range {
                            // One pass of moments shifted by a sample of the channel: without the
                            // shift, Σx² − (Σx)²/n cancels catastrophically for large means.
                            let shift = px.value[c * plane]
                            var sum = 0.0, squares = 0.0
                            edgenas_channel_shifted_moments(px.value + c * plane, batch, channels * plane, plane, shift, &sum, &squares)
                            let shiftedMean = sum / Double(reductionSize)
                            meanOut.value[c] = Float(Double(shift) + shiftedMean)
                            varianceOut.value[c] = Float(max(0, squares / Double(reductionSize) - shiftedMean * shiftedMean))
                        }
                    }
                }
            }
        }
        let unbiasing = Float(reductionSize) / Float(reductionSize - 1)
        for c in 0..<channels {
            inverseStandardDeviations[c] = 1 / (variances[c] + epsilon).squareRoot()
            runningMean.storage[c] = (1 - momentum) * runningMean.storage[c] + momentum * means[c]
            runningVariance.storage[c] = (1 - momentum) * runningVariance.storage[c] + momentum * variances[c] * unbiasing
        }
    } else {
        for c in 0..<channels {
            means[c] = runningMean.storage[c]
            inverseStandardDeviations[c] = 1 / (runningVariance.storage[c] + epsilon).squareRoot()
        }
    }
    let scales = (0..<channels).map { weight.storage[$0] * inverseStandardDeviations[$0] }
    let shifts = (0..<channels).map { bias.storage[$0] - means[$0] * scales[$0] }
    let function = activation?.kernel
    let minimumPlanes = max(1, 4096 / max(1, plane))
    let values = x.storage.withUnsafeBufferPointer { px in
        makeStorage(x.count) { py in
            let (px, py) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(py))
            parallelChunks(batch * channels, minimumPerChunk: minimumPlanes) { planes in
                for planeIndex in planes {
                    let c = planeIndex % channels
                    let (source, target) = (px.value + planeIndex * plane, py.value + planeIndex * plane)
                    if let function {
                        edgenas_scale_shift_activate(source, target, plane, scales[c], shifts[c], function)
                    } else {
                        edgenas_scale_shift(source, target, plane, scales[c], shifts[c])
                    }
                }
            }
        }
    }
    let output = Tensor(shape: x.shape, storage: values, inputs: [x, weight, bias]) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            x.storage.withUnsafeBufferPointer { px in
                result.storage.withUnsafeBufferPointer { py in
                    // With an activation the normalisation's own output gradient is
                    // dpre = dy · f'(pre); it goes into x's fresh gradient buffer when there is
                    // one (the last pass then works in place), else into scratch.
                    let dx = x.requiresGradient ? x.gradientPointer(zeroFilled: false) : nil
                    let scratch: UnsafeMutablePointer<Float>? =
                        function != nil && dx?.isFresh != true ? .allocate(capacity: x.count) : nil
                    defer { scratch?.deallocate() }
                    let preGradient = function == nil ? nil : UnsafeSendable(scratch ?? dx!.pointer)
                    let outputGradient = preGradient.map { UnsafePointer($0.value) } ?? g.baseAddress!
                    // Per channel: Σ dpre and Σ dpre·x̂ = inv·Σ dpre·(x − μ) (dpre = dy without an activation).
                    var gradientSums = [Float](repeating: 0, count: channels)
                    var gradientDotNormalized = [Float](repeating: 0, count: channels)
                    gradientSums.withUnsafeMutableBufferPointer { sumsBuffer in
                        gradientDotNormalized.withUnsafeMutableBufferPointer { dotsBuffer in
                            let (g, px, py) = (UnsafeSendable(g.baseAddress!), UnsafeSendable(px.baseAddress!),
                                               UnsafeSendable(py.baseAddress!))
                            let (sumsOut, dotsOut) = (UnsafeSendable(sumsBuffer.baseAddress!), UnsafeSendable(dotsBuffer.baseAddress!))
                            parallelChunks(channels) { range in
                                for c in range {
                                    var sum = 0.0, dot = 0.0
                                    let offset = c * plane
                                    if let function, let preGradient {
                                        edgenas_channel_activation_backward(
                                            function, px.value + offset, py.value + offset, g.value + offset,
                                            preGradient.value + offset, batch, channels * plane, plane, scales[c], shifts[c],
                                            means[c], &sum, &dot)
                                    } else {
                                        edgenas_channel_sum_and_dot(g.value + offset, px.value + offset, batch,
                                                                    channels * plane, plane, means[c], &sum, &dot)
                                    }
                                    sumsOut.value[c] = Float(sum)
                                    dotsOut.value[c] = Float(dot * Double(inverseStandardDeviations[c]))
                                }
                            }
                        }
                    }
                    if weight.requiresGradient {
                        weight.accumulateGradient { dw in for c in 0..<channels { dw[c] += gradientDotNormalized[c] } }
                    }
                    if bias.requiresGradient {
                        bias.accumulateGradient { db in for c in 0..<channels { db[c] += gradientSums[c] } }
                    }
                    guard let dx else { return }
                    // dx = scale·(dpre − mean(dpre) − x̂·mean(dpre·x̂)) in training (batch statistics
                    // depend on x); dx = scale·dpre with running statistics. Written as
                    // a·dpre + b·x + c per channel.
                    let coefficients: [(a: Float, b: Float, c: Float)] = (0..<channels).map { c in
                        let scale = scales[c], inverse = inverseStandardDeviations[c]
                        guard training else { return (scale, 0, 0) }
                        let meanGradient = gradientSums[c] / Float(reductionSize)
                        let meanGradientDot = gradientDotNormalized[c] / Float(reductionSize)
                        let b = -scale * meanGradientDot * inverse
                        return (scale, b, -scale * meanGradient - b * means[c])
                    }
                    let (source, px, target) = (UnsafeSendable(outputGradient), UnsafeSendable(px.baseAddress!),
                                                UnsafeSendable(dx.pointer))
                    let accumulate: Int32 = dx.isFresh ? 0 : 1
                    parallelChunks(batch * channels, minimumPerChunk: minimumPlanes) { planes in
                        for planeIndex in planes {
                            let k = coefficients[planeIndex % channels]
                            let offset = planeIndex * plane
                            edgenas_affine2(target.value + offset, source.value + offset, px.value + offset,
                                            k.a, k.b, k.c, plane, accumulate)
                        }
                    }
                }
            }
        }
    }
    if let activation, let recorder = ActivationRecorder.current, activation.preservesSign { recorder.append(output) }
    return output
}

/// Layer normalisation over the last axis: y = weight · (x − μ) / √(σ² + ε) + bias, with the
/// mean μ and biased variance σ² of each row. Rows are split across workers.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let width = x.shape.last ?? 1
    precondition(weight.shape == [width] && bias.shape == [width],
                 "layerNorm: input \(x.shape), weight \(weight.shape), bias \(bias.shape)")
    precondition(x.count > 0, "layerNorm: empty input \(x.shape)")
    let rows = x.count / width
    let rowsPerChunk = max(1, 16_384 / max(1, width))
    var means = [Float](repeating: 0, count: rows)
    var inverseStandardDeviations = [Float](repeating: 0, count: rows)
    let values = x.storage.withUnsafeBufferPointer { px in
        weight.storage.withUnsafeBufferPointer { pw in
            bias.storage.withUnsafeBufferPointer { pb in
                means.withUnsafeMutableBufferPointer { meansBuffer in
                    inverseStandardDeviations.withUnsafeMutableBufferPointer { inversesBuffer in
                        makeStorage(x.count) { py in
                            let (px, pw, pb, py) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(pw.baseAddress!),
                                                    UnsafeSendable(pb.baseAddress!), UnsafeSendable(py))
                            let (meanOut, inverseOut) = (UnsafeSendable(meansBuffer.baseAddress!),
                                                         UnsafeSendable(inversesBuffer.baseAddress!))
                            parallelChunks(rows, minimumPerChunk: rowsPerChunk) { block in
                                let offset = block.lowerBound * width
                                edgenas_layer_norm_forward(px.value + offset, pw.value, pb.value, py.value + offset,
                                                           block.count, width, epsilon, meanOut.value + block.lowerBound,
                                                           inverseOut.value + block.lowerBound)
                            }
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: x.shape, storage: values, inputs: [x, weight, bias]) { result in
        // Each worker sums its rows' weight and bias gradients privately: [worker][weight | bias].
        let maximumWorkers = max(1, min(Compute.threadCount, rows / rowsPerChunk))
        var partials = [Float](repeating: 0, count: maximumWorkers * 2 * width)
        let dx: (pointer: UnsafeMutablePointer<Float>, isFresh: Bool)? =
            x.requiresGradient ? x.gradientPointer(zeroFilled: false) : nil
        result.gradient!.withUnsafeBufferPointer { g in
            x.storage.withUnsafeBufferPointer { px in
                weight.storage.withUnsafeBufferPointer { pw in
                    means.withUnsafeBufferPointer { pm in
                        inverseStandardDeviations.withUnsafeBufferPointer { pi in
                            partials.withUnsafeMutableBufferPointer { partialBuffer in
                                let (g, px, pw) = (UnsafeSendable(g.baseAddress!), UnsafeSendable(px.baseAddress!),
                                                   UnsafeSendable(pw.baseAddress!))
                                let (pm, pi, partial) = (UnsafeSendable(pm.baseAddress!), UnsafeSendable(pi.baseAddress!),
                                                         UnsafeSendable(partialBuffer.baseAddress!))
                                let target = UnsafeSendable(dx?.pointer)
                                let accumulate: Int32 = dx?.isFresh == false ? 1 : 0
                                _ = parallelWorkers(rows, minimumPerChunk: rowsPerChunk, maximumWorkers: maximumWorkers) { worker, block in
                                    let offset = block.lowerBound * width
                                    let sums = partial.value + worker * 2 * width
                                    edgenas_layer_norm_backward(px.value + offset, g.value + offset, pw.value,
                                                                pm.value + block.lowerBound, pi.value + block.lowerBound,
                                                                block.count, width, sums, sums + width,
                                                                target.value.map { $0 + offset }, accumulate)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Partials are added in worker order, so one thread count gives one result.
        if weight.requiresGradient {
            weight.accumulateGradient { dw in
                for worker in 0..<maximumWorkers { for j in 0..<width { dw[j] += partials[worker * 2 * width + j] } }
            }
        }
        if bias.requiresGradient {
            bias.accumulateGradient { db in
                for worker in 0..<maximumWorkers { for j in 0..<width { db[j] += partials[worker * 2 * width + width + j] } }
            }
        }
    }
}
