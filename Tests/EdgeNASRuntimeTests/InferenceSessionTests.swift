import Foundation
import Testing

@testable import EdgeNASRuntime

@Suite(
    .enabled(if: Prerequisites.libraryFound, Prerequisites.libraryMissingMessage),
    .enabled(if: Prerequisites.pythonONNXFound, Prerequisites.pythonONNXMissingMessage)
)
struct InferenceSessionTests {
    // MARK: Outputs against Swift

    @Test(arguments: [1, 3])
    func gemmReluMatchesSwift(batch: Int) throws {
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu)
        let input = TestModels.inputValues(count: batch * 4)

        let outputs = try session.run(inputs: [(name: "input", shape: [batch, 4], values: input)])

        #expect(outputs.count == 1)
        #expect(outputs[0].name == "output")
        #expect(outputs[0].shape == [batch, 3])
        #expect(allClose(outputs[0].values, TestModels.gemmReluReference(input, batch: batch)))
        if batch == 3 {
            // Some units of the later rows are negative before Relu, so Relu is exercised.
            #expect(outputs[0].values.contains(0))
        }
    }

    @Test(arguments: [1, 3])
    func convolutionMatchesSwift(batch: Int) throws {
        let session = try InferenceSession(modelData: TestModels.load().convolution)
        let image = TestModels.inputValues(count: batch * 2 * 5 * 5, seed: 1)

        let outputs = try session.run(inputs: [(name: "image", shape: [batch, 2, 5, 5], values: image)])

        #expect(outputs.map(\.name) == ["features"])
        #expect(outputs[0].shape == [batch, 3, 3, 3])
        #expect(allClose(outputs[0].values, TestModels.convolutionReference(image, batch: batch)))
    }

    @Test func inputsMayComeInAnyOrderAndOutputsFollowTheModel() throws {
        let session = try InferenceSession(modelData: TestModels.load().twoInputs)
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [0.5, -1, 2, 0, 1.5, -2]

        let outputs = try session.run(inputs: [
            (name: "b", shape: [2, 3], values: b), (name: "a", shape: [2, 3], values: a),
        ])

        #expect(outputs.map(\.name) == ["sum", "product"])
        #expect(outputs[0].values == zip(a, b).map(+))
        #expect(outputs[1].values == zip(a, b).map(*))
    }

    @Test func namesAndDeclaredShapesComeFromTheModel() throws {
        let models = try TestModels.load()
        let twoInputs = try InferenceSession(modelData: models.twoInputs)
        let gemm = try InferenceSession(modelData: models.gemmRelu)

        #expect(twoInputs.inputNames == ["a", "b"])
        #expect(twoInputs.outputNames == ["sum", "product"])
        #expect(twoInputs.inputShapes == [[2, 3], [2, 3]])
        #expect(gemm.inputNames == ["input"])
        #expect(gemm.outputNames == ["output"])
        #expect(gemm.inputShapes == [[nil, 4]])
    }

    // MARK: Sources of a model

    @Test func sessionFromBytesEqualsSessionFromFile() throws {
        let model = try TestModels.load().convolution
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("convolution.onnx")
        try model.write(to: url)
        let inputs = [(name: "image", shape: [3, 2, 5, 5], values: TestModels.inputValues(count: 150, seed: 2))]

        let fromFile = try InferenceSession(contentsOf: url).run(inputs: inputs)
        let fromBytes = try InferenceSession(modelData: model).run(inputs: inputs)

        #expect(fromFile.map(\.name) == fromBytes.map(\.name))
        #expect(fromFile.map(\.shape) == fromBytes.map(\.shape))
        #expect(fromFile.map(\.values) == fromBytes.map(\.values))
    }

    @Test func aBadModelFileReportsONNXRuntimesMessage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("bad.onnx")
        try Data("this is not an ONNX model".utf8).write(to: url)

        let error = #expect(throws: ONNXRuntimeError.self) { try InferenceSession(contentsOf: url) }

        guard case .runtimeFailure(let operation, let code, let message) = error else {
            Issue.record("expected a runtime failure, got \(String(describing: error))")
            return
        }
        #expect(operation == "create a session from the model \(url.path)")
        #expect(code == .invalidProtobuf)
        #expect(message.contains("Protobuf parsing failed"))
        #expect(
            error?.description == "ONNX Runtime failed to create a session from the model \(url.path): \(message) "
                + "[ORT_INVALID_PROTOBUF]; the bytes are not a serialized ONNX ModelProto: export the model again")
    }

    @Test func badModelBytesReportONNXRuntimesMessage() {
        let error = #expect(throws: ONNXRuntimeError.self) {
            try InferenceSession(modelData: Data("garbage".utf8))
        }

        guard case .runtimeFailure(let operation, let code, _) = error else {
            Issue.record("expected a runtime failure, got \(String(describing: error))")
            return
        }
        #expect(operation == "create a session from a model of 7 bytes in memory")
        #expect(code == .invalidProtobuf)
    }

    @Test func aMissingModelFileSaysSo() throws {
        let url = URL(fileURLWithPath: "/nonexistent/edgenas/model.onnx")

        let error = #expect(throws: ONNXRuntimeError.self) { try InferenceSession(contentsOf: url) }

        guard case .runtimeFailure(_, let code, let message) = error else {
            Issue.record("expected a runtime failure, got \(String(describing: error))")
            return
        }
        #expect(code == .noSuchFile)
        #expect(message.contains(url.path))
        #expect(error?.description.hasSuffix("[ORT_NO_SUCHFILE]; check that the model file exists") == true)
    }

    // MARK: Input errors

    /// Each wrong call and the exact message it gets.
    static let inputErrorCases: [(inputs: [NamedFloatTensor], error: ONNXRuntimeError, message: String)] = [
        (
            [(name: "x", shape: [1, 4], values: [1, 2, 3, 4])],
            .unknownInput(name: "x", modelInputNames: ["input"]),
            "the model has no input named 'x'; its inputs are ['input']"
        ),
        (
            [],
            .missingInputs(names: ["input"]),
            "no tensor given for model input ['input']; give each model input exactly one tensor"
        ),
        (
            [
                (name: "input", shape: [1, 4], values: [1, 2, 3, 4]),
                (name: "input", shape: [1, 4], values: [1, 2, 3, 4]),
            ],
            .duplicateInput(name: "input"),
            "input 'input' is given more than once; give each model input exactly one tensor"
        ),
        (
            [(name: "input", shape: [2, 5], values: Array(repeating: 0, count: 10))],
            .shapeMismatch(input: "input", expectedShape: [nil, 4], actualShape: [2, 5]),
            "input 'input' has shape [2, 5] but the model expects [?, 4] (? is a dimension of any size); "
                + "pass a tensor of that shape"
        ),
        (
            [(name: "input", shape: [8], values: Array(repeating: 0, count: 8))],
            .shapeMismatch(input: "input", expectedShape: [nil, 4], actualShape: [8]),
            "input 'input' has shape [8] but the model expects [?, 4] (? is a dimension of any size); "
                + "pass a tensor of that shape"
        ),
        (
            [(name: "input", shape: [2, 4], values: [1, 2, 3])],
            .valueCountMismatch(input: "input", shape: [2, 4], expectedCount: 8, actualCount: 3),
            "input 'input' has shape [2, 4], which holds 8 values, but 3 values were given; pass exactly one "
                + "value per element, in row-major order"
        ),
        (
            [(name: "input", shape: [-1, 4], values: [1, 2, 3, 4])],
            .negativeDimension(input: "input", shape: [-1, 4]),
            "input 'input' has shape [-1, 4] with a negative dimension; dimensions must be ≥ 0"
        ),
    ]

    @Test(arguments: inputErrorCases.indices)
    func wrongInputsAreReportedClearly(caseIndex: Int) throws {
        let (inputs, expectedError, message) = Self.inputErrorCases[caseIndex]
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu)

        let error = #expect(throws: ONNXRuntimeError.self) { try session.run(inputs: inputs) }

        #expect(error == expectedError)
        #expect(error?.description == message)
    }

    @Test func missingInputsAreListedTogether() throws {
        let session = try InferenceSession(modelData: TestModels.load().twoInputs)

        let error = #expect(throws: ONNXRuntimeError.self) { try session.run(inputs: []) }

        #expect(
            error?.description
                == "no tensor given for model inputs ['a', 'b']; give each model input exactly one tensor")
    }

    @Test func anEmptyBatchRuns() throws {
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu)

        let outputs = try session.run(inputs: [(name: "input", shape: [0, 4], values: [])])

        #expect(outputs[0].shape == [0, 3])
        #expect(outputs[0].values.isEmpty)
    }

    @Test func nonFloatInputsAndOutputsAreRefused() throws {
        let models = try TestModels.load()
        let integerInput = try InferenceSession(modelData: models.integerInput)
        let integerOutput = try InferenceSession(modelData: models.integerOutput)

        let inputError = #expect(throws: ONNXRuntimeError.self) {
            try integerInput.run(inputs: [(name: "indices", shape: [2], values: [1, 2])])
        }
        let outputError = #expect(throws: ONNXRuntimeError.self) {
            try integerOutput.run(inputs: [(name: "input", shape: [2], values: [1, 2])])
        }

        #expect(
            inputError?.description
                == "tensor 'indices' is a int64 tensor, but EdgeNASRuntime runs float32 tensors only; export the "
                + "model with float32 inputs and outputs")
        #expect(outputError == .unsupportedElementType(tensor: "as_integer", elementType: 6))
    }

    // MARK: Options

    @Test(arguments: [(1, 1), (2, 1), (1, 2), (2, 2), (0, 0)])
    func threadSettingsAreHonoured(intraOpThreads: Int, interOpThreads: Int) throws {
        let options = InferenceSession.Options(intraOpThreads: intraOpThreads, interOpThreads: interOpThreads)
        let session = try InferenceSession(modelData: TestModels.load().convolution, options: options)
        let image = TestModels.inputValues(count: 3 * 50, seed: 3)

        let outputs = try session.run(inputs: [(name: "image", shape: [3, 2, 5, 5], values: image)])

        #expect(session.options == options)
        #expect(allClose(outputs[0].values, TestModels.convolutionReference(image, batch: 3)))
    }

    @Test func negativeThreadCountsAreRefused() throws {
        let options = InferenceSession.Options(intraOpThreads: 1, interOpThreads: -2)

        let error = #expect(throws: ONNXRuntimeError.self) {
            try InferenceSession(modelData: TestModels.load().gemmRelu, options: options)
        }

        #expect(error?.description == "interOpThreads is -2: use 0 (ONNX Runtime's default) or a positive thread count")
    }

    @Test(arguments: GraphOptimizationLevel.allCases)
    func everyOptimizationLevelGivesTheSameOutputs(level: GraphOptimizationLevel) throws {
        let options = InferenceSession.Options(graphOptimizationLevel: level)
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu, options: options)
        let input = TestModels.inputValues(count: 12, seed: 4)

        let outputs = try session.run(inputs: [(name: "input", shape: [3, 4], values: input)])

        #expect(allClose(outputs[0].values, TestModels.gemmReluReference(input, batch: 3)))
    }
}

/// Needs no ONNX Runtime.
@Suite struct SessionOptionsTests {
    @Test func defaultsAreOneThreadAndFullOptimization() {
        let options = InferenceSession.Options()

        #expect(options.intraOpThreads == 1)
        #expect(options.interOpThreads == 1)
        #expect(options.graphOptimizationLevel == .all)
    }
}
