import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// A learnable synthetic task: class c is a bright bar at row 3c (10 classes, 28×28),
/// with seeded noise.
private func barDataset(count: Int, seed: UInt64) -> ImageDataset {
    var generator = SeededGenerator(seed: seed)
    var pixels = [UInt8](repeating: 0, count: count * 28 * 28)
    var labels: [UInt8] = []
    for index in 0..<count {
        let label = Int(generator.next() % 10)
        labels.append(UInt8(label))
        for row in 0..<28 {
            for column in 0..<28 {
                let bar = (row / 3 == label) ? 200 : 0
                pixels[index * 784 + row * 28 + column] = UInt8(min(255, bar + Int(generator.next() % 40)))
            }
        }
    }
    return ImageDataset(height: 28, width: 28, pixels: pixels, labels: labels, classCount: 10)
}

private let tinyMBConv = """
{"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
 "classes": 10, "activation": "relu6", "stem": {"channels": 8, "kernel": 3, "stride": 2},
 "stages": [{"channels": 16, "stride": 2, "blocks": [{"kernel": 3, "expand": 2, "se": true}]}],
 "head": {"channels": 0}}
"""

@Suite struct TrainerTests {
    @Test func learningRateWarmsUpLinearlyThenDecaysByCosineToZero() {
        let configuration = TrainingConfiguration(learningRate: 1)
        #expect(configuration.learningRate(step: 0, totalSteps: 100, warmupSteps: 10) == 0.1)
        #expect(configuration.learningRate(step: 9, totalSteps: 100, warmupSteps: 10) == 1)
        #expect(abs(configuration.learningRate(step: 55, totalSteps: 100, warmupSteps: 10) - 0.5) < 1e-6)
        #expect(configuration.learningRate(step: 100, totalSteps: 100, warmupSteps: 10) < 1e-6)
    }

