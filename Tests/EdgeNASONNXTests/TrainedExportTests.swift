import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASONNX
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

private let datasetDirectory = MNISTFormat.defaultDirectory

@Suite(.serialized) struct TrainedExportTests {
    /// A briefly trained network, exported from its checkpoint, classifies the whole
    /// Fashion-MNIST test split in ONNX Runtime exactly as well as in the engine.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: datasetDirectory.path),
                   "Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist (scripts/setup.sh installs it)"))
    func trainedCheckpointKeepsItsTestAccuracyInONNXRuntime() throws {
        let directory = try makeTemporaryDirectory("trained")
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = try Architecture(jsonData: Data("""
        {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
         "classes": 10, "activation": "relu6", "stem": {"channels": 8, "kernel": 3, "stride": 2},
         "stages": [{"channels": 16, "stride": 2, "blocks": [{"kernel": 3, "expand": 2, "se": true}]},
                    {"channels": 16, "stride": 1, "blocks": [{"kernel": 5, "expand": 1, "se": false}]}],
         "head": {"channels": 32}}
        """.utf8))
        let training = try MNISTFormat.load(directory: datasetDirectory, split: .train).prefix(2048)
        let test = try MNISTFormat.load(directory: datasetDirectory, split: .test)

        let network = NetworkBuilder.network(for: architecture, seed: 1)
        // 32 steps: enough for clearly-better-than-chance weights and settled BatchNorm statistics.
        let trainer = ClassifierTrainer(configuration: TrainingConfiguration(
            epochs: 1, batchSize: 64, learningRate: 2e-2, warmupEpochs: 0.1, augmentation: false, seed: 1))
        _ = try trainer.train(network, on: training)
        let checkpoint = directory.appendingPathComponent("tiny.ckpt")
        try Checkpoint.save(network.namedState(), to: checkpoint)
        let engineAccuracy = ClassifierTrainer.accuracy(of: network, on: test, batcher: trainer.batcher)

        let url = directory.appendingPathComponent("tiny.onnx")
        try ONNXExporter.export(architecture, weights: .checkpoint(checkpoint), to: url)

        var generator = SeededGenerator(seed: 0)
        let evaluationBatcher = ImageBatcher(normalization: trainer.batcher.normalization)
        let (images, labels) = evaluationBatcher.batch(test, indices: Array(0..<test.count)[...], augment: false,
                                                       using: &generator)
        let job = RuntimeJob(id: "tiny", model: url, input: images.storage, inputShape: images.shape,
                             runs: [.init(batch: test.count, chunk: 1000)])
        let result = try #require(try PythonONNXRuntime.run([job], workingDirectory: directory).first)
        #expect(result.checkerError == nil, "\(result.checkerError ?? "")")
        #expect(result.runError == nil, "\(result.runError ?? "")")
        let logits = try #require(result.outputs.first)
        try #require(logits.count == test.count * 10)

        var correct = 0
        for (row, label) in labels.enumerated() {
            var best = 0
            for c in 1..<10 where logits[row * 10 + c] > logits[row * 10 + best] { best = c }
            if best == label { correct += 1 }
        }
        let runtimeAccuracy = Double(correct) / Double(test.count)
        #expect(engineAccuracy > 0.25, "a short epoch should beat chance (10%) clearly, got \(engineAccuracy)")
        #expect(abs(runtimeAccuracy - engineAccuracy) <= 0.001,
                "ONNX Runtime \(runtimeAccuracy * 100)% vs engine \(engineAccuracy * 100)% on \(test.count) test images")
    }
}
