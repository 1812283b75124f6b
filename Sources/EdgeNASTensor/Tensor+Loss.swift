import Foundation

/// Mean cross-entropy of `logits` [N, C] against class `labels` (N values in 0..<C), with
/// label smoothing ε: the target is (1 − ε)·onehot + ε/C.
///
/// loss = −(1/N) Σ_n Σ_c q_{n,c} · log softmax(logits_n)_c; gradient (softmax − q)/N.
public func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Float = 0) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "crossEntropy: logits \(logits.shape) vs \(labels.count) labels")
    let (rows, classes) = (logits.shape[0], logits.shape[1])
    precondition(labels.allSatisfy { $0 >= 0 && $0 < classes }, "crossEntropy: a label is outside 0..<\(classes)")
    precondition(labelSmoothing >= 0 && labelSmoothing < 1, "crossEntropy: label smoothing \(labelSmoothing) outside [0, 1)")
    let offTarget = labelSmoothing / Float(classes)
    let onTarget = 1 - labelSmoothing + offTarget
    var probabilities = [Float](repeating: 0, count: logits.count)
    var total = 0.0
    logits.storage.withUnsafeBufferPointer { px in
        probabilities.withUnsafeMutableBufferPointer { pp in
            for row in 0..<rows {
                let source = px.baseAddress! + row * classes
                var maximum = -Float.infinity
                for c in 0..<classes { maximum = max(maximum, source[c]) }
                var sum: Float = 0
                for c in 0..<classes { sum += exp(source[c] - maximum) }
                let logSum = maximum + log(sum)
                var rowLoss: Float = 0
                for c in 0..<classes {
                    let logProbability = source[c] - logSum
                    pp[row * classes + c] = exp(logProbability)
                    rowLoss -= (c == labels[row] ? onTarget : offTarget) * logProbability
                }
                total += Double(rowLoss)
            }
        }
    }
    return Tensor(shape: [], storage: [Float(total / Double(max(1, rows)))], inputs: [logits]) { result in
        let upstream = result.gradient![0] / Float(max(1, rows))
        logits.accumulateGradient { dx in
            for row in 0..<rows {
                for c in 0..<classes {
                    let target = c == labels[row] ? onTarget : offTarget
                    dx[row * classes + c] += upstream * (probabilities[row * classes + c] - target)
                }
            }
        }
    }
}

/// Mean squared error: (1/n) Σ (prediction − target)².
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    precondition(prediction.shape == target.shape, "meanSquaredError: \(prediction.shape) vs \(target.shape)")
    let difference = prediction - target
    return (difference * difference).mean()
}
