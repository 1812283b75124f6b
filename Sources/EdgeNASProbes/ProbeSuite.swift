import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASTensor
import Foundation

/// Why probing could not start or a candidate could not be probed.
public enum ProbeError: Error, CustomStringConvertible, Equatable {
    case badImages(String)
    case badRequest(String)
    case unsupportedArchitecture(String)

    public var description: String {
        switch self {
        case let .badImages(message), let .badRequest(message), let .unsupportedArchitecture(message): return message
        }
    }
}

/// One candidate's probe outcome.
public struct ProbeResult: Sendable, Codable, Equatable {
    /// Raw score per probe that finished (errors lower-is-better, accuracies higher-is-better,
    /// see ``ProbeKind/lowerIsBetter``); diverged probes have no entry.
    public var rawScores: [ProbeKind: Double]
    /// Probes whose training stopped being finite (they score worst in aggregation).
    public var diverged: Set<ProbeKind>
    /// Wall time of all six probes.
    public var seconds: Double
    /// The training samples per probe and epochs actually used.
    public var dataVolume: Int
    public var epochs: Int

    public init(rawScores: [ProbeKind: Double], diverged: Set<ProbeKind>, seconds: Double, dataVolume: Int, epochs: Int) {
        self.rawScores = rawScores
        self.diverged = diverged
        self.seconds = seconds
        self.dataVolume = dataVolume
        self.epochs = epochs
    }
}

/// The six probes with their data, generated once from a seed and shared by every candidate
/// so that scores are comparable.
public final class ProbeSuite: @unchecked Sendable {
    public let configuration: ProbeConfiguration
    public let seed: UInt64
    private let training: [ProbeKind: ProbeSamples]
    private let evaluation: [ProbeKind: ProbeSamples]

    /// Generates `configuration.maximumDataVolume` training samples and
    /// `configuration.evaluationCount` held-out samples for each probe.
    ///
    /// - Parameter images: the real images of LGJ, OIP, RM and VM (greyscale, resampled to the
    ///   probe resolution); nil loads the Fashion-MNIST training split from its default directory.
    /// - Throws: ``ProbeError/badImages(_:)`` when the images cannot be loaded or are too few,
    ///   ``ProbeError/badRequest(_:)`` for inconsistent constants.
    public init(configuration: ProbeConfiguration = .init(), images: ImageDataset?, seed: UInt64) throws {
        try Self.check(configuration)
        var dataset: ImageDataset
        if let images {
            dataset = images
        } else {
            do { dataset = try MNISTFormat.load(split: .train) } catch {
                throw ProbeError.badImages("cannot load the default probe images: \(error); install Fashion-MNIST " +
                                           "there or pass another MNIST-format directory")
            }
        }
        // The probes draw grey images into every channel; a colour set is taken as grey (luma).
        if dataset.channels != 1 { dataset = dataset.converted(channels: 1, height: dataset.height, width: dataset.width) }
        let classes = min(configuration.memoryClasses, dataset.classCount)
        guard classes >= 2 else {
            throw ProbeError.badImages("the probe image set has \(dataset.classCount) class(es); visual memory needs at least 2")
        }
        let pool = try RealImagePool(dataset: dataset, resolution: configuration.resolution,
                                     evaluationShare: max(1024, 4 * configuration.evaluationCount), seed: seed)
        for label in 0..<classes {
            guard pool.evaluationIndices.contains(where: { pool.labels[$0] == label }),
                  pool.trainingIndices.contains(where: { pool.labels[$0] == label }) else {
                throw ProbeError.badImages("class \(label) of the probe images has too few examples to split into " +
                                           "training and held-out images; use a larger or balanced image set")
            }
        }
        let generator = ProbeDataGenerator(configuration: configuration, pool: pool)
        var training: [ProbeKind: ProbeSamples] = [:], evaluation: [ProbeKind: ProbeSamples] = [:]
        for (index, kind) in ProbeKind.allCases.enumerated() {
            let base = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0x1000_0001
            training[kind] = generator.samples(kind, count: configuration.maximumDataVolume, heldOut: false, seed: base &+ 1)
            evaluation[kind] = generator.samples(kind, count: configuration.evaluationCount, heldOut: true, seed: base &+ 2)
        }
        self.configuration = configuration
        self.seed = seed
        self.training = training
        self.evaluation = evaluation
    }

