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
        x.storage.withUnsafeBufferPointer { px in
            for c in 0..<channels {
                // Two passes in Double: single-pass float variance loses digits on large maps.
                var total = 0.0
                for n in 0..<batch {
                    let row = px.baseAddress! + (n * channels + c) * plane
                    for j in 0..<plane { total += Double(row[j]) }
                }
                let mean = total / Double(reductionSize)
                var squares = 0.0
                for n in 0..<batch {
                    let row = px.baseAddress! + (n * channels + c) * plane
                    for j in 0..<plane { let d = Double(row[j]) - mean; squares += d * d }
                }
                let variance = squares / Double(reductionSize)
                means[c] = Float(mean)
                inverseStandardDeviations[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
                runningMean.storage[c] = (1 - momentum) * runningMean.storage[c] + momentum * Float(mean)
                let unbiased = squares / Double(reductionSize - 1)
                runningVariance.storage[c] = (1 - momentum) * runningVariance.storage[c] + momentum * Float(unbiased)
            }
        }
    } else {
        for c in 0..<channels {
            means[c] = runningMean.storage[c]
            inverseStandardDeviations[c] = 1 / (runningVariance.storage[c] + epsilon).squareRoot()
        }
    }
    let values = x.storage.withUnsafeBufferPointer { px in
        makeStorage(x.count) { py in
            for n in 0..<batch {
                for c in 0..<channels {
                    let scale = weight.storage[c] * inverseStandardDeviations[c]
                    let shift = bias.storage[c] - means[c] * scale
                    let offset = (n * channels + c) * plane
                    let source = px.baseAddress! + offset, out = py + offset
                    for j in 0..<plane { out[j] = source[j] * scale + shift }
                }
            }
        }
    }
    return Tensor(shape: x.shape, storage: values, inputs: [x, weight, bias]) { result in
        result.gradient!.withUnsafeBufferPointer { g in
            x.storage.withUnsafeBufferPointer { px in
                var gradientSums = [Double](repeating: 0, count: channels)       // Σ dy
                var gradientDotNormalized = [Double](repeating: 0, count: channels)  // Σ dy · x̂
                for n in 0..<batch {
                    for c in 0..<channels {
                        let offset = (n * channels + c) * plane
                        let (mean, inverse) = (means[c], inverseStandardDeviations[c])
                        var sum: Float = 0, dot: Float = 0
                        for j in 0..<plane {
                            let gradient = g[offset + j]
                            sum += gradient
                            dot += gradient * (px[offset + j] - mean) * inverse
                        }
                        gradientSums[c] += Double(sum)
                        gradientDotNormalized[c] += Double(dot)
                    }
                }
                if weight.requiresGradient {
                    weight.accumulateGradient { dw in for c in 0..<channels { dw[c] += Float(gradientDotNormalized[c]) } }
                }
                if bias.requiresGradient {
                    bias.accumulateGradient { db in for c in 0..<channels { db[c] += Float(gradientSums[c]) } }
                }
                guard x.requiresGradient else { return }
                x.accumulateGradient { dx in
                    for c in 0..<channels {
                        let (mean, inverse) = (means[c], inverseStandardDeviations[c])
                        let scale = weight.storage[c] * inverse
                        // Training: batch statistics depend on x, which adds the two mean terms.
                        let meanGradient = training ? Float(gradientSums[c]) / Float(reductionSize) : 0
                        let meanGradientDot = training ? Float(gradientDotNormalized[c]) / Float(reductionSize) : 0
                        for n in 0..<batch {
                            let offset = (n * channels + c) * plane
                            for j in 0..<plane {
                                let normalized = (px[offset + j] - mean) * inverse
                                dx[offset + j] += scale * (g[offset + j] - meanGradient - normalized * meanGradientDot)
                            }
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
                    let dx: UnsafeMutablePointer<Float>? = x.requiresGradient ? x.gradientPointer() : nil
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
