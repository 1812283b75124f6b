import EdgeNASCore
import EdgeNASModels
import EdgeNASONNX
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

private let smallMBConvJSON = """
{"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
 "classes": 10, "activation": "relu6", "stem": {"channels": 8, "kernel": 3, "stride": 2},
 "stages": [{"channels": 16, "stride": 2, "blocks": [{"kernel": 3, "expand": 2, "se": true}]}],
 "head": {"channels": 0}}
"""

private func smallMBConv(stemChannels: Int = 8) throws -> Architecture {
    let json = smallMBConvJSON.replacingOccurrences(of: "\"channels\": 8", with: "\"channels\": \(stemChannels)")
    return try Architecture(jsonData: Data(json.utf8))
}

/// Names in `directory`, hidden temporary files included.
private func contents(of directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}

@Suite struct ExportFileTests {
    @Test func metadataAndSignatureAreWrittenAndReadBack() throws {
        let directory = try makeTemporaryDirectory("metadata")
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = try smallMBConv()
        let url = directory.appendingPathComponent("small.onnx")
        try ONNXExporter.export(architecture, weights: .seeded(3),
                                metadata: ["edgenas.device": "test-board", "edgenas.predicted_latency_ms": "1.25"], to: url)

        let model = try Onnx_ModelProto(contentsOf: url)
        let metadata = model.metadata
        #expect(metadata["edgenas.architecture"] == architecture.canonicalJSON)
        #expect(metadata["edgenas.architecture_id"] == architecture.id)
        #expect(metadata["edgenas.params"] == String(architecture.cost.params))
        #expect(metadata["edgenas.flops"] == String(architecture.cost.flops))
        #expect(metadata["edgenas.device"] == "test-board")
        #expect(metadata["edgenas.predicted_latency_ms"] == "1.25")
        #expect(try Architecture(jsonData: Data(metadata["edgenas.architecture"]!.utf8)) == architecture)

        #expect(model.irVersion == 8)
        #expect(model.opsetImport.map { "\($0.domain):\($0.version)" } == [":17"])
        #expect(model.graph.input.map(\.name) == ["input"])
        #expect(model.graph.output.map(\.name) == ["logits"])
        let inputDims = model.graph.input[0].type.tensorType.shape.dim
        #expect(inputDims.map(\.dimParam) == ["batch", "", "", ""])
        #expect(inputDims.dropFirst().map(\.dimValue) == [1, 28, 28])
        let outputDims = model.graph.output[0].type.tensorType.shape.dim
        #expect(outputDims.map(\.dimParam) == ["batch", ""])
        #expect(outputDims[1].dimValue == 10)
        #expect(!model.graph.node.contains { $0.opType == "BatchNormalization" }, "BatchNorm is folded into the convolutions")
    }

