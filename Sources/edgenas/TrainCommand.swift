import ArgumentParser
import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASTensor
import Foundation

/// Options shared by commands that read an architecture file.
struct ArchitectureFile: ParsableArguments {
    @Argument(help: "Architecture JSON file (edgenas.architecture/1).")
    var architecture: String

    func load() throws -> Architecture { try loadArchitecture(architecture) }
}

/// The decoded, validated architecture at `path`; a bad file is a `CommandFailure.badInput`.
func loadArchitecture(_ path: String) throws -> Architecture {
    do {
        return try Architecture(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure.badInput("\(error)")
    }
}

/// The trainable network of `architecture`; families without one are bad input.
func buildNetwork(_ architecture: Architecture, seed: UInt64) throws -> any FeatureClassifier {
    do { return try NetworkBuilder.network(for: architecture, seed: seed) } catch {
        throw CommandFailure.badInput("\(error)")
    }
}

/// Loads the train and test splits of an MNIST-format directory.
func loadImageSplits(_ directory: String) throws -> (training: ImageDataset, test: ImageDataset) {
    let url = URL(fileURLWithPath: directory, isDirectory: true)
    do {
        return (try MNISTFormat.load(directory: url, split: .train), try MNISTFormat.load(directory: url, split: .test))
    } catch {
        throw CommandFailure.badInput("\(error)")
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an architecture on an image-classification dataset and save a checkpoint.",
        discussion: """
        Uses the reference recipe of the dev ground truth unless told otherwise: AdamW \
        (lr 4e-3, weight decay 0.05 on weights only), 1 warm-up epoch then cosine decay, \
        label smoothing 0.1, random crop of the 2-pixel padded image and horizontal flip, \
        batch 1024. Prints per-epoch loss and test accuracy; the checkpoint is written \
        atomically at the end (an interrupted run leaves no half-written file). --out is \
        checked before training starts. A training set smaller than one batch (--limit, or a \
        small --data) is refused: each epoch would be one partial step, and nothing would be \
        learned; lower --batch-size to at most the number of images.

        Examples:
          edgenas train arch.json --epochs 2 --out runs/arch.ckpt
          edgenas train arch.json --epochs 10 --batch-size 256 --data ~/datasets/mnist --out m.ckpt
        """
    )

    @OptionGroup var file: ArchitectureFile

    @Option(help: "Training epochs.")
    var epochs: Int = 10

    @Option(help: "Where to write the trained checkpoint.")
    var out: String

    @Option(help: "MNIST-format directory (train/t10k IDX files, optionally .gz).")
    var data: String = MNISTFormat.defaultDirectory.path

    @Option(help: "Batch size.")
    var batchSize: Int = 1024

    @Option(help: "Peak learning rate (AdamW).")
    var learningRate: Float = 4e-3

    @Option(help: "Decoupled weight decay on weights of rank > 1.")
    var weightDecay: Float = 0.05

    @Option(help: "Warm-up epochs before cosine decay.")
    var warmupEpochs: Double = 1

    @Option(help: "Label smoothing.")
    var labelSmoothing: Float = 0.1

    @Flag(help: "Disable random crop and flip.")
    var noAugmentation = false

    @Option(help: "Seed of initialisation, shuffling and augmentation.")
    var seed: UInt64 = 0

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Train on only the first N training images (quick checks).")
    var limit: Int?

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2, got \(batchSize)") }
        guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive, got \(learningRate)") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else {
            throw ValidationError("--label-smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        if let limit, limit < 2 { throw ValidationError("--limit must be at least 2, got \(limit)") }
        if let limit, limit < batchSize {
            throw ValidationError("--limit \(limit) is smaller than one batch (--batch-size \(batchSize)): each epoch would be "
                + "a single partial step and nothing would be learned; pass --batch-size \(limit) or less, or a larger --limit")
        }
    }

    func run() throws {
        threadOptions.apply()
        let architecture = try file.load()
        let outURL = URL(fileURLWithPath: out)
        // Before training, not after it: a checkpoint that cannot be written wastes the run.
        do { try OutputPath.checkFile(out, option: "--out") } catch { throw CommandFailure.badInput("\(error)") }
        var (training, test) = try loadImageSplits(data)
        if let limit { training = training.prefix(limit) }
        guard training.count >= batchSize else {
            throw CommandFailure.badInput("\(data) holds \(training.count) training images, fewer than one batch (--batch-size "
                + "\(batchSize)): each epoch would be a single partial step; pass --batch-size \(training.count) or less")
        }
        guard training.classCount <= architecture.classes else {
            throw CommandFailure.badInput("\(data) has \(training.classCount) classes but the architecture has \(architecture.classes) outputs")
        }
        guard training.height == architecture.input.height, training.width == architecture.input.width,
              training.channels == architecture.input.channels else {
            throw CommandFailure.badInput("\(data) holds \(training.channels)×\(training.height)×\(training.width) images, " +
                                          "the architecture expects \(architecture.input)")
        }
        let model = try buildNetwork(architecture, seed: seed)
        print("architecture \(architecture.id) (\(architecture.family.rawValue)): \(model.parameterCount) parameters, " +
              String(format: "%.2f MFLOPs", Double(architecture.cost.flops) / 1e6))
        let configuration = TrainingConfiguration(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate, weightDecay: weightDecay,
            warmupEpochs: warmupEpochs, labelSmoothing: labelSmoothing, augmentation: !noAugmentation, seed: seed)
        let report = try runTraining(model, configuration: configuration, training: training, test: test)
        do {
            try Checkpoint.save(model.namedState(), to: outURL)
        } catch {
            throw CommandFailure.badInput("\(error)")
        }
        print(String(format: "test accuracy: %.2f%% after %d epochs (%.1f s); checkpoint %@",
                     (report.testAccuracy ?? 0) * 100, epochs, report.trainingSeconds, out))
    }
}

/// Trains with a progress bar per epoch and one summary line per epoch, on stdout unless
/// `log` sends it elsewhere (commands whose stdout is JSON).
func runTraining(_ model: any FeatureClassifier, configuration: TrainingConfiguration,
                 training: ImageDataset, test: ImageDataset,
                 log: (String) -> Void = { print($0); fflush(nil) }) throws -> TrainingReport {
    let trainer = ClassifierTrainer(configuration: configuration)
    var bar: ProgressBar? = nil
    var samplesDone = 0
    do {
        return try trainer.train(model, on: training, test: test, progress: { event in
            switch event {
            case let .step(epoch, stepInEpoch, stepsPerEpoch, loss, _):
                if stepInEpoch == 0 {
                    bar = ProgressBar(total: training.count, label: "epoch \(epoch + 1)/\(configuration.epochs)", unit: "img")
                    samplesDone = 0
                }
                samplesDone = min(training.count, samplesDone + configuration.batchSize)
                bar?.update(done: samplesDone, extra: String(format: "loss %.3f", loss))
                if stepInEpoch == stepsPerEpoch - 1 { bar?.finish() }
            case let .epochEnd(epoch, meanLoss, accuracy, seconds):
                let accuracyText = accuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "-"
                // fflush(nil) in the default log: `stdout` itself is not concurrency-safe in Swift 6.
                log(String(format: "epoch %d: mean loss %.4f, test accuracy %@, %.1f s", epoch + 1, meanLoss,
                           accuracyText, seconds))
            }
        })
    } catch let error as NonFiniteValueError {
        throw CommandFailure.training("\(error)")
    }
}
