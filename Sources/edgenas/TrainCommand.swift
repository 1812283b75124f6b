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

/// The help of every `--data` option.
let dataOptionHelp = "Training data: an MNIST-format directory (train/t10k IDX files, optionally .gz), a CIFAR binary file or " +
    "folder, or an image folder (DIR/CLASS/*.png|jpg|jpeg, or DIR/train/CLASS/… with DIR/test/CLASS/…). Images are " +
    "converted to the architecture's channels and resized to its input."

/// The training and test parts of the dataset at `path` (any format ``DatasetSource`` reads),
/// at `input`'s shape, with a progress bar while an image folder decodes; a class count
/// other than `classes` is refused.
func loadDataset(_ path: String, input: ImageShape, classes: Int) throws -> (training: ImageDataset, test: ImageDataset?) {
    do {
        let source = try DatasetSource.detect(path)
        var bar: ProgressBar?
        let parts = try source.load(channels: input.channels, height: input.height, width: input.width) { done, total in
            if bar == nil { bar = ProgressBar(total: total, label: "decode", unit: "img") }
            bar?.update(done: done)
            if done == total { bar?.finish() }
        }
        guard parts.training.classCount == classes else {
            throw DatasetError.classCountMismatch(path: path, found: parts.training.classCount, expected: classes)
        }
        return parts
    } catch let error as DatasetError {
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
        batch 1024.

        Data: Fashion-MNIST from the Debian package unless --data names an MNIST-format \
        directory, a CIFAR binary file or folder, or a folder of images with one folder per \
        class (class names are the folder names). Images are converted to the architecture's \
        channels and resized to its input (Pillow's bilinear filter). A stratified, seeded \
        --validation-share of the training images is held out; inputs are normalised with the \
        per-channel mean and std of the rest. The test split, when the data has one, is used \
        only for the final accuracy.

        Prints per-epoch loss and validation accuracy. The checkpoint is written atomically \
        at the end, with CHECKPOINT.json beside it: the data, the accuracies and the \
        preprocessing (input size, channel order, mean, std, class names), which `export` \
        writes into the model. --out is checked before training starts. A training set \
        smaller than one batch is refused; lower --batch-size to at most the number of images.

        Examples:
          edgenas train arch.json --epochs 2 --out runs/arch.ckpt
          edgenas train arch.json --epochs 10 --batch-size 256 --data ~/datasets/mnist --out m.ckpt
          edgenas train rgb-arch.json --epochs 20 --batch-size 64 --data ~/photos --out runs/photos.ckpt
        """
    )

    @OptionGroup var file: ArchitectureFile

    @Option(help: "Training epochs.")
    var epochs: Int = 10

    @Option(help: "Where to write the trained checkpoint.")
    var out: String

    @Option(help: ArgumentHelp(dataOptionHelp, valueName: "path"))
    var data: String = MNISTFormat.defaultDirectory.path

    @Option(help: "Share of the training images held out for validation (stratified by class, seeded).")
    var validationShare: Double = 0.1

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
    @OptionGroup var precisionOptions: PrecisionOptions

    @Option(help: "Train on only the first N training images (quick checks).")
    var limit: Int?

    @Flag(help: "Continue an interrupted run of the same command after its last finished epoch (OUT.resume).")
    var resume = false

    @Option(help: "Stop when validation accuracy has not improved for this many epochs (default: train every epoch).")
    var patience: Int?

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2, got \(batchSize)") }
        guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive, got \(learningRate)") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else {
            throw ValidationError("--label-smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        guard validationShare >= 0 && validationShare < 1 else {
            throw ValidationError("--validation-share must be in [0, 1), got \(validationShare)")
        }
        if let patience, patience < 1 { throw ValidationError("--patience must be at least 1, got \(patience)") }
        if patience != nil && validationShare == 0 {
            throw ValidationError("--patience needs a validation split: --validation-share is 0")
        }
        if let limit, limit < 2 { throw ValidationError("--limit must be at least 2, got \(limit)") }
        if let limit, limit < batchSize {
            throw ValidationError("--limit \(limit) is smaller than one batch (--batch-size \(batchSize)): each epoch would be "
                + "a single partial step and nothing would be learned; pass --batch-size \(limit) or less, or a larger --limit")
        }
    }

    func run() throws { try precisionOptions.scoped { try threadOptions.scoped(execute) } }

    private func execute() throws {
        let architecture = try file.load()
        let outURL = URL(fileURLWithPath: out)
        // Before training, not after it: a checkpoint that cannot be written wastes the run.
        do { try OutputPath.checkFile(out, option: "--out") } catch { throw CommandFailure.badInput("\(error)") }
        let (whole, test) = try loadDataset(data, input: architecture.input, classes: architecture.classes)
        let prepared = TrainingData(whole: whole, test: test, input: architecture.input, validationShare: validationShare, limit: limit)
        guard prepared.training.count >= batchSize else {
            throw CommandFailure.badInput("\(data) holds \(prepared.training.count) training images (after the validation share), fewer than one "
                + "batch (--batch-size \(batchSize)): each epoch would be a single partial step; pass --batch-size \(prepared.training.count) or less")
        }
        let normalization = prepared.preprocessing.normalization
        let model = NetworkBuilder.network(for: architecture, seed: seed)
        print("architecture \(architecture.id) (\(architecture.family.rawValue)): \(model.parameterCount) parameters, " +
              String(format: "%.2f MFLOPs", Double(architecture.cost.flops) / 1e6))
        print("data \(data): \(prepared.training.count) training, \(prepared.validation.count) validation, "
              + "\(test.map { "\($0.count) test" } ?? "no test") images; "
              + "normalisation mean \(normalization.mean.map { String(format: "%.4f", $0) }) std "
              + "\(normalization.standardDeviation.map { String(format: "%.4f", $0) })")
        let configuration = TrainingConfiguration(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate, weightDecay: weightDecay,
            warmupEpochs: warmupEpochs, labelSmoothing: labelSmoothing, augmentation: !noAugmentation, seed: seed)
        let files = TrainingRun(checkpoint: outURL)
        StopRequest.install(notice: "\nstopping: the last finished epoch is kept (Ctrl-C again to quit at once)\n")
        let printer = TrainingProgressPrinter(trainingCount: prepared.training.count, configuration: configuration)
        let outcome: (history: TrainingRun.History, testAccuracy: Double?, seconds: Double)
        do {
            outcome = try files.train(model, trainer: ClassifierTrainer(configuration: configuration, batcher: prepared.batcher),
                                      data: prepared, architectureID: architecture.id, dataPath: data, settings: settings(architecture),
                                      resume: resume, patience: patience, shouldStop: { StopRequest.isRequested },
                                      progress: printer.callAsFunction) { event in
                switch event {
                case .resumed(let epochsDone):
                    print("resuming after epoch \(epochsDone) of \(epochs) from \(files.stateURL.lastPathComponent)")
                case let .stoppedEarly(patience, bestEpoch):
                    print("stopping early: validation accuracy has not improved for \(patience) epoch(s) since epoch \(bestEpoch + 1)")
                }
            }
        } catch let error as TrainingRunError {
            throw failure(error, files: files)
        } catch let error as NonFiniteValueError {
            throw CommandFailure.training("\(error)")
        } catch {
            throw CommandFailure.badInput("\(error)")
        }
        let history = outcome.history
        if let bestEpoch = history.bestEpoch, !history.validationAccuracies.isEmpty {
            print(String(format: "validation accuracy: %.2f%% (best, epoch %d of %d)", history.validationAccuracies[bestEpoch] * 100,
                         bestEpoch + 1, history.epochsDone))
        }
        if let testAccuracy = outcome.testAccuracy {
            print(String(format: "test accuracy: %.2f%%", testAccuracy * 100))
        }
        print(String(format: "trained in %.1f s; checkpoint %@ (record %@, curve %@)", outcome.seconds, out,
                     TrainingRecord.url(forCheckpoint: outURL).lastPathComponent, files.curveURL.lastPathComponent))
    }

    /// The options that shape the run: a resume must be given the same ones.
    private func settings(_ architecture: Architecture) -> [String: String] {
        ["architecture": architecture.id, "data": data, "epochs": "\(epochs)", "batch-size": "\(batchSize)",
         "learning-rate": "\(learningRate)", "weight-decay": "\(weightDecay)", "warmup-epochs": "\(warmupEpochs)",
         "label-smoothing": "\(labelSmoothing)", "augmentation": "\(!noAugmentation)", "seed": "\(seed)",
         "validation-share": "\(validationShare)", "limit": limit.map { "\($0)" } ?? "none"]
    }

    /// What a run that did not start or did not finish tells the user.
    private func failure(_ error: TrainingRunError, files: TrainingRun) -> Error {
        switch error {
        case .interruptedRunExists(let epochsDone):
            return CommandFailure.badInput("\(files.stateURL.path) holds epoch \(epochsDone) of an interrupted run: pass "
                + "--resume to continue it, or remove \(files.stateURL.lastPathComponent) and "
                + "\(files.historyURL.lastPathComponent) to start over")
        case .nothingToResume:
            return CommandFailure.badInput("--resume: no interrupted run at \(files.stateURL.path) (the run finished, or never "
                + "finished an epoch); run without --resume")
        case .settingsChanged(let conflicts):
            return CommandFailure.badInput("--resume: the run was started with other options: \(conflicts.joined(separator: "; ")); "
                + "resume with the same options")
        case .stopped(let epochsDone):
            return interrupted(epochsDone == 0 ? "no epoch had finished, nothing is kept"
                : "epoch \(epochsDone) of \(epochs) is kept in \(files.stateURL.path); continue with the same command and --resume")
        }
    }
}

/// Shows a training run: a progress bar per epoch on standard error, and one summary line
/// per epoch through `log` (standard output unless a command's stdout is JSON).
final class TrainingProgressPrinter {
    private let trainingCount: Int
    private let configuration: TrainingConfiguration
    private let evaluationName: String
    private let log: (String) -> Void
    private var bar: ProgressBar?
    private var samplesDone = 0

    init(trainingCount: Int, configuration: TrainingConfiguration, evaluationName: String = "validation",
         log: @escaping (String) -> Void = { print($0); fflush(nil) }) {
        self.trainingCount = trainingCount
        self.configuration = configuration
        self.evaluationName = evaluationName
        self.log = log
    }

    func callAsFunction(_ event: TrainingEvent) {
        switch event {
        case let .step(epoch, stepInEpoch, stepsPerEpoch, loss, _):
            if stepInEpoch == 0 {
                bar = ProgressBar(total: trainingCount, label: "epoch \(epoch + 1)/\(configuration.epochs)", unit: "img")
                samplesDone = 0
            }
            samplesDone = min(trainingCount, samplesDone + configuration.batchSize)
            bar?.update(done: samplesDone, extra: String(format: "loss %.3f", loss))
            if stepInEpoch == stepsPerEpoch - 1 { bar?.finish() }
        case let .epochEnd(epoch, meanLoss, accuracy, seconds):
            let accuracyText = accuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "-"
            // fflush(nil) in the default log: `stdout` itself is not concurrency-safe in Swift 6.
            log(String(format: "epoch %d: mean loss %.4f, %@ accuracy %@, %.1f s", epoch + 1, meanLoss,
                       evaluationName, accuracyText, seconds))
        }
    }
}

/// Trains `model` with ``TrainingProgressPrinter`` showing it; divergence is a training failure.
func runTraining(_ model: any FeatureClassifier, trainer: ClassifierTrainer, training: ImageDataset, validation: ImageDataset?,
                 evaluatedOn evaluationName: String = "validation",
                 log: @escaping (String) -> Void = { print($0); fflush(nil) }) throws -> TrainingReport {
    let printer = TrainingProgressPrinter(trainingCount: training.count, configuration: trainer.configuration,
                                          evaluationName: evaluationName, log: log)
    do {
        return try trainer.train(model, on: training, test: validation, progress: printer.callAsFunction)
    } catch let error as NonFiniteValueError {
        throw CommandFailure.training("\(error)")
    }
}