    @Test func trainingLearnsASyntheticTaskAndStaysDeterministic() throws {
        let architecture = try Architecture(jsonData: Data(tinyMBConv.utf8))
        let training = barDataset(count: 512, seed: 1), test = barDataset(count: 256, seed: 2)
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 64, learningRate: 1e-2, augmentation: false, seed: 4)
        var accuracies: [Double] = []
        for _ in 0..<2 {
            let network = NetworkBuilder.network(for: architecture, seed: 7)
            let report = try ClassifierTrainer(configuration: configuration).train(network, on: training, test: test)
            #expect(report.epochLosses.last! < report.epochLosses.first!, "losses \(report.epochLosses)")
            accuracies.append(report.testAccuracy!)
        }
        #expect(accuracies[0] > 0.4, "accuracy \(accuracies[0]) on a 10-class task with chance 0.1")
        #expect(accuracies[0] == accuracies[1], "same seeds gave \(accuracies)")
    }

    /// Running statistics far off (as after a few dozen steps) make inference mode useless;
    /// recalibration averages the batch statistics, so inference matches batch statistics.
    @Test func batchNormRecalibrationMakesInferenceMatchBatchStatistics() throws {
        let architecture = try Architecture(jsonData: Data(tinyMBConv.utf8))
        let network = NetworkBuilder.network(for: architecture, seed: 7)
        let data = barDataset(count: 128, seed: 3)
        for (name, tensor) in network.namedBuffers() where name.hasSuffix("running_mean") {
            tensor.storage = tensor.storage.map { _ in 50 }
        }
        let batcher = ImageBatcher()
        let stale = ClassifierTrainer.accuracy(of: network, on: data, batcher: batcher)
        let batchStatistics = ClassifierTrainer.accuracy(of: network, on: data, batcher: batcher, batchSize: 128, batchStatistics: true)
        ClassifierTrainer.recalibrateBatchNorm(of: network, on: data, batcher: batcher)
        let recalibrated = ClassifierTrainer.accuracy(of: network, on: data, batcher: batcher, batchSize: 128)
        #expect(abs(recalibrated - batchStatistics) <= 2.0 / 128, "recalibrated \(recalibrated), batch statistics \(batchStatistics)")
        #expect(network.namedBuffers().filter { $0.name.hasSuffix("running_mean") }.allSatisfy { !$0.tensor.storage.contains(50) })
        #expect(network.allModules().compactMap { $0 as? BatchNorm }.allSatisfy { $0.momentum == 0.1 }, "momenta restored")
        _ = stale
    }

    @Test func divergenceIsReportedAsATrainingErrorNotACrash() throws {
        let architecture = try Architecture(jsonData: Data(tinyMBConv.utf8))
        let network = NetworkBuilder.network(for: architecture, seed: 7)
        // Poison one weight: the first forward pass yields a NaN loss.
        network.namedParameters()[0].tensor.storage[0] = .nan
        let configuration = TrainingConfiguration(epochs: 1, batchSize: 32, augmentation: false)
        #expect(throws: NonFiniteValueError.self) {
            _ = try ClassifierTrainer(configuration: configuration).train(network, on: barDataset(count: 64, seed: 1))
        }
    }

    @Test func aStopRequestEndsTrainingWithCancellation() throws {
        let architecture = try Architecture(jsonData: Data(tinyMBConv.utf8))
        let network = NetworkBuilder.network(for: architecture, seed: 7)
        var steps = 0
        let configuration = TrainingConfiguration(epochs: 5, batchSize: 16, augmentation: false)
        #expect(throws: CancellationError.self) {
            _ = try ClassifierTrainer(configuration: configuration).train(
                network, on: barDataset(count: 64, seed: 1), shouldStop: { steps >= 3 },
                progress: { if case .step = $0 { steps += 1 } })
        }
        #expect(steps == 3)
    }

    @Test func checkpointRoundTripRestoresTheSamePredictions() throws {
        let architecture = try Architecture(jsonData: Data(tinyMBConv.utf8))
        let trained = NetworkBuilder.network(for: architecture, seed: 7)
        let configuration = TrainingConfiguration(epochs: 1, batchSize: 32, augmentation: false)
        _ = try ClassifierTrainer(configuration: configuration).train(trained, on: barDataset(count: 128, seed: 1))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.ckpt")
        try Checkpoint.save(trained.namedState(), to: url)
        let restored = NetworkBuilder.network(for: architecture, seed: 99)
        try Checkpoint.restore(restored, from: url)
        let test = barDataset(count: 100, seed: 3)
        #expect(ClassifierTrainer.accuracy(of: trained, on: test) == ClassifierTrainer.accuracy(of: restored, on: test))
    }

    @Test func augmentationCropsZeroPaddedImagesAndFlips() {
        var pixels = [UInt8](repeating: 0, count: 784)
        pixels[0] = 255  // top-left corner
        let dataset = ImageDataset(height: 28, width: 28, pixels: pixels, labels: [0], classCount: 1)
        let batcher = ImageBatcher(normalization: ImageNormalization(mean: [0], standardDeviation: [1]), cropPadding: 2, horizontalFlip: true)
        var generator = SeededGenerator(seed: 0)
        var positions = Set<Int>()
        for _ in 0..<200 {
            let (images, _) = batcher.batch(dataset, indices: [0][...], augment: true, using: &generator)
            let bright = images.storage.indices.filter { images.storage[$0] > 0.5 }
            #expect(bright.count <= 1)
            positions.formUnion(bright)
        }
        // Shifts of -2...2 and the flip move the corner pixel to several distinct places, some
        // of them off the image.
        #expect(positions.count > 4)
        #expect(positions.allSatisfy { $0 / 28 <= 2 && ($0 % 28 <= 2 || $0 % 28 >= 25) })
    }
}

@Suite struct FashionMNISTTrainingTests {
    static let available = FileManager.default.fileExists(atPath: MNISTFormat.defaultDirectory.path)

    @Test(.enabled(if: available, "Fashion-MNIST is not installed (scripts/setup.sh installs it)"))
    func aTinyNetworkLearnsRealFashionMNISTWellAboveChance() throws {
        let architecture = try Architecture(jsonData: Data(tinyMBConv.utf8))
        let training = try MNISTFormat.load(split: .train).prefix(4096)
        let test = try MNISTFormat.load(split: .test).prefix(1000)
        let network = NetworkBuilder.network(for: architecture, seed: 1)
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 64, learningRate: 1e-2, warmupEpochs: 0.5,
                                                  augmentation: false)
        let report = try ClassifierTrainer(configuration: configuration).train(network, on: training, test: test)
        #expect(report.testAccuracy! > 0.6, "accuracy \(report.testAccuracy!) (chance is 0.1)")
    }
}

@Suite struct TrainingRunHistoryTests {
    @Test func theBestEpochIsTheFirstBestValidationOrTheLastWithoutOne() {
        var history = TrainingRun.History(settings: [:])
        #expect(history.bestEpoch == nil)
        history.epochsDone = 3
        #expect(history.bestEpoch == 2, "without validation the last epoch's weights are kept")
        history.validationAccuracies = [0.5, 0.7, 0.7]
        #expect(history.bestEpoch == 1, "a tie does not replace the earlier best")
        #expect(TrainingRun.History(settings: ["epochs": "4"]).conflicts(with: ["epochs": "5", "seed": "1"])
                == ["epochs: was 4, now 5", "seed: was -, now 1"])
    }
}
