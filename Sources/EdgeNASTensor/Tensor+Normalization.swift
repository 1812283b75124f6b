import CEdgeKernels
import Foundation

/// Batch normalisation over the channel axis 1 of `x` [N, C, ...].
///
/// Training: y = weight · (x − μ_B) / √(σ²_B + ε) + bias with the batch mean μ_B and biased
/// variance σ²_B per channel; the running statistics are updated in place as
/// r ← (1 − momentum)·r + momentum·b (unbiased variance for the running variance).
/// Inference (`training == false`): the running statistics replace the batch statistics.
public func batchNorm(_ x: Tensor, weight: Tensor, bias: Tensor,
                      runningMean: Tensor, runningVariance: Tensor,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
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
    let values = x.storage.withUnsafeBufferPointer { px in
        makeStorage(x.count) { py in
            let (px, py) = (UnsafeSendable(px.baseAddress!), UnsafeSendable(py))
            parallelChunks(batch * channels, minimumPerChunk: max(1, 4096 / max(1, plane))) { planes in
                for planeIndex in planes {
                    let c = planeIndex % channels
                    edgenas_scale_shift(px.value + planeIndex * plane, py.value + planeIndex * plane, plane,
                                        scales[c], shifts[c])
                }
            }
        }
    }
    return Tensor(shape: x.shape, storage: values, inputs: [x, weight, bias]) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            x.storage.withUnsafeBufferPointer { px in
                // Per channel: Σ dy and Σ dy·x̂ = inv·Σ dy·(x − μ).
                var gradientSums = [Float](repeating: 0, count: channels)
                var gradientDotNormalized = [Float](repeating: 0, count: channels)
                gradientSums.withUnsafeMutableBufferPointer { sumsBuffer in
                    gradientDotNormalized.withUnsafeMutableBufferPointer { dotsBuffer in
                        let (g, px) = (UnsafeSendable(g.baseAddress!), UnsafeSendable(px.baseAddress!))
                        let (sumsOut, dotsOut) = (UnsafeSendable(sumsBuffer.baseAddress!), UnsafeSendable(dotsBuffer.baseAddress!))
                        parallelChunks(channels) { range in
                            for c in range {
                                var sum = 0.0, dot = 0.0
                                edgenas_channel_sum_and_dot(g.value + c * plane, px.value + c * plane, batch, channels * plane,
                                                            plane, means[c], &sum, &dot)
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
                guard x.requiresGradient else { return }
                x.writeOrAccumulateGradient { dx, accumulate in
                    // dx = scale·(dy − mean(dy) − x̂·mean(dy·x̂)) in training (batch statistics depend
                    // on x); dx = scale·dy with running statistics. Written as a·dy + b·x + c per channel.
                    let coefficients: [(a: Float, b: Float, c: Float)] = (0..<channels).map { c in
                        let scale = scales[c], inverse = inverseStandardDeviations[c]
                        guard training else { return (scale, 0, 0) }
                        let meanGradient = gradientSums[c] / Float(reductionSize)
                        let meanGradientDot = gradientDotNormalized[c] / Float(reductionSize)
                        let b = -scale * meanGradientDot * inverse
                        return (scale, b, -scale * meanGradient - b * means[c])
                    }
                    let (g, px, dx) = (UnsafeSendable(g.baseAddress!), UnsafeSendable(px.baseAddress!), UnsafeSendable(dx))
                    parallelChunks(batch * channels, minimumPerChunk: max(1, 4096 / max(1, plane))) { planes in
                        for planeIndex in planes {
                            let k = coefficients[planeIndex % channels]
                            let offset = planeIndex * plane
                            edgenas_affine2(dx.value + offset, g.value + offset, px.value + offset,
                                            k.a, k.b, k.c, plane, accumulate ? 1 : 0)
                        }
                    }
                }
            }
        }
    }
}

/// Layer normalisation over the last axis: y = weight · (x − μ) / √(σ² + ε) + bias, with the
/// mean μ and biased variance σ² of each row.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let width = x.shape.last ?? 1
    precondition(weight.shape == [width] && bias.shape == [width],
                 "layerNorm: input \(x.shape), weight \(weight.shape), bias \(bias.shape)")
    let rows = x.count / width
    var means = [Float](repeating: 0, count: rows)
    var inverseStandardDeviations = [Float](repeating: 0, count: rows)
    let values = x.storage.withUnsafeBufferPointer { px in
        weight.storage.withUnsafeBufferPointer { pw in
            bias.storage.withUnsafeBufferPointer { pb in
                makeStorage(x.count) { py in
                    for row in 0..<rows {
                        let source = px.baseAddress! + row * width, out = py + row * width
                        var total: Float = 0
                        for j in 0..<width { total += source[j] }
                        let mean = total / Float(width)
                        var squares: Float = 0
                        for j in 0..<width { let d = source[j] - mean; squares += d * d }
                        let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
                        means[row] = mean
                        inverseStandardDeviations[row] = inverse
                        for j in 0..<width { out[j] = (source[j] - mean) * inverse * pw[j] + pb[j] }
                    }
                }
            }
        }
    }
    return Tensor(shape: x.shape, storage: values, inputs: [x, weight, bias]) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            x.storage.withUnsafeBufferPointer { px in
                weight.storage.withUnsafeBufferPointer { pw in
                    var weightGradient = [Float](repeating: 0, count: width)
                    var biasGradient = [Float](repeating: 0, count: width)
                    var normalizedGradient = [Float](repeating: 0, count: width)
                    let dx: UnsafeMutablePointer<Float>? = x.requiresGradient ? x.gradientPointer().pointer : nil
                    for row in 0..<rows {
                        let source = px.baseAddress! + row * width, gradient = g.baseAddress! + row * width
                        let (mean, inverse) = (means[row], inverseStandardDeviations[row])
                        var meanGradient: Float = 0, meanGradientDot: Float = 0
                        for j in 0..<width {
                            let normalized = (source[j] - mean) * inverse
                            weightGradient[j] += gradient[j] * normalized
                            biasGradient[j] += gradient[j]
                            normalizedGradient[j] = gradient[j] * pw[j]
                            meanGradient += normalizedGradient[j]
                            meanGradientDot += normalizedGradient[j] * normalized
                        }
                        guard let dx else { continue }
                        meanGradient /= Float(width)
                        meanGradientDot /= Float(width)
                        let target = dx + row * width
                        for j in 0..<width {
                            let normalized = (source[j] - mean) * inverse
                            target[j] += inverse * (normalizedGradient[j] - meanGradient - normalized * meanGradientDot)
                        }
                    }
                    if weight.requiresGradient {
                        weight.accumulateGradient { dw in for j in 0..<width { dw[j] += weightGradient[j] } }
                    }
                    if bias.requiresGradient {
                        bias.accumulateGradient { db in for j in 0..<width { db[j] += biasGradient[j] } }
                    }
                }
            }
        }
    }
}
