import EdgeNASCore
import EdgeNASData
import EdgeNASTensor
import Foundation

/// A network that maps images [B, C, H, W] to class logits [B, classes].
public protocol ImageClassifier: Module {
    func callAsFunction(_ images: Tensor) -> Tensor
}

/// Settings of one image-classification training run.
public struct TrainingConfiguration: Sendable {
    public var epochs: Int
    public var batchSize: Int
    /// Peak learning rate of AdamW, reached at the end of warm-up.
    public var learningRate: Float
    /// Decoupled weight decay, applied to weights of rank > 1 only.
    public var weightDecay: Float
    /// Linear warm-up length in epochs (fractions allowed); then cosine decay to 0.
    public var warmupEpochs: Double
    public var labelSmoothing: Float
    /// Random crop of the zero-padded image (padding in pixels) and horizontal flip.
    public var augmentation: Bool
    public var cropPadding: Int
    /// Global gradient-norm clip; nil disables clipping.
    public var maxGradientNorm: Float?
    /// Seed of shuffling and augmentation.
    public var seed: UInt64
    /// Recalibrate BatchNorm's running statistics after each epoch
    /// (``ClassifierTrainer/recalibrateBatchNorm(of:on:batcher:)``); off where evaluation
    /// uses batch statistics anyway and every second counts (the final stage's rungs).
    public var recalibratesBatchNorm = true

    /// The reference recipe of the dev ground truth: AdamW lr 4e-3, weight decay 0.05 on
    /// weights, 1 warm-up epoch then cosine, label smoothing 0.1, crop (padding 2) + flip.
    public init(epochs: Int = 10, batchSize: Int = 1024, learningRate: Float = 4e-3, weightDecay: Float = 0.05,
                warmupEpochs: Double = 1, labelSmoothing: Float = 0.1, augmentation: Bool = true,
                cropPadding: Int = 2, maxGradientNorm: Float? = nil, seed: UInt64 = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.warmupEpochs = warmupEpochs
        self.labelSmoothing = labelSmoothing
        self.augmentation = augmentation
        self.cropPadding = cropPadding
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
    }

    /// Learning rate at `step` of `totalSteps`: linear warm-up over `warmupSteps`, then
    /// cosine decay lr·(1 + cos(π·progress))/2 to 0.
    public func learningRate(step: Int, totalSteps: Int, warmupSteps: Int) -> Float {
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        let decaySteps = max(1, totalSteps - warmupSteps)
        let progress = Double(step - warmupSteps) / Double(decaySteps)
        return learningRate * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}

/// What a training run reports while it runs.
public enum TrainingEvent: Sendable {
    /// One optimisation step done.
    case step(epoch: Int, stepInEpoch: Int, stepsPerEpoch: Int, loss: Float, samplesPerSecond: Double)
    /// One epoch done; test accuracy when a test set was given.
    case epochEnd(epoch: Int, meanLoss: Float, testAccuracy: Double?, seconds: Double)
}

/// The outcome of a training run.
public struct TrainingReport: Sendable {
    public var epochLosses: [Float]
    /// Accuracy on the evaluation set after each epoch, when one was given.
    public var epochAccuracies: [Double] = []
    /// The last of ``epochAccuracies``.
    public var testAccuracy: Double?
    public var trainingSeconds: Double
}

/// Trains an `ImageClassifier` with AdamW, warm-up + cosine schedule and label smoothing.
public struct ClassifierTrainer {
    public var configuration: TrainingConfiguration
    public var batcher: ImageBatcher

    public init(configuration: TrainingConfiguration, batcher: ImageBatcher = ImageBatcher()) {
        self.configuration = configuration
        self.batcher = batcher
        self.batcher.cropPadding = configuration.augmentation ? configuration.cropPadding : 0
        self.batcher.horizontalFlip = configuration.augmentation
    }

