import Foundation
import Testing

@testable import EdgeNASRuntime

@Suite(
    .enabled(if: Prerequisites.libraryFound, Prerequisites.libraryMissingMessage),
    .enabled(if: Prerequisites.pythonONNXFound, Prerequisites.pythonONNXMissingMessage)
)
struct PreparedRunTests {
    @Test func repeatedRunsGiveIdenticalOutputs() throws {
        let session = try InferenceSession(modelData: TestModels.load().convolution)
        let inputs = [(name: "image", shape: [3, 2, 5, 5], values: TestModels.inputValues(count: 150, seed: 5))]
        let run = try session.prepareRun(inputs: inputs)

        try run()
        let first = try run.outputs()
        for _ in 0..<50 { try run() }
        let last = try run.outputs()

        #expect(first.map(\.name) == last.map(\.name))
        #expect(first.map(\.shape) == last.map(\.shape))
        #expect(first.map(\.values) == last.map(\.values))
        #expect(try session.run(inputs: inputs).map(\.values) == last.map(\.values))
        #expect(allClose(last[0].values, TestModels.convolutionReference(inputs[0].values, batch: 3)))
    }

    @Test func preparedRunsOfOneSessionAreIndependent() throws {
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu)
        let small = TestModels.inputValues(count: 4, seed: 6)
        let large = TestModels.inputValues(count: 12, seed: 7)
        let smallRun = try session.prepareRun(inputs: [(name: "input", shape: [1, 4], values: small)])
        let largeRun = try session.prepareRun(inputs: [(name: "input", shape: [3, 4], values: large)])

        try smallRun()
        try largeRun()
        try smallRun()

        #expect(try smallRun.outputs()[0].values == TestModels.gemmReluReference(small, batch: 1))
        #expect(try largeRun.outputs()[0].shape == [3, 3])
        #expect(allClose(try largeRun.outputs()[0].values, TestModels.gemmReluReference(large, batch: 3)))
    }

    @Test func preparingValidatesInputsLikeRun() throws {
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu)

        let error = #expect(throws: ONNXRuntimeError.self) {
            try session.prepareRun(inputs: [(name: "input", shape: [1, 3], values: [1, 2, 3])])
        }

        #expect(error == .shapeMismatch(input: "input", expectedShape: [nil, 4], actualShape: [1, 3]))
    }

    @Test func aSessionCanBeUsedFromAnotherTask() async throws {
        let session = try InferenceSession(modelData: TestModels.load().gemmRelu)
        let input = TestModels.inputValues(count: 8, seed: 8)

        let outputs = try await Task.detached {
            try session.run(inputs: [(name: "input", shape: [2, 4], values: input)])
        }.value

        #expect(allClose(outputs[0].values, TestModels.gemmReluReference(input, batch: 2)))
    }
}
