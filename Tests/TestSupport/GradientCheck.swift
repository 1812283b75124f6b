import EdgeNASCore
import EdgeNASTensor
import Foundation

/// Largest violation of |a − b| ≤ atol + rtol·|b| between two arrays, or nil when all pass.
///
/// - Returns: a message naming the first worst index and both values, for `#expect` output.
public func closeness(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float,
                      label: String = "") -> String? {
    guard actual.count == expected.count else {
        return "\(label): \(actual.count) values vs \(expected.count) expected"
    }
    var worst: (index: Int, excess: Float)? = nil
    for index in actual.indices {
        let (a, b) = (actual[index], expected[index])
        let excess = abs(a - b) - (atol + rtol * abs(b))
        if !(excess <= 0) && (worst == nil || !(excess <= worst!.excess)) { worst = (index, excess) }
    }
    guard let worst else { return nil }
    return "\(label): index \(worst.index) got \(actual[worst.index]), expected \(expected[worst.index]) " +
        "(atol \(atol), rtol \(rtol))"
}

/// Compares the analytic gradient of `function` with central differences.
///
/// The scalar checked is L = Σ function(inputs) ⊙ R for a fixed random R (so every output
/// value matters), summed in Double. Each input value x is moved by ±h·max(1, |x|).
///
/// - Returns: one message per input whose gradient disagrees; empty when all agree.
public func gradientMismatches(inputs: [Tensor], h: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
                               seed: UInt64 = 7, _ function: ([Tensor]) -> Tensor) -> [String] {
    var generator = SeededGenerator(seed: seed)
    let probe = function(inputs)
    let weights = Initializer.uniform(probe.shape, low: -1, high: 1, using: &generator)
    let weightTensor = Tensor(shape: probe.shape, storage: weights)

    for input in inputs { input.gradient = nil }
    let loss = (function(inputs) * weightTensor).sum()
    loss.backward()

    func objective() -> Double {
        let output = withoutGradients { function(inputs) }
        var total = 0.0
        for index in output.storage.indices { total += Double(output.storage[index]) * Double(weights[index]) }
        return total
    }

    var problems: [String] = []
    for (inputIndex, input) in inputs.enumerated() where input.requiresGradient {
        let analytic = input.gradient ?? [Float](repeating: 0, count: input.count)
        var numeric = [Float](repeating: 0, count: input.count)
        for index in 0..<input.count {
            let original = input.storage[index]
            let step = h * max(1, abs(original))
            input.storage[index] = original + step
            let plus = objective()
            input.storage[index] = original - step
            let minus = objective()
            input.storage[index] = original
            numeric[index] = Float((plus - minus) / (2 * Double(step)))
        }
        if let problem = closeness(analytic, numeric, atol: atol, rtol: rtol, label: "input \(inputIndex) \(input.shape)") {
            problems.append(problem)
        }
    }
    return problems
}

/// A tensor of seeded uniform values in [low, high), a leaf that requires a gradient.
public func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1,
                         requiresGradient: Bool = true) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor(shape: shape, storage: Initializer.uniform(shape, low: low, high: high, using: &generator),
                  requiresGradient: requiresGradient)
}
