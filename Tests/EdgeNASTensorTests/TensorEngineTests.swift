import EdgeNASTensor
import Testing
import TestSupport

/// The root of every tensor-engine test. The thread count is scoped per run
/// (`Compute.withThreads`), so these tests run in parallel like the others.
@Suite
enum TensorEngineTests {}

/// Expects the analytic gradient of `function` with respect to every input that requires one
/// to agree with central differences (see `gradientMismatches`).
func expectGradientsMatch(_ label: String, inputs: [Tensor], h: Float = 1e-2, atol: Float = 2e-3,
                          rtol: Float = 2e-2, sourceLocation: SourceLocation = #_sourceLocation,
                          _ function: ([Tensor]) -> Tensor) {
    let problems = gradientMismatches(inputs: inputs, h: h, atol: atol, rtol: rtol, function)
    #expect(problems.isEmpty, "\(label): \(problems.joined(separator: "; "))", sourceLocation: sourceLocation)
}

/// Expects |actual − expected| ≤ atol + rtol·|expected| for every value.
func expectClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let problem = closeness(actual, expected, atol: atol, rtol: rtol, label: label)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
}

/// Seeded uniform values in [low, high) with every value closer than `margin` to one of
/// `kinks` moved out to kink ± margin, so that central differences never straddle a kink.
func kinkFreeTensor(_ shape: [Int], seed: UInt64, low: Float, high: Float, kinks: [Float],
                    margin: Float) -> Tensor {
    let tensor = randomTensor(shape, seed: seed, low: low, high: high)
    for index in tensor.storage.indices {
        for kink in kinks where abs(tensor.storage[index] - kink) < margin {
            tensor.storage[index] = tensor.storage[index] < kink ? kink - margin : kink + margin
        }
    }
    return tensor
}

extension Tensor {
    /// The values as Double, for reference computations.
    var doubles: [Double] { storage.map(Double.init) }
}

/// Calls `body` with every multi-index of `shape`, row-major (last axis fastest).
func forEachIndex(_ shape: [Int], _ body: ([Int]) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<count {
        body(index)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Row-major offset of a multi-index.
func flatOffset(_ index: [Int], _ shape: [Int]) -> Int {
    zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
}
