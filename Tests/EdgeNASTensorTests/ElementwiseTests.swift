import EdgeNASTensor
import Foundation
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct ElementwiseTests {
        /// A unary operation with the input range to check it on, its kinks (kept at a
        /// distance from the inputs) and a float64 reference of its forward formula.
        struct UnaryCase: Sendable, CustomTestStringConvertible {
            let name: String
            let low: Float
            let high: Float
            let kinks: [Float]
            let apply: @Sendable (Tensor) -> Tensor
            let reference: @Sendable (Double) -> Double

            var testDescription: String { name }
        }

        static let unaryCases: [UnaryCase] = [
            UnaryCase(name: "relu", low: -2, high: 2, kinks: [0], apply: relu, reference: { max(0, $0) }),
            UnaryCase(name: "relu6", low: -8, high: 8, kinks: [0, 6], apply: relu6, reference: { min(max(0, $0), 6) }),
            UnaryCase(name: "hardSwish", low: -5, high: 5, kinks: [-3, 3], apply: hardSwish,
                      reference: { $0 * min(max(0, $0 + 3), 6) / 6 }),
            UnaryCase(name: "hardSigmoid", low: -5, high: 5, kinks: [-3, 3], apply: hardSigmoid,
                      reference: { min(max(0, $0 + 3), 6) / 6 }),
            UnaryCase(name: "sigmoid", low: -6, high: 6, kinks: [], apply: sigmoid, reference: { 1 / (1 + Foundation.exp(-$0)) }),
            UnaryCase(name: "silu", low: -6, high: 6, kinks: [], apply: silu, reference: { $0 / (1 + Foundation.exp(-$0)) }),
            UnaryCase(name: "gelu", low: -4, high: 4, kinks: [], apply: gelu,
                      reference: { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
            UnaryCase(name: "softplus", low: -5, high: 5, kinks: [], apply: softplus,
                      reference: { max($0, 0) + Foundation.log1p(Foundation.exp(-abs($0))) }),
            UnaryCase(name: "softplus above its linear cut-over", low: 21, high: 30, kinks: [], apply: softplus,
                      reference: { max($0, 0) + Foundation.log1p(Foundation.exp(-abs($0))) }),
            UnaryCase(name: "exp", low: -2, high: 2, kinks: [], apply: EdgeNASTensor.exp, reference: { Foundation.exp($0) }),
            UnaryCase(name: "log", low: 0.5, high: 3, kinks: [], apply: EdgeNASTensor.log, reference: { Foundation.log($0) }),
            UnaryCase(name: "affine(scale: -1.5, offset: 0.25)", low: -2, high: 2, kinks: [],
                      apply: { $0.affine(scale: -1.5, offset: 0.25) }, reference: { -1.5 * $0 + 0.25 }),
            UnaryCase(name: "tensor * 2.5", low: -2, high: 2, kinks: [], apply: { $0 * 2.5 }, reference: { $0 * 2.5 }),
            UnaryCase(name: "0.5 * tensor", low: -2, high: 2, kinks: [], apply: { 0.5 * $0 }, reference: { 0.5 * $0 }),
            UnaryCase(name: "tensor + 3", low: -2, high: 2, kinks: [], apply: { $0 + 3 }, reference: { $0 + 3 }),
            UnaryCase(name: "tensor - 3", low: -2, high: 2, kinks: [], apply: { $0 - 3 }, reference: { $0 - 3 }),
            UnaryCase(name: "-tensor", low: -2, high: 2, kinks: [], apply: { -$0 }, reference: { -$0 }),
        ]

        @Test(arguments: unaryCases)
        func unaryGradientMatchesCentralDifferences(_ operation: UnaryCase) {
            let x = kinkFreeTensor([3, 4, 5], seed: 11, low: operation.low, high: operation.high,
                                   kinks: operation.kinks, margin: 0.1)
            expectGradientsMatch("\(operation.name) seed 11", inputs: [x]) { operation.apply($0[0]) }
        }

        @Test(arguments: unaryCases)
        func unaryForwardMatchesFloat64Formula(_ operation: UnaryCase) {
            let x = kinkFreeTensor([3, 4, 5], seed: 12, low: operation.low, high: operation.high,
                                   kinks: operation.kinks, margin: 0.1)
            let expected = x.doubles.map { Float(operation.reference($0)) }
            expectClose(operation.apply(x).storage, expected, atol: 1e-6, rtol: 1e-5, "\(operation.name) seed 12")
        }

        /// Saturated inputs, where vectorised exp-based kernels are prone to inf/inf = NaN.
        @Test(arguments: unaryCases.filter { !["exp", "log"].contains($0.name) })
        func saturatedInputsGiveFiniteValuesAndGradients(_ operation: UnaryCase) {
            let x = Tensor(shape: [6], storage: [-1000, -100, -30, 30, 100, 1000], requiresGradient: true)
            let y = operation.apply(x)
            let expected = x.doubles.map { Float(operation.reference($0)) }
            let valuesAreFinite = y.storage.allSatisfy { $0.isFinite }
            #expect(valuesAreFinite, "\(operation.name) of \(x.storage) is \(y.storage)")
            expectClose(y.storage, expected, atol: 1e-6, rtol: 1e-5, "\(operation.name) at saturation")
            y.sum().backward()
            let gradient = x.gradient ?? []
            let gradientIsFinite = gradient.count == 6 && gradient.allSatisfy { $0.isFinite }
            #expect(gradientIsFinite, "\(operation.name)' at \(x.storage) is \(gradient)")
        }

        @Test(arguments: ActivationFunction.allCases)
        func activationByNameAppliesTheNamedFunction(_ activation: ActivationFunction) {
            let x = randomTensor([16], seed: 13, low: -5, high: 5, requiresGradient: false)
            let direct: Tensor = switch activation {
            case .relu: relu(x)
            case .relu6: relu6(x)
            case .hswish: hardSwish(x)
            case .hsigmoid: hardSigmoid(x)
            case .sigmoid: sigmoid(x)
            case .silu: silu(x)
            case .gelu: gelu(x)
            }
            #expect(activation(x).storage == direct.storage, "\(activation.rawValue)")
        }

        @Test func piecewiseActivationsAreFlatOrLinearPastTheirKinks() {
            let x = Tensor(shape: [4], storage: [-7, -3.5, 3.5, 7], requiresGradient: true)
            #expect(relu6(x).storage == [0, 0, 3.5, 6])
            #expect(hardSigmoid(x).storage == [0, 0, 1, 1])
            #expect(hardSwish(x).storage == [0, 0, 3.5, 7])
            (hardSwish(x).sum() + hardSigmoid(x).sum()).backward()
            #expect(x.gradient == [0, 0, 1, 1], "hardSwish' + hardSigmoid' outside [-3, 3]")
        }

        /// Broadcasting: NumPy rules, aligned on the right.
        struct BroadcastCase: Sendable, CustomTestStringConvertible {
            enum Operation: String, Sendable { case add = "+", subtract = "-", multiply = "*" }
            let lhs: [Int]
            let rhs: [Int]
            let operation: Operation

            var testDescription: String { "\(lhs) \(operation.rawValue) \(rhs)" }

            func apply(_ a: Tensor, _ b: Tensor) -> Tensor {
                switch operation {
                case .add: a + b
                case .subtract: a - b
                case .multiply: a * b
                }
            }

            func reference(_ a: Double, _ b: Double) -> Double {
                switch operation {
                case .add: a + b
                case .subtract: a - b
                case .multiply: a * b
                }
            }
        }

        static let broadcastCases: [BroadcastCase] = [
            BroadcastCase(lhs: [2, 3, 4], rhs: [2, 3, 4], operation: .add),
            BroadcastCase(lhs: [2, 3, 4], rhs: [2, 3, 4], operation: .subtract),
            BroadcastCase(lhs: [2, 3, 4], rhs: [2, 3, 4], operation: .multiply),
            BroadcastCase(lhs: [2, 3, 2, 2], rhs: [2, 3, 1, 1], operation: .multiply),
            BroadcastCase(lhs: [2, 3, 1, 1], rhs: [2, 3, 2, 2], operation: .multiply),
            // One value per plane (the per-plane path), each operation in both orientations.
            BroadcastCase(lhs: [2, 3, 2, 2], rhs: [2, 3, 1, 1], operation: .add),
            BroadcastCase(lhs: [2, 3, 1, 1], rhs: [2, 3, 2, 2], operation: .add),
            BroadcastCase(lhs: [2, 3, 2, 2], rhs: [2, 3, 1, 1], operation: .subtract),
            BroadcastCase(lhs: [2, 3, 1, 1], rhs: [2, 3, 2, 2], operation: .subtract),
            BroadcastCase(lhs: [2, 1, 1], rhs: [2, 3, 4], operation: .multiply),
            BroadcastCase(lhs: [1, 1, 1], rhs: [2, 3, 4], operation: .subtract),
            BroadcastCase(lhs: [2, 3, 4], rhs: [3, 4], operation: .add),
            BroadcastCase(lhs: [4, 3], rhs: [3], operation: .add),
            BroadcastCase(lhs: [4, 3], rhs: [3], operation: .subtract),
            BroadcastCase(lhs: [3], rhs: [4, 3], operation: .subtract),
            BroadcastCase(lhs: [3, 1], rhs: [2, 1, 4], operation: .multiply),
            BroadcastCase(lhs: [2, 1, 3], rhs: [4, 1], operation: .subtract),
            BroadcastCase(lhs: [2, 3], rhs: [1], operation: .multiply),
        ]

        @Test(arguments: broadcastCases)
        func broadcastGradientMatchesCentralDifferences(_ broadcast: BroadcastCase) {
            let a = randomTensor(broadcast.lhs, seed: 21)
            let b = randomTensor(broadcast.rhs, seed: 22)
            expectGradientsMatch("\(broadcast.testDescription) seeds 21, 22", inputs: [a, b]) {
                broadcast.apply($0[0], $0[1])
            }
        }

        @Test(arguments: broadcastCases)
        func broadcastForwardMatchesIndexedReference(_ broadcast: BroadcastCase) {
            let a = randomTensor(broadcast.lhs, seed: 23, requiresGradient: false)
            let b = randomTensor(broadcast.rhs, seed: 24, requiresGradient: false)
            let rank = max(a.rank, b.rank)
            let left = [Int](repeating: 1, count: rank - a.rank) + a.shape
            let right = [Int](repeating: 1, count: rank - b.rank) + b.shape
            let outputShape = zip(left, right).map { max($0, $1) }
            var expected: [Float] = []
            forEachIndex(outputShape) { index in
                let ia = zip(index, left).map { $1 == 1 ? 0 : $0 }
                let ib = zip(index, right).map { $1 == 1 ? 0 : $0 }
                expected.append(Float(broadcast.reference(Double(a.storage[flatOffset(ia, left)]),
                                                          Double(b.storage[flatOffset(ib, right)]))))
            }
            let result = broadcast.apply(a, b)
            #expect(result.shape == outputShape, "\(broadcast.testDescription)")
            expectClose(result.storage, expected, atol: 0, rtol: 0, broadcast.testDescription)
        }
    }
}
