import EdgeNASTensor
import Foundation
import Testing

extension TensorEngineTests {
    /// Forward and backward against PyTorch in float64 (float32 engine: atol = rtol = 1e-4).
    @Suite struct GoldenTests {
        static let atol: Float = 1e-4
        static let rtol: Float = 1e-4

        @Test func everyGoldenFileIsChecked() throws {
            let directory = try #require(GoldenFixtures.directory, "Fixtures/goldens is not in the test bundle")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".json") }
                .map { String($0.dropLast(".json".count)) }
            #expect(Set(files) == Set(GoldenFixtures.operationNames + GoldenFixtures.optimizerNames),
                    "golden files and the names the tests check differ")
        }

        @Test(arguments: GoldenFixtures.operationNames)
        func operationMatchesPyTorch(_ name: String) throws {
            let golden = try GoldenFixtures.load(name, as: OperationGolden.self)
            let inputs = golden.inputs.mapValues { $0.tensor(requiresGradient: true) }
            let state = (golden.stateBefore ?? [:]).mapValues { $0.tensor() }
            let output = try Self.evaluate(golden, inputs: inputs, state: state)

            #expect(output.shape == golden.output.shape, "\(name): output shape")
            expectClose(output.storage, golden.output.floats, atol: Self.atol, rtol: Self.rtol, "\(name) output")

            (output * golden.outputWeights.tensor()).sum().backward()
            #expect(Set(golden.gradients.keys) == Set(inputs.keys), "\(name): gradients stored for every input")
            for (key, expected) in golden.gradients.sorted(by: { $0.key < $1.key }) {
                let gradient = try #require(inputs[key]?.gradient, "\(name): no gradient reached \(key)")
                expectClose(gradient, expected.floats, atol: Self.atol, rtol: Self.rtol, "\(name) d/d\(key)")
            }
            for (key, expected) in (golden.stateAfter ?? [:]).sorted(by: { $0.key < $1.key }) {
                let tensor = try #require(state[key])
                expectClose(tensor.storage, expected.floats, atol: Self.atol, rtol: Self.rtol, "\(name) \(key) after")
            }
        }

        /// Runs the engine operation that the golden names, with its attributes.
        static func evaluate(_ golden: OperationGolden, inputs: [String: Tensor],
                             state: [String: Tensor]) throws -> Tensor {
            let attributes = golden.attributes
            func input(_ key: String) throws -> Tensor {
                try #require(inputs[key], "\(golden.operation) golden has no input \(key)")
            }
            switch golden.operation {
            case "conv2d":
                return conv2d(try input("x"), weight: try input("weight"), bias: inputs["bias"],
                              stride: try #require(attributes.stride), padding: try #require(attributes.padding),
                              groups: try #require(attributes.groups))
            case "batch_norm":
                return batchNorm(try input("x"), weight: try input("weight"), bias: try input("bias"),
                                 runningMean: try #require(state["running_mean"]),
                                 runningVariance: try #require(state["running_variance"]),
                                 training: try #require(attributes.training as Bool?),
                                 momentum: try #require(attributes.momentum), epsilon: try #require(attributes.epsilon))
            case "layer_norm":
                return layerNorm(try input("x"), weight: try input("weight"), bias: try input("bias"),
                                 epsilon: try #require(attributes.epsilon))
            case "attention":
                return multiHeadSelfAttention(qkv: try input("qkv"), heads: try #require(attributes.heads))
            case "cross_entropy":
                return crossEntropy(logits: try input("logits"), labels: try #require(attributes.labels),
                                    labelSmoothing: try #require(attributes.labelSmoothing))
            case "gelu":
                return gelu(try input("x"))
            case "hardswish":
                return hardSwish(try input("x"))
            case "softmax":
                return softmax(try input("x"))
            case "selective_scan":
                return selectiveScan(try input("v"), delta: try input("delta"), b: try input("b"), c: try input("c"),
                                     aLog: try input("a_log"), d: try input("d"))
            default:
                throw UnknownGoldenOperation(name: golden.operation)
            }
        }
    }
}

struct UnknownGoldenOperation: Error, CustomStringConvertible {
    let name: String
    var description: String { "golden operation \(name) has no engine counterpart in GoldenTests.evaluate" }
}
