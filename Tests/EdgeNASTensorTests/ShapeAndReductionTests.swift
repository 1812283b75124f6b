import EdgeNASTensor
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct ShapeAndReductionTests {
        struct ReductionCase: Sendable, CustomTestStringConvertible {
            let shape: [Int]
            let axes: [Int]
            let keepingDimensions: Bool
            let isMean: Bool

            var testDescription: String {
                "\(isMean ? "mean" : "sum")(\(shape), axes: \(axes)\(keepingDimensions ? ", keepingDimensions" : ""))"
            }

            func apply(_ x: Tensor) -> Tensor {
                isMean ? x.mean(axes: axes, keepingDimensions: keepingDimensions)
                    : x.sum(axes: axes, keepingDimensions: keepingDimensions)
            }
        }

        static let reductionCases: [ReductionCase] = {
            let axesList: [[Int]] = [[], [0], [1], [2], [-1], [0, 2], [1, 2], [0, 1]]
            return [false, true].flatMap { isMean in
                axesList.flatMap { axes in
                    [false, true].map { ReductionCase(shape: [2, 3, 4], axes: axes, keepingDimensions: $0, isMean: isMean) }
                }
            } + [ReductionCase(shape: [2, 3, 2, 2], axes: [0, 2, 3], keepingDimensions: true, isMean: true),
                 ReductionCase(shape: [5], axes: [], keepingDimensions: false, isMean: false)]
        }()

        @Test(arguments: reductionCases)
        func reductionGradientMatchesCentralDifferences(_ reduction: ReductionCase) {
            let x = randomTensor(reduction.shape, seed: 31)
            expectGradientsMatch("\(reduction.testDescription) seed 31", inputs: [x]) { reduction.apply($0[0]) }
        }

        @Test(arguments: reductionCases)
        func reductionForwardMatchesIndexedReference(_ reduction: ReductionCase) {
            let x = randomTensor(reduction.shape, seed: 32, requiresGradient: false)
            let reduced = Set(reduction.axes.isEmpty ? Array(0..<x.rank) : reduction.axes.map { $0 < 0 ? $0 + x.rank : $0 })
            let keptShape = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
            let size = reduced.reduce(1) { $0 * x.shape[$1] }
            var totals = [Double](repeating: 0, count: keptShape.reduce(1, *))
            forEachIndex(x.shape) { index in
                let kept = index.enumerated().map { reduced.contains($0.offset) ? 0 : $0.element }
                totals[flatOffset(kept, keptShape)] += Double(x.storage[flatOffset(index, x.shape)])
            }
            let expected = totals.map { Float(reduction.isMean ? $0 / Double(size) : $0) }
            let expectedShape = reduction.keepingDimensions
                ? keptShape : x.shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
            let result = reduction.apply(x)
            #expect(result.shape == expectedShape, "\(reduction.testDescription)")
            expectClose(result.storage, expected, atol: 1e-6, rtol: 1e-5, reduction.testDescription)
        }

        @Test func globalAveragePoolingAveragesEachPlane() {
            let x = randomTensor([2, 3, 2, 3], seed: 33)
            let pooled = x.globalAveragePooled()
            #expect(pooled.shape == [2, 3])
            let expected = (0..<6).map { plane in x.storage[(plane * 6)..<(plane * 6 + 6)].reduce(0, +) / 6 }
            expectClose(pooled.storage, expected, atol: 1e-6, rtol: 1e-5, "globalAveragePooled seed 33")
            expectGradientsMatch("globalAveragePooled seed 33", inputs: [x]) { $0[0].globalAveragePooled() }
        }

        /// Where output index `outputIndex` of a shape operation takes its value from: which
        /// input, at which index.
        typealias Gather = @Sendable (_ outputIndex: [Int], _ outputShape: [Int], _ inputShapes: [[Int]])
            -> (input: Int, index: [Int])

        /// A shape operation and the index arithmetic that defines it.
        struct ShapeCase: Sendable, CustomTestStringConvertible {
            let name: String
            let inputShapes: [[Int]]
            let apply: @Sendable ([Tensor]) -> Tensor
            let gather: Gather

            var testDescription: String { name }
        }

        static func sameOrder() -> Gather {
            { outputIndex, outputShape, inputShapes in
                var remainder = flatOffset(outputIndex, outputShape)
                var index = [Int](repeating: 0, count: inputShapes[0].count)
                for axis in index.indices.reversed() {
                    index[axis] = remainder % inputShapes[0][axis]
                    remainder /= inputShapes[0][axis]
                }
                return (0, index)
            }
        }

        static func permutation(_ order: [Int]) -> Gather {
            { outputIndex, _, _ in
                var index = outputIndex
                for (outputAxis, inputAxis) in order.enumerated() { index[inputAxis] = outputIndex[outputAxis] }
                return (0, index)
            }
        }

        static func slice(axis: Int, start: Int) -> Gather {
            { outputIndex, _, _ in
                var index = outputIndex
                index[axis] += start
                return (0, index)
            }
        }

        static func concatenation(axis: Int) -> Gather {
            { outputIndex, _, inputShapes in
                var (position, input) = (outputIndex[axis], 0)
                while position >= inputShapes[input][axis] { position -= inputShapes[input][axis]; input += 1 }
                var index = outputIndex
                index[axis] = position
                return (input, index)
            }
        }

        static func flip(axis: Int) -> Gather {
            { outputIndex, _, inputShapes in
                var index = outputIndex
                index[axis] = inputShapes[0][axis] - 1 - outputIndex[axis]
                return (0, index)
            }
        }

        static let shapeCases: [ShapeCase] = [
            ShapeCase(name: "reshaped [2, 3, 4] → [4, 6]", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].reshaped([4, 6]) }, gather: sameOrder()),
            ShapeCase(name: "reshaped [2, 3, 4] → [-1, 4]", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].reshaped([-1, 4]) }, gather: sameOrder()),
            ShapeCase(name: "flattened [2, 3, 2, 2]", inputShapes: [[2, 3, 2, 2]],
                      apply: { $0[0].flattened() }, gather: sameOrder()),
            ShapeCase(name: "flattened(from: 2) [2, 3, 2, 2]", inputShapes: [[2, 3, 2, 2]],
                      apply: { $0[0].flattened(from: 2) }, gather: sameOrder()),
            ShapeCase(name: "permuted [2, 0, 1]", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].permuted([2, 0, 1]) }, gather: permutation([2, 0, 1])),
            ShapeCase(name: "permuted [0, 2, 1, 3]", inputShapes: [[2, 3, 2, 2]],
                      apply: { $0[0].permuted([0, 2, 1, 3]) }, gather: permutation([0, 2, 1, 3])),
            ShapeCase(name: "permuted identity", inputShapes: [[2, 3]],
                      apply: { $0[0].permuted([0, 1]) }, gather: permutation([0, 1])),
            ShapeCase(name: "transposed(1, 2)", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].transposed(1, 2) }, gather: permutation([0, 2, 1])),
            ShapeCase(name: "transposed(0, -1)", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].transposed(0, -1) }, gather: permutation([2, 1, 0])),
            ShapeCase(name: "sliced axis 0 1..<3", inputShapes: [[4, 3]],
                      apply: { $0[0].sliced(axis: 0, 1..<3) }, gather: slice(axis: 0, start: 1)),
            ShapeCase(name: "sliced axis 1 0..<2", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].sliced(axis: 1, 0..<2) }, gather: slice(axis: 1, start: 0)),
            ShapeCase(name: "sliced axis -1 1..<4", inputShapes: [[2, 3, 5]],
                      apply: { $0[0].sliced(axis: -1, 1..<4) }, gather: slice(axis: 2, start: 1)),
            ShapeCase(name: "concatenate axis 0", inputShapes: [[1, 3], [2, 3], [3, 3]],
                      apply: { concatenate($0, axis: 0) }, gather: concatenation(axis: 0)),
            ShapeCase(name: "concatenate axis 1", inputShapes: [[2, 1, 2], [2, 3, 2]],
                      apply: { concatenate($0, axis: 1) }, gather: concatenation(axis: 1)),
            ShapeCase(name: "concatenate axis -1", inputShapes: [[2, 3, 1], [2, 3, 2], [2, 3, 3]],
                      apply: { concatenate($0, axis: -1) }, gather: concatenation(axis: 2)),
            ShapeCase(name: "flipped axis 0", inputShapes: [[3, 4]],
                      apply: { $0[0].flipped(axis: 0) }, gather: flip(axis: 0)),
            ShapeCase(name: "flipped axis 1", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].flipped(axis: 1) }, gather: flip(axis: 1)),
            ShapeCase(name: "flipped axis -1", inputShapes: [[2, 3, 4]],
                      apply: { $0[0].flipped(axis: -1) }, gather: flip(axis: 2)),
        ]

        @Test(arguments: shapeCases)
        func shapeOperationGradientMatchesCentralDifferences(_ operation: ShapeCase) {
            let inputs = operation.inputShapes.enumerated().map { randomTensor($0.element, seed: 40 + UInt64($0.offset)) }
            expectGradientsMatch("\(operation.name) seeds 40…", inputs: inputs, operation.apply)
        }

        /// Tags every input value with a distinct number and checks that each lands where the
        /// index arithmetic of the operation says.
        @Test(arguments: shapeCases)
        func shapeOperationMovesValuesToTheirIndices(_ operation: ShapeCase) {
            var next: Float = 0
            let inputs = operation.inputShapes.map { shape in
                Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in next += 1; return next })
            }
            let result = operation.apply(inputs)
            var expected: [Float] = []
            forEachIndex(result.shape) { index in
                let source = operation.gather(index, result.shape, operation.inputShapes)
                expected.append(inputs[source.input].storage[flatOffset(source.index, operation.inputShapes[source.input])])
            }
            #expect(result.storage == expected, "\(operation.name): got \(result.storage)")
        }

        @Test func reshapedInfersTheMinusOneAxis() {
            #expect(Tensor.zeros([2, 3, 4]).reshaped([-1, 4]).shape == [6, 4])
            #expect(Tensor.zeros([2, 3, 4]).reshaped([2, -1]).shape == [2, 12])
            #expect(Tensor.zeros([2, 3, 2, 2]).flattened().shape == [2, 12])
        }
    }
}
