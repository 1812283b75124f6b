import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct MatrixProductTests {
        struct MatmulCase: Sendable, CustomTestStringConvertible {
            let lhs: [Int]
            let rhs: [Int]
            var testDescription: String { "matmul \(lhs) · \(rhs)" }
        }

        static let matmulCases = [
            MatmulCase(lhs: [3, 4], rhs: [4, 5]),
            MatmulCase(lhs: [2, 3, 4], rhs: [4, 5]),        // shared rhs, rank-3 lhs
            MatmulCase(lhs: [2, 2, 3, 4], rhs: [4, 2]),     // shared rhs, rank-4 lhs
            MatmulCase(lhs: [2, 3, 4], rhs: [2, 4, 5]),     // batched
            MatmulCase(lhs: [2, 2, 3, 4], rhs: [2, 2, 4, 3]),
            MatmulCase(lhs: [1, 4], rhs: [4, 1]),
        ]

        @Test(arguments: matmulCases)
        func matmulGradientMatchesCentralDifferences(_ product: MatmulCase) {
            let a = randomTensor(product.lhs, seed: 51)
            let b = randomTensor(product.rhs, seed: 52)
            expectGradientsMatch("\(product.testDescription) seeds 51, 52", inputs: [a, b]) { matmul($0[0], $0[1]) }
        }

        @Test(arguments: matmulCases)
        func matmulForwardMatchesNaiveProduct(_ product: MatmulCase) {
            let a = randomTensor(product.lhs, seed: 53, requiresGradient: false)
            let b = randomTensor(product.rhs, seed: 54, requiresGradient: false)
            let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
            let matrices = a.count / (m * k)
            let shared = b.rank == 2
            var expected: [Float] = []
            for matrix in 0..<matrices {
                for row in 0..<m {
                    for column in 0..<n {
                        var total = 0.0
                        for inner in 0..<k {
                            let bOffset = (shared ? 0 : matrix * k * n) + inner * n + column
                            total += Double(a.storage[(matrix * m + row) * k + inner]) * Double(b.storage[bOffset])
                        }
                        expected.append(Float(total))
                    }
                }
            }
            let result = matmul(a, b)
            #expect(result.shape == Array(product.lhs.dropLast()) + [n], "\(product.testDescription)")
            expectClose(result.storage, expected, atol: 1e-6, rtol: 1e-5, "\(product.testDescription) seeds 53, 54")
        }

        @Test(arguments: [[4, 3], [2, 3, 3]], [true, false])
        func linearGradientMatchesCentralDifferences(inputShape: [Int], hasBias: Bool) {
            let x = randomTensor(inputShape, seed: 55)
            let weight = randomTensor([5, 3], seed: 56)
            let bias = randomTensor([5], seed: 57)
            let inputs = hasBias ? [x, weight, bias] : [x, weight]
            expectGradientsMatch("linear \(inputShape) bias \(hasBias) seeds 55–57", inputs: inputs) {
                linear($0[0], weight: $0[1], bias: hasBias ? $0[2] : nil)
            }
        }

        @Test(arguments: [true, false])
        func linearForwardIsInputTimesWeightTransposedPlusBias(hasBias: Bool) {
            let x = randomTensor([2, 3, 4], seed: 58, requiresGradient: false)
            let weight = randomTensor([5, 4], seed: 59, requiresGradient: false)
            let bias = randomTensor([5], seed: 60, requiresGradient: false)
            var expected: [Float] = []
            for row in 0..<6 {
                for output in 0..<5 {
                    var total = hasBias ? Double(bias.storage[output]) : 0
                    for input in 0..<4 { total += Double(x.storage[row * 4 + input]) * Double(weight.storage[output * 4 + input]) }
                    expected.append(Float(total))
                }
            }
            let result = linear(x, weight: weight, bias: hasBias ? bias : nil)
            #expect(result.shape == [2, 3, 5])
            expectClose(result.storage, expected, atol: 1e-6, rtol: 1e-5, "linear bias \(hasBias) seeds 58–60")
        }
    }
}
