import ArgumentParser
import EdgeNASData
import EdgeNASModels
import EdgeNASTensor
import Foundation

/// The engine demo: a small CNN trained on real Fashion-MNIST.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small CNN on Fashion-MNIST with the built-in engine and print its test accuracy.",
        discussion: """
        A smoke test of the tensor engine on real data: a MobileNet-like network (conv 3×3, two \
        depthwise-separable stride-2 blocks, pooling, linear) trained with AdamW, warm-up and \
        cosine decay. One epoch takes well under a minute on 2 cores and reaches about 80–85%.

        Examples:
          edgenas demo
          edgenas demo --epochs 3 --threads 2
          edgenas demo --data ~/datasets/mnist
        """
    )

    @Option(help: "MNIST-format directory (train/t10k IDX files, optionally .gz).")
    var data: String = MNISTFormat.defaultDirectory.path

    @Option(help: "Training epochs.")
    var epochs: Int = 1

    @Option(help: "Batch size.")
    var batchSize: Int = 128

    @Option(help: "Peak learning rate (AdamW).")
    var learningRate: Float = 4e-3

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Seed of initialisation, shuffling and augmentation.")
    var seed: UInt64 = 0

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2, got \(batchSize)") }
        guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive, got \(learningRate)") }
    }

    func run() throws { try threadOptions.scoped(execute) }

    private func execute() throws {
        let url = URL(fileURLWithPath: data, isDirectory: true)
        let (training, test) = try withCommandErrors {
            (try MNISTFormat.load(directory: url, split: .train), try MNISTFormat.load(directory: url, split: .test))
        }
        let model = DemoConvNet(inChannels: training.channels, classes: training.classCount, seed: seed)
        print("engine: \(Compute.threadCount) threads, OpenBLAS kernel \(Compute.blasCoreName)")
        print("data: \(training.count) training / \(test.count) test images, \(training.height)×\(training.width), " +
              "\(training.classCount) classes from \(data)")
        print("model: DemoConvNet, \(model.parameterCount) parameters")
        fflush(nil)  // all streams: `stdout` itself is not concurrency-safe in Swift 6
        let configuration = TrainingConfiguration(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate, weightDecay: 0.05,
            warmupEpochs: min(1, Double(epochs) / 4), labelSmoothing: 0.1, augmentation: true, seed: seed)
        let report = try runTraining(model, trainer: ClassifierTrainer(configuration: configuration), training: training, validation: test,
                                     evaluatedOn: "test")
        print(String(format: "test accuracy: %.2f%% (%d images), training took %.1f s",
                     (report.testAccuracy ?? 0) * 100, test.count, report.trainingSeconds))
    }
}