    private static func check(_ configuration: ProbeConfiguration) throws {
        let c = configuration
        var problems: [String] = []
        if c.resolution < 8 { problems.append("resolution \(c.resolution) < 8") }
        if c.jigsawGrid < 2 || c.resolution % c.jigsawGrid != 0 { problems.append("jigsaw grid \(c.jigsawGrid) must be ≥ 2 and divide \(c.resolution)") }
        if c.occlusionMinimumSize < 1 || c.occlusionMaximumSize > c.resolution || c.occlusionMinimumSize > c.occlusionMaximumSize {
            problems.append("occlusion sizes \(c.occlusionMinimumSize)…\(c.occlusionMaximumSize) must lie in 1…\(c.resolution)")
        }
        if c.inpaintingGrid < 1 || c.inpaintingGrid > c.occlusionMinimumSize { problems.append("inpainting grid \(c.inpaintingGrid) must be 1…\(c.occlusionMinimumSize)") }
        if 2 * c.rotationCropSize > c.resolution { problems.append("two rotation crops of \(c.rotationCropSize) px do not fit in \(c.resolution) px") }
        if c.targetMaximumSize > c.resolution || c.distractorMaximumSize > c.resolution || c.targetMinimumSize > c.targetMaximumSize
            || c.distractorMinimumSize > c.distractorMaximumSize || c.distractorMinimumSize < 2 {
            problems.append("CSB object sizes must be ordered ranges within the image")
        }
        if c.batchSize < 2 { problems.append("batch size \(c.batchSize) < 2 (batch statistics need two samples)") }
        if c.evaluationCount < c.batchSize { problems.append("evaluation count \(c.evaluationCount) < batch size \(c.batchSize)") }
        if c.maximumDataVolume < c.batchSize { problems.append("maximum data volume \(c.maximumDataVolume) < batch size") }
        if c.memoryClasses < 2 { problems.append("visual memory needs at least 2 classes") }
        if !problems.isEmpty { throw ProbeError.badRequest("probe configuration: " + problems.joined(separator: "; ")) }
    }

    /// D rounded to whole batches and clamped to the generated data (at least one batch, and
    /// at least one example per visual-memory class).
    public func effectiveDataVolume(_ dataVolume: Int) -> Int {
        let batch = configuration.batchSize
        let rounded = max(batch, (dataVolume + batch / 2) / batch * batch)
        return min(rounded, configuration.maximumDataVolume / batch * batch)
    }

    /// Trains a fresh copy of `architecture` (3 input channels) with a one-Linear head on each
    /// probe for `epochs` passes over `dataVolume` samples and scores it on the held-out sets.
    ///
    /// A probe whose loss or predictions stop being finite is recorded in `diverged`.
    /// - Throws: ``ProbeError/unsupportedArchitecture(_:)`` for an input size other than the
    ///   probe resolution;
    ///   ``ProbeError/badRequest(_:)`` for non-positive D or E.
    public func evaluate(_ architecture: Architecture, dataVolume: Int, epochs: Int, seed: UInt64) throws -> ProbeResult {
        let trajectory = try evaluateTrajectory(architecture, dataVolume: dataVolume, epochs: epochs,
                                                scoredEpochs: [epochs], seed: seed)
        return trajectory[epochs]!
    }

