import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASTensor
import Foundation

/// The user's own task for the final stage: image classification on the training split,
/// with a validation split held out of it (the test split is never looked at).
///
/// The split is deterministic: a seeded permutation of the training images, the last
/// `validationShare` of it held out. Every candidate of a rung trains on the same first
/// `trainingSamples` images of the rest, in a complete short schedule: AdamW, linear warm-up
/// over `warmupShare` of the rung's steps, then cosine to 0 (a truncated long schedule would
/// judge candidates in the middle of their warm-up).
public final class ImageClassificationTask: TaskTrainer {
    public let trainingPool: ImageDataset
    public let validation: ImageDataset
    public var batchSize: Int
    public var learningRate: Float
    public var warmupShare: Double
    /// Training steps timed to measure a candidate's speed (after one untimed step).
    public var pilotSteps: Int

    public var trainingPoolSize: Int { trainingPool.count }
    /// Normalised with the training pool's per-channel mean and std, as `train` does.
    let batcher: ImageBatcher

    /// - Parameters:
    ///   - training: the dataset's training split.
    ///   - validationShare: share held out for validation (10 % by default).
    ///   - validationLimit: at most this many held-out images are scored per unit (the same
    ///     ones for every candidate, so comparisons are paired).
    /// - Throws: ``TaskError`` when the split leaves too few images on either side.
    public init(training: ImageDataset, validationShare: Double = 0.1, validationLimit: Int = 1024, batchSize: Int = 128,
                learningRate: Float = 2e-3, warmupShare: Double = 0.1, pilotSteps: Int = 2, seed: UInt64 = 0) throws {
        guard validationShare > 0, validationShare < 1 else {
            throw TaskError("validation share must be in (0, 1), got \(validationShare)")
        }
        var order = Array(0..<training.count)
        var generator = SeededGenerator(seed: seed &+ 0x5711_7000)
        for index in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(index, generator.uniformIndex(below: index + 1)) }
        let held = Int((Double(training.count) * validationShare).rounded())
        guard held >= 10, training.count - held >= batchSize else {
            throw TaskError("the training split has \(training.count) images: too few to hold out a validation split "
                            + "and still train on a batch of \(batchSize)")
        }
        trainingPool = training.subset(Array(order.prefix(training.count - held)))
        validation = training.subset(Array(order.suffix(held).prefix(validationLimit)))
        batcher = ImageBatcher(normalization: ImageNormalization(of: trainingPool))
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.warmupShare = warmupShare
        self.pilotSteps = pilotSteps
    }

    public func measureCost(_ architecture: Architecture) throws -> (perSampleEpoch: Double, fixed: Double) {
        let model = NetworkBuilder.network(for: architecture, seed: 0)
        let optimizer = AdamW(parameters: model.parameters, learningRate: learningRate, weightDecay: 0.05)
        var generator = SeededGenerator(seed: 1)
        let indices = Array(0..<min(batchSize, trainingPool.count))
        var seconds = 0.0
        for step in 0...pilotSteps {
            let start = ContinuousClock.now
            let (images, labels) = batcher.batch(trainingPool, indices: indices[...], augment: false, using: &generator)
            optimizer.zeroGradients()
            let loss = crossEntropy(logits: model(images), labels: labels, labelSmoothing: 0.1)
            loss.backward()
            optimizer.step()
            if step > 0 { seconds += (ContinuousClock.now - start).seconds }
        }
        let perSampleEpoch = seconds / Double(pilotSteps * indices.count)
        // Validation is a forward pass (about a third of a training pass) over the held-out images.
        return (perSampleEpoch, perSampleEpoch * Double(validation.count) / 3 + 0.02)
    }

    public func trainAndValidate(_ architecture: Architecture, fidelity: TaskFidelity, seed: UInt64,
                                 shouldStop: () -> Bool) throws -> (validationAccuracy: Double, diverged: Bool) {
        let model = NetworkBuilder.network(for: architecture, seed: seed)
        let samples = min(fidelity.trainingSamples, trainingPool.count)
        let training = trainingPool.prefix(samples)
        var configuration = TrainingConfiguration(
            epochs: fidelity.epochs, batchSize: batchSize, learningRate: learningRate, weightDecay: 0.05,
            warmupEpochs: warmupShare * Double(fidelity.epochs), labelSmoothing: 0.1, augmentation: false, seed: seed)
        // Validated on batch statistics below; recalibrating would only cost time the cost model does not plan for.
        configuration.recalibratesBatchNorm = false
        do {
            _ = try ClassifierTrainer(configuration: configuration, batcher: batcher).train(model, on: training, shouldStop: shouldStop)
        } catch is NonFiniteValueError {
            return (0, true)
        }
        // After a rung of a few dozen steps BatchNorm's running averages are still far from the
        // batch statistics (inference mode then puts MBConvs near chance); 512-image batches
        // estimate them well.
        return (ClassifierTrainer.accuracy(of: model, on: validation, batcher: batcher, batchSize: 512, batchStatistics: true), false)
    }
}

/// Why the task for the final stage cannot be set up.
public struct TaskError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