    /// The optimizer ``train(_:on:test:resumingAfter:optimizer:shouldStop:progress:afterEpoch:)`` uses for `model`.
    public func makeOptimizer(for model: some ImageClassifier) -> AdamW {
        AdamW(parameters: model.parameters, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
    }

    /// Trains `model` on `training` for the configured epochs, evaluating on `test` after
    /// each epoch when given.
    ///
    /// Each epoch draws its shuffle and augmentation from a generator seeded by the seed and
    /// the epoch, so a run resumed after epoch k (`resumingAfter: k` with the model and the
    /// optimizer restored from a checkpoint of that epoch) trains exactly as the
    /// uninterrupted run would.
    ///
    /// - Parameters:
    ///   - resumingAfter: epochs already done (0: a fresh run).
    ///   - optimizer: the restored optimizer when resuming (``makeOptimizer(for:)`` otherwise).
    ///   - afterEpoch: called after each epoch with its number, accuracy on `test` and the
    ///     optimizer (to save a resumable checkpoint); returning false stops training early.
    /// - Throws: `NonFiniteValueError` when the loss stops being finite (the weights are left
    ///   as they were before the failing step); `CancellationError` when `shouldStop` says so;
    ///   what `afterEpoch` throws.
    public func train(_ model: some ImageClassifier, on training: ImageDataset, test: ImageDataset? = nil,
                      resumingAfter epochsDone: Int = 0, optimizer restored: AdamW? = nil,
                      shouldStop: () -> Bool = { false },
                      progress: (TrainingEvent) -> Void = { _ in },
                      afterEpoch: (_ epoch: Int, _ accuracy: Double?, _ optimizer: AdamW) throws -> Bool = { _, _, _ in true })
        throws -> TrainingReport {
        let configuration = configuration
        precondition(configuration.batchSize > 0 && configuration.epochs > 0, "train: batch size and epochs must be positive")
        precondition(epochsDone >= 0 && epochsDone <= configuration.epochs, "train: resuming after \(epochsDone) of \(configuration.epochs) epochs")
        let optimizer = restored ?? makeOptimizer(for: model)
        let stepsPerEpoch = (training.count + configuration.batchSize - 1) / configuration.batchSize
        let totalSteps = stepsPerEpoch * configuration.epochs
        let warmupSteps = Int((configuration.warmupEpochs * Double(stepsPerEpoch)).rounded())
        var report = TrainingReport(epochLosses: [], testAccuracy: nil, trainingSeconds: 0)
        let runStart = Date()
        var globalStep = epochsDone * stepsPerEpoch
        for epoch in epochsDone..<configuration.epochs {
            var generator = SeededGenerator(seed: configuration.seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
            let epochStart = Date()
            model.setTrainingMode(true)
            var order = Array(0..<training.count)
            shuffle(&order, using: &generator)
            var lossTotal = 0.0
            for stepInEpoch in 0..<stepsPerEpoch {
                if shouldStop() { throw CancellationError() }
                let stepStart = Date()
                let indices = order[(stepInEpoch * configuration.batchSize)..<min(training.count, (stepInEpoch + 1) * configuration.batchSize)]
                let (images, labels) = batcher.batch(training, indices: indices, augment: configuration.augmentation,
                                                     using: &generator)
                optimizer.learningRate = configuration.learningRate(step: globalStep, totalSteps: totalSteps,
                                                                    warmupSteps: warmupSteps)
                optimizer.zeroGradients()
                let loss = crossEntropy(logits: model(images), labels: labels, labelSmoothing: configuration.labelSmoothing)
                try checkFinite(loss: loss, step: globalStep)
                loss.backward()
                if let maxNorm = configuration.maxGradientNorm {
                    let norm = clipGradientNorm(model.parameters, maxNorm: maxNorm)
                    if !norm.isFinite { throw NonFiniteValueError(quantity: "gradient norm", step: globalStep, value: norm) }
                }
                optimizer.step()
                lossTotal += Double(loss.item)
                globalStep += 1
                let seconds = Date().timeIntervalSince(stepStart)
                progress(.step(epoch: epoch, stepInEpoch: stepInEpoch, stepsPerEpoch: stepsPerEpoch, loss: loss.item,
                               samplesPerSecond: Double(indices.count) / max(seconds, 1e-9)))
            }
            let meanLoss = Float(lossTotal / Double(stepsPerEpoch))
            report.epochLosses.append(meanLoss)
            if configuration.recalibratesBatchNorm { Self.recalibrateBatchNorm(of: model, on: training, batcher: batcher) }
            var accuracy: Double? = nil
            if let test { accuracy = Self.accuracy(of: model, on: test, batcher: batcher) }
            report.testAccuracy = accuracy
            if let accuracy { report.epochAccuracies.append(accuracy) }
            progress(.epochEnd(epoch: epoch, meanLoss: meanLoss, testAccuracy: accuracy,
                               seconds: Date().timeIntervalSince(epochStart)))
            if try !afterEpoch(epoch, accuracy, optimizer) { break }
        }
        report.trainingSeconds = Date().timeIntervalSince(runStart)
        return report
    }

    /// Batches of the training set ``recalibrateBatchNorm(of:on:batcher:)`` averages over.
    public static let recalibrationBatches = 16
    public static let recalibrationBatchSize = 128

    /// Sets every BatchNorm's running statistics to the exact average of its batch
    /// statistics over the first ``recalibrationBatches`` batches of `training` (no
    /// augmentation, no gradients), the weights as they are now ("precise BN", Wu &
    /// Johnson 2021). The running averages of training lag behind weights that still change,
    /// and a run of a few dozen steps (a small dataset, a short schedule) leaves them far
    /// off: inference mode, validation and the exported model then see the wrong statistics.
    public static func recalibrateBatchNorm(of model: some ImageClassifier, on training: ImageDataset, batcher: ImageBatcher) {
        let norms = model.allModules().compactMap { $0 as? BatchNorm }
        guard !norms.isEmpty, training.count > 0 else { return }
        let momenta = norms.map(\.momentum)
        model.setTrainingMode(true)
        var generator = SeededGenerator(seed: 0)
        withoutGradients {
            for batch in 0..<recalibrationBatches {
                let start = batch * recalibrationBatchSize
                guard start < training.count else { break }
                // The k-th batch weighs 1/(k+1): the running value is the plain mean of the batches.
                for norm in norms { norm.momentum = 1 / Float(batch + 1) }
                let indices = Array(start..<min(training.count, start + recalibrationBatchSize))
                _ = model(batcher.batch(training, indices: indices[...], augment: false, using: &generator).images)
            }
        }
        for (norm, momentum) in zip(norms, momenta) { norm.momentum = momentum }
    }

    /// Fraction of `dataset` classified correctly, without recording gradients: in inference
    /// mode (BatchNorm running statistics), or with `batchStatistics` on each batch's own
    /// statistics (what a short schedule needs: its running averages lag far behind).
    public static func accuracy(of model: some ImageClassifier, on dataset: ImageDataset,
                                batcher: ImageBatcher = ImageBatcher(), batchSize: Int = 500, batchStatistics: Bool = false) -> Double {
        model.setTrainingMode(batchStatistics)
        defer { model.setTrainingMode(true) }
        var generator = SeededGenerator(seed: 0)
        var correct = 0
        let indices = Array(0..<dataset.count)
        withoutGradients {
            for start in stride(from: 0, to: dataset.count, by: batchSize) {
                let slice = indices[start..<min(dataset.count, start + batchSize)]
                let (images, labels) = batcher.batch(dataset, indices: slice, augment: false, using: &generator)
                let logits = model(images)
                let classes = logits.shape[1]
                for row in 0..<labels.count {
                    var best = 0
                    for c in 1..<classes where logits.storage[row * classes + c] > logits.storage[row * classes + best] { best = c }
                    if best == labels[row] { correct += 1 }
                }
            }
        }
        return Double(correct) / Double(max(1, dataset.count))
    }
}

/// Fisher–Yates shuffle drawing only through `uniformIndex(below:)`, so a seed gives the same order
/// on every platform.
func shuffle(_ values: inout [Int], using generator: inout some RandomNumberGenerator) {
    guard values.count > 1 else { return }
    for index in stride(from: values.count - 1, to: 0, by: -1) {
        let other = generator.uniformIndex(below: index + 1)
        values.swapAt(index, other)
    }
}