    /// Like ``evaluate(_:dataVolume:epochs:seed:)``, scoring after each epoch in `scoredEpochs`
    /// too: with a constant learning rate, the model after epoch e of this run is the model an
    /// e-epoch run would train, so one run gives several epoch anchors.
    func evaluateTrajectory(_ architecture: Architecture, dataVolume: Int, epochs: Int, scoredEpochs: Set<Int>,
                            seed: UInt64) throws -> [Int: ProbeResult] {
        guard dataVolume > 0, epochs > 0 else {
            throw ProbeError.badRequest("probe data volume and epochs must be positive, got D = \(dataVolume), E = \(epochs)")
        }
        guard architecture.input.height == configuration.resolution, architecture.input.width == configuration.resolution else {
            throw ProbeError.unsupportedArchitecture(
                "architecture \(architecture.id) takes \(architecture.input.height)×\(architecture.input.width) images, " +
                "the probes are \(configuration.resolution)×\(configuration.resolution); score candidates of one resolution together")
        }
        let volume = effectiveDataVolume(dataVolume)
        let epochsToScore = scoredEpochs.filter { $0 >= 1 && $0 <= epochs }.union([epochs])
        var perEpoch: [Int: [ProbeKind: Double]] = [:]
        var secondsAtEpoch: [Int: Double] = [:]
        var diverged: Set<ProbeKind> = []
        for (index, kind) in ProbeKind.allCases.enumerated() {
            let probeSeed = seed &* 0xD1B5_4A32_D192_ED03 &+ UInt64(index + 1) &* 0x94D0_49BB_1331_11EB
            let run = try train(kind, architecture: architecture, dataVolume: volume, epochs: epochs,
                                scoredEpochs: epochsToScore, seed: probeSeed)
            for epoch in epochsToScore { secondsAtEpoch[epoch, default: 0] += run.seconds(atEpoch: epoch) }
            if let scores = run.scores {
                for (epoch, score) in scores { perEpoch[epoch, default: [:]][kind] = score }
            } else {
                diverged.insert(kind)
            }
        }
        var results: [Int: ProbeResult] = [:]
        for epoch in epochsToScore {
            results[epoch] = ProbeResult(rawScores: perEpoch[epoch] ?? [:], diverged: diverged,
                                         seconds: secondsAtEpoch[epoch]!, dataVolume: volume, epochs: epoch)
        }
        return results
    }

    /// One probe's training run: scores by epoch (nil when it diverged) and where the time went,
    /// so that each epoch anchor is charged what an E-epoch run alone would cost.
    private struct ProbeRun {
        var scores: [Int: Double]?
        var setupSeconds = 0.0
        /// Training seconds after each epoch, cumulative.
        var trainingSecondsThroughEpoch: [Double] = []
        var scoringSeconds: [Double] = []

        func seconds(atEpoch epoch: Int) -> Double {
            let training = trainingSecondsThroughEpoch.isEmpty ? 0
                : trainingSecondsThroughEpoch[min(epoch, trainingSecondsThroughEpoch.count) - 1]
            let scoring = scoringSeconds.isEmpty ? 0 : scoringSeconds.reduce(0, +) / Double(scoringSeconds.count)
            return setupSeconds + training + scoring
        }
    }

    /// Trains one probe; the raw score after each scored epoch, or nil when training diverged.
    private func train(_ kind: ProbeKind, architecture: Architecture, dataVolume: Int, epochs: Int,
                       scoredEpochs: Set<Int>, seed: UInt64) throws -> ProbeRun {
        var run = ProbeRun(scores: nil)
        var clock = Date()
        func lap() -> Double {
            let now = Date()
            defer { clock = now }
            return now.timeIntervalSince(clock)
        }
        var trainingSeconds = 0.0
        let network = NetworkBuilder.network(for: architecture, inputChannels: 3, seed: seed)
        var generator = SeededGenerator(seed: seed ^ 0x5851_F42D_4C95_7F2D)
        let head = Linear(inFeatures: network.featureCount, outFeatures: configuration.outputCount(kind), using: &generator)
        let data = training[kind]!
        if !data.regressionTargets.isEmpty, let bias = head.bias {
            // Regression heads start at the training targets' mean, so that a few dozen steps
            // go into the signal rather than into learning the offset.
            let outputs = data.targetsPerSample
            for output in 0..<outputs {
                var sum = 0.0
                for sample in 0..<dataVolume { sum += Double(data.regressionTargets[sample * outputs + output]) }
                bias.storage[output] = Float(sum / Double(dataVolume))
            }
        }
        // The architecture's own classifier is not trained: it gets no gradient.
        let parameters = network.namedParameters().filter { !$0.name.hasPrefix("classifier.") }.map(\.tensor) + head.parameters
        let optimizer = AdamW(parameters: parameters, learningRate: configuration.learningRate,
                              weightDecay: configuration.weightDecay)
        let batch = configuration.batchSize
        var scores: [Int: Double] = [:]
        network.setTrainingMode(true)
        run.setupSeconds = lap()
        for epoch in 1...epochs {
            var order = Array(0..<dataVolume)
            shuffleIndices(&order, using: &generator)
            for start in stride(from: 0, to: dataVolume - 1, by: batch) {
                let (images, classes, regression) = data.batch(order[start..<min(dataVolume, start + batch)])
                optimizer.zeroGradients()
                let loss = self.loss(kind, outputs: head(network.features(images)), classes: classes, regression: regression)
                let norm: Float
                if loss.item.isFinite {
                    loss.backward()
                    norm = clipGradientNorm(parameters, maxNorm: configuration.maximumGradientNorm)
                } else {
                    norm = .nan
                }
                guard norm.isFinite else {
                    trainingSeconds += lap()
                    run.trainingSecondsThroughEpoch.append(trainingSeconds)
                    return run
                }
                optimizer.step()
            }
            trainingSeconds += lap()
            run.trainingSecondsThroughEpoch.append(trainingSeconds)
            if scoredEpochs.contains(epoch) {
                let score = self.score(kind, network: network, head: head, dataVolume: dataVolume)
                run.scoringSeconds.append(lap())
                guard let score else { return run }
                scores[epoch] = score
            }
        }
        run.scores = scores
        return run
    }