    @Test func callerMetadataMayNotReplaceTheExportersOwnKeys() throws {
        #expect(throws: ONNXExportError.reservedMetadataKey("edgenas.flops")) {
            try ONNXExporter.model(for: try smallMBConv(), weights: .seeded(0), metadata: ["edgenas.flops": "1"])
        }
    }

    @Test func sameArchitectureAndSeedGiveIdenticalBytes() throws {
        let architecture = try smallMBConv()
        let first = try ONNXExporter.model(for: architecture, weights: .seeded(5)).serializedModelData()
        let second = try ONNXExporter.model(for: architecture, weights: .seeded(5)).serializedModelData()
        let other = try ONNXExporter.model(for: architecture, weights: .seeded(6)).serializedModelData()
        #expect(first == second)
        #expect(first != other)
    }

    @Test func nativeCheckerRejectsCorruptedModelsWithItsMessage() throws {
        let model = try ONNXExporter.model(for: try smallMBConv(), weights: .seeded(0))
        try ONNXChecker.check(model)

        var unknownOperator = model
        unknownOperator.graph.node[0].opType = "NoSuchOperator"
        #expect {
            try ONNXChecker.check(unknownOperator)
        } throws: { error in
            guard case let .checkerRejected(path, message)? = error as? ONNXExportError else { return false }
            return path == nil && message.contains("NoSuchOperator")
        }

        var danglingInput = model
        let removed = danglingInput.graph.initializer.removeFirst().name
        #expect {
            try ONNXChecker.check(danglingInput)
        } throws: { error in
            guard case let .checkerRejected(_, message)? = error as? ONNXExportError else { return false }
            return message.contains(removed)
        }

        #expect(throws: ONNXExportError.checkerRejected(path: nil, message: "the 4 bytes do not parse as an ONNX ModelProto")) {
            try ONNXChecker.check(serializedModel: Data([0xff, 0xff, 0xff, 0xff]))
        }
    }

    @Test func rejectedModelIsNotWrittenAndLeavesTheOldFileInPlace() throws {
        let directory = try makeTemporaryDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.onnx")
        try Data("previous export".utf8).write(to: url)

        var broken = try ONNXExporter.model(for: try smallMBConv(), weights: .seeded(0))
        broken.graph.node[0].opType = "NoSuchOperator"
        #expect {
            try broken.write(to: url)
        } throws: { error in
            guard case let .checkerRejected(path, message)? = error as? ONNXExportError else { return false }
            return path == url.path && message.contains("NoSuchOperator")
                && "\(error)".hasPrefix("\(url.path): not written: the ONNX checker rejected the model")
        }
        #expect(try Data(contentsOf: url) == Data("previous export".utf8))
        #expect(try contents(of: directory) == ["model.onnx"], "no partial file is left behind")
    }

    @Test func successfulWriteReplacesTheFileByRename() throws {
        let directory = try makeTemporaryDirectory("rename")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.onnx")
        try Data("previous export".utf8).write(to: url)
        let oldInode = try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? UInt64

        let model = try ONNXExporter.model(for: try smallMBConv(), weights: .seeded(0))
        try model.write(to: url)
        let newInode = try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? UInt64
        #expect(oldInode != nil && oldInode != newInode, "a new file was renamed over the old one, not rewritten in place")
        #expect(try Data(contentsOf: url) == model.serializedModelData())
        #expect(try contents(of: directory) == ["model.onnx"])
    }

    @Test func missingDirectoryIsAWriteFailureNamingIt() throws {
        let directory = try makeTemporaryDirectory("missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("absent/model.onnx")
        let model = try ONNXExporter.model(for: try smallMBConv(), weights: .seeded(0))
        #expect(throws: ONNXExportError.writeFailed(
            path: url.path, reason: "directory \(directory.appendingPathComponent("absent").path) does not exist; create it first")) {
            try model.write(to: url)
        }
        #expect(try contents(of: directory).isEmpty)
    }

    @Test func checkpointOfAnotherArchitectureIsRefusedWithTheOffendingNamesAndNothingIsWritten() throws {
        let directory = try makeTemporaryDirectory("checkpoint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("other.ckpt")
        let other = NetworkBuilder.network(for: try smallMBConv(stemChannels: 12))
        var state = other.namedState()
        state.append((name: "extra.weight", tensor: Tensor.zeros([2])))
        state.removeAll { $0.name == "classifier.bias" }
        try Checkpoint.save(state, to: checkpoint)

        let url = directory.appendingPathComponent("model.onnx")
        #expect {
            try ONNXExporter.export(try smallMBConv(), weights: .checkpoint(checkpoint), to: url)
        } throws: { error in
            guard case let .mismatch(path, missing, unexpected, misshaped)? = error as? CheckpointError else { return false }
            return path == checkpoint.path && missing == ["classifier.bias"] && unexpected == ["extra.weight"]
                && misshaped.contains("stem.conv.weight (checkpoint [12, 1, 3, 3], model [8, 1, 3, 3])")
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(try contents(of: directory) == ["other.ckpt"])
    }

    @Test func checkpointOfTheSameArchitectureIsExportedWithItsWeights() throws {
        let directory = try makeTemporaryDirectory("restore")
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = try smallMBConv()
        let trained = NetworkBuilder.network(for: architecture, seed: 11)
        perturbNormalization(of: trained, seed: 12)
        let checkpoint = directory.appendingPathComponent("small.ckpt")
        try Checkpoint.save(trained.namedState(), to: checkpoint)

        let fromCheckpoint = try ONNXExporter.model(for: architecture, weights: .checkpoint(checkpoint))
        let fromNetwork = try ONNXExporter.model(for: architecture, network: trained)
        #expect(try fromCheckpoint.serializedModelData() == fromNetwork.serializedModelData())
    }

    @Test func networkOfAnotherShapeIsRefusedWithTheOffendingNames() throws {
        let architecture = try smallMBConv()
        let rgbNetwork = NetworkBuilder.network(for: architecture, inputChannels: 3)
        #expect(throws: ONNXExportError.weightsMismatch(
            missing: [], unexpected: [], misshaped: ["stem.conv.weight (weights [8, 3, 3, 3], architecture [8, 1, 3, 3])"])) {
            try ONNXExporter.model(for: architecture, network: rgbNetwork)
        }
        let otherNetwork = NetworkBuilder.network(for: try Architecture(jsonData: Data(
            smallMBConvJSON.replacingOccurrences(of: "\"channels\": 0", with: "\"channels\": 32").utf8)))
        #expect {
            try ONNXExporter.model(for: architecture, network: otherNetwork)
        } throws: { error in
            guard case let .weightsMismatch(missing, unexpected, misshaped)? = error as? ONNXExportError else { return false }
            return missing.isEmpty && unexpected.contains("head.conv.weight")
                && misshaped == ["classifier.weight (weights [10, 32], architecture [10, 16])"]
        }
    }
}