    private func loss(_ kind: ProbeKind, outputs: Tensor, classes labels: [Int], regression: Tensor?) -> Tensor {
        switch configuration.loss(kind) {
        case let .crossEntropy(classes):
            return crossEntropy(logits: outputs.reshaped([outputs.count / classes, classes]), labels: labels)
        case .meanSquaredError:
            return meanSquaredError(outputs, regression!)
        }
    }

    /// Head outputs on `samples` in batches, with batch statistics (BatchNorm in training
    /// mode): after a few dozen steps the running statistics are far from the batch ones.
    private func predictions(_ samples: ProbeSamples, count: Int, network: any FeatureClassifier, head: Linear) -> [Float] {
        var outputs: [Float] = []
        let batch = 2 * configuration.batchSize
        withoutGradients {
            var start = 0
            while start < count {
                // A last batch of one would have zero batch variance: fold it into the previous one.
                var end = min(count, start + batch)
                if count - end == 1 { end = count }
                let (images, _, _) = samples.batch(Array(start..<end)[...])
                outputs += head(network.features(images)).storage
                start = end
            }
        }
        return outputs
    }

    /// The raw held-out score, or nil when a prediction is not finite.
    private func score(_ kind: ProbeKind, network: any FeatureClassifier, head: Linear, dataVolume: Int) -> Double? {
        let heldOut = evaluation[kind]!
        let outputs = predictions(heldOut, count: heldOut.count, network: network, head: head)
        guard outputs.allSatisfy(\.isFinite) else { return nil }
        let value: Double
        switch kind {
        case .lgj:
            value = ProbeScoring.jigsawDistance(logits: outputs, targets: heldOut.classTargets, scored: heldOut.scoredSlots,
                                                grid: configuration.jigsawGrid)
        case .oip:
            value = ProbeScoring.inpaintingError(predictions: outputs, targets: heldOut.regressionTargets,
                                                 outputs: heldOut.targetsPerSample,
                                                 standardDeviationWeight: configuration.inpaintingStandardDeviationWeight)
        case .rm: value = ProbeScoring.rotationError(predictions: outputs, targets: heldOut.regressionTargets)
        case .csb: value = ProbeScoring.accuracy(logits: outputs, labels: heldOut.classTargets)
        case .mf: value = ProbeScoring.motionError(predictions: outputs, targets: heldOut.regressionTargets)
        case .vm:
            let trainingSamples = training[kind]!
            let trainingOutputs = predictions(trainingSamples, count: dataVolume, network: network, head: head)
            guard trainingOutputs.allSatisfy(\.isFinite) else { return nil }
            value = ProbeScoring.memoryScore(
                testAccuracy: ProbeScoring.accuracy(logits: outputs, labels: heldOut.classTargets),
                trainingAccuracy: ProbeScoring.accuracy(logits: trainingOutputs, labels: Array(trainingSamples.classTargets.prefix(dataVolume))))
        }
        return value.isFinite ? value : nil
    }

    /// Held-out samples of one probe, for tests of determinism.
    func heldOutInputs(_ kind: ProbeKind) -> [Float] { evaluation[kind]!.inputs }
    func trainingInputs(_ kind: ProbeKind) -> [Float] { training[kind]!.inputs }
    func heldOutRegressionTargets(_ kind: ProbeKind) -> [Float] { evaluation[kind]!.regressionTargets }
}
