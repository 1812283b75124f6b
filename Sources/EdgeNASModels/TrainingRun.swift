import EdgeNASCore
import EdgeNASData
import EdgeNASTensor
import Foundation

/// The data of one training run: the training part, a validation split held out of it, the
/// test part, and the preprocessing the trained network expects (normalised by the training
/// part's per-channel statistics).
public struct TrainingData {
    public let training: ImageDataset
    public let validation: ImageDataset
    public let test: ImageDataset?
    public let preprocessing: InputPreprocessing

    /// - Parameters:
    ///   - whole: the training split, already at `input`'s shape; `validationShare` of it is held out.
    ///   - limit: keep only the first `limit` training images (quick checks).
    public init(whole: ImageDataset, test: ImageDataset?, input: ImageShape, validationShare: Double, limit: Int? = nil) {
        var (training, validation) = whole.split(validationShare: validationShare)
        if let limit { training = training.prefix(limit) }
        self.training = training
        self.validation = validation
        self.test = test
        preprocessing = InputPreprocessing(channels: input.channels, height: input.height, width: input.width,
                                           normalization: ImageNormalization(of: training), classNames: whole.classNames)
    }

    /// Batches normalised as the preprocessing says.
    public var batcher: ImageBatcher { ImageBatcher(normalization: preprocessing.normalization) }

    /// The validation split, or nil when none was held out.
    public var validationSet: ImageDataset? { validation.count > 0 ? validation : nil }
}

/// Why a ``TrainingRun`` did not start or did not finish.
public enum TrainingRunError: Error, Equatable {
    /// Not resuming, but an interrupted run's state is there: starting over would lose it.
    case interruptedRunExists(epochsDone: Int)
    /// Resuming, but there is no interrupted run.
    case nothingToResume
    /// Resuming with other settings than the run had; each entry "name: was A, now B".
    case settingsChanged([String])
    /// Stopped on request; the finished epochs are kept.
    case stopped(epochsDone: Int)
}

/// What a ``TrainingRun`` reports while it runs, besides the trainer's own events.
public enum TrainingRunEvent: Sendable {
    case resumed(epochsDone: Int)
    /// Validation accuracy has not improved for `patience` epochs since `bestEpoch` (0-based).
    case stoppedEarly(patience: Int, bestEpoch: Int)
}

/// The files of one `train` run, all beside its checkpoint `OUT`:
///
/// - `OUT`: the weights of the best validation epoch so far (the last epoch's without a
///   validation split), rewritten atomically when it improves;
/// - `OUT.json`: the ``TrainingRecord``, written at the end;
/// - `OUT.svg`: the loss and validation-accuracy curve, rewritten each epoch;
/// - `OUT.resume` and `OUT.resume.json`: the last finished epoch's model and optimizer, and
///   the run's settings and history, rewritten atomically each epoch and removed when the
///   run ends, so a killed run resumes after its last finished epoch (`train --resume`).
public struct TrainingRun {
    public let checkpoint: URL

    public init(checkpoint: URL) { self.checkpoint = checkpoint }

    public var stateURL: URL { sibling(".resume") }
    public var historyURL: URL { sibling(".resume.json") }
    public var curveURL: URL { sibling(".svg") }

    private func sibling(_ suffix: String) -> URL {
        checkpoint.deletingLastPathComponent().appendingPathComponent(checkpoint.lastPathComponent + suffix)
    }

    /// What a resumed run needs besides the tensors.
    public struct History: Codable, Equatable, Sendable {
        /// The options that shape the run, by name; a resume must match them.
        public var settings: [String: String]
        public var epochsDone: Int
        public var losses: [Double]
        public var validationAccuracies: [Double]

        /// 0-based epoch whose weights are in the checkpoint: the first with the best
        /// validation accuracy, or the last without a validation split.
        public var bestEpoch: Int? {
            guard let best = validationAccuracies.max() else { return epochsDone > 0 ? epochsDone - 1 : nil }
            return validationAccuracies.firstIndex(of: best)
        }

        public init(settings: [String: String]) {
            self.settings = settings
            epochsDone = 0
            losses = []
            validationAccuracies = []
        }

        /// Options that differ from `settings`, as "name: was A, now B".
        public func conflicts(with settings: [String: String]) -> [String] {
            Set(self.settings.keys).union(settings.keys).sorted().compactMap { key in
                let old = self.settings[key] ?? "-", new = settings[key] ?? "-"
                return old == new ? nil : "\(key): was \(old), now \(new)"
            }
        }

        enum CodingKeys: String, CodingKey {
            case settings, losses
            case epochsDone = "epochs_done"
            case validationAccuracies = "validation_accuracies"
        }
    }

    /// The interrupted run's history, or nil when there is none to resume.
    public func storedHistory() throws -> History? {
        guard FileManager.default.fileExists(atPath: historyURL.path), FileManager.default.fileExists(atPath: stateURL.path) else { return nil }
        do { return try JSONDecoder().decode(History.self, from: Data(contentsOf: historyURL)) } catch {
            throw CheckpointError.corrupt(path: historyURL.path, reason: "not a training history: \(error)")
        }
    }

    /// Restores the last finished epoch's model and optimizer.
    public func restoreState(model: any Module, optimizer: AdamW) throws {
        let entries = try Checkpoint.load(from: stateURL)
        let modelEntries = entries.filter { $0.name.hasPrefix("model.") }
            .map { Checkpoint.Entry(name: String($0.name.dropFirst("model.".count)), shape: $0.shape, values: $0.values) }
        try Checkpoint.restore(model, entries: modelEntries, path: stateURL.path)
        guard optimizer.restore(entries) else {
            throw CheckpointError.corrupt(path: stateURL.path, reason: "its optimizer state does not fit this model")
        }
    }

    /// Saves one finished epoch: the resumable state first, then its history (a kill between
    /// the two resumes from the epoch before, which is still consistent).
    public func saveEpoch(model: any Module, optimizer: AdamW, history: History) throws {
        try Checkpoint.save(model.namedState().map { ("model.\($0.name)", $0.tensor) } + optimizer.namedState(), to: stateURL)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try PartialFile.write(encoder.encode(history), to: historyURL) } catch {
            throw CheckpointError.writeFailed(path: historyURL.path, reason: "\(error)")
        }
    }

    /// Trains `model` on `data` with `trainer`, keeping the files of the run up to date after
    /// every epoch; at the end scores the test split once with the best epoch's weights,
    /// writes the ``TrainingRecord`` and removes the resumable state.
    ///
    /// - Parameters:
    ///   - settings: the options that shape the run, by name; a resume must give the same ones.
    ///   - resume: continue an interrupted run; without it, an interrupted run's state is refused.
    ///   - patience: stop when validation accuracy has not improved for this many epochs.
    /// - Returns: the history and the test accuracy.
    /// - Throws: ``TrainingRunError``; `CheckpointError` when a file cannot be read or written;
    ///   `NonFiniteValueError` when training diverges.
    public func train(_ model: some ImageClassifier, trainer: ClassifierTrainer, data: TrainingData,
                      architectureID: String, dataPath: String, settings: [String: String], resume: Bool, patience: Int?,
                      shouldStop: () -> Bool = { false }, progress: (TrainingEvent) -> Void = { _ in },
                      events: (TrainingRunEvent) -> Void = { _ in }) throws -> (history: History, testAccuracy: Double?, seconds: Double) {
        let optimizer = trainer.makeOptimizer(for: model)
        var history = try startingHistory(settings: settings, resume: resume, model: model, optimizer: optimizer)
        if history.epochsDone > 0 { events(.resumed(epochsDone: history.epochsDone)) }
        let epochs = trainer.configuration.epochs
        var lastLoss: Float = 0
        let report: TrainingReport
        do {
            report = try trainer.train(model, on: data.training, test: data.validationSet, resumingAfter: history.epochsDone,
                                       optimizer: optimizer, shouldStop: shouldStop, progress: { event in
                if case let .epochEnd(_, meanLoss, _, _) = event { lastLoss = meanLoss }
                progress(event)
            }, afterEpoch: { epoch, accuracy, optimizer in
                history.epochsDone = epoch + 1
                history.losses.append(Double(lastLoss))
                if let accuracy { history.validationAccuracies.append(accuracy) }
                if history.bestEpoch == epoch { try Checkpoint.save(model.namedState(), to: checkpoint) }
                try saveEpoch(model: model, optimizer: optimizer, history: history)
                let curve = TrainingCurvePlot.svg(losses: history.losses, accuracies: history.validationAccuracies,
                                                  title: "\(architectureID) on \(URL(fileURLWithPath: dataPath).lastPathComponent)")
                do { try PartialFile.write(Data(curve.utf8), to: curveURL) } catch {
                    throw CheckpointError.writeFailed(path: curveURL.path, reason: "\(error)")
                }
                if let patience, let best = history.bestEpoch, epoch - best >= patience, epoch + 1 < epochs {
                    events(.stoppedEarly(patience: patience, bestEpoch: best))
                    return false
                }
                return true
            })
        } catch is CancellationError {
            throw TrainingRunError.stopped(epochsDone: history.epochsDone)
        }
        // The test split is scored once, with the best epoch's weights.
        if let best = history.bestEpoch, best + 1 != history.epochsDone { try Checkpoint.restore(model, from: checkpoint) }
        let testAccuracy = data.test.map { ClassifierTrainer.accuracy(of: model, on: $0, batcher: trainer.batcher) }
        try TrainingRecord(architectureID: architectureID, data: dataPath, epochs: history.epochsDone, preprocessing: data.preprocessing,
                           validationAccuracies: history.validationAccuracies, testAccuracy: testAccuracy)
            .write(forCheckpoint: checkpoint)
        removeState()
        return (history, testAccuracy, report.trainingSeconds)
    }

    /// A fresh history, or when resuming the interrupted run's, its model and optimizer restored.
    private func startingHistory(settings: [String: String], resume: Bool, model: some ImageClassifier,
                                 optimizer: AdamW) throws -> History {
        let stored = try storedHistory()
        guard resume else {
            if let stored { throw TrainingRunError.interruptedRunExists(epochsDone: stored.epochsDone) }
            return History(settings: settings)
        }
        guard let stored else { throw TrainingRunError.nothingToResume }
        let conflicts = stored.conflicts(with: settings)
        guard conflicts.isEmpty else { throw TrainingRunError.settingsChanged(conflicts) }
        try restoreState(model: model, optimizer: optimizer)
        return stored
    }

    /// Removes the resumable state of a finished run.
    public func removeState() {
        try? FileManager.default.removeItem(at: stateURL)
        try? FileManager.default.removeItem(at: historyURL)
    }
}

/// The loss and validation-accuracy curve of a run as a small SVG chart.
public enum TrainingCurvePlot {
    public static func svg(losses: [Double], accuracies: [Double], title: String) -> String {
        let (width, height, margin) = (560.0, 300.0, 48.0)
        let epochs = max(losses.count, accuracies.count)
        func x(_ epoch: Int) -> Double { margin + (width - 2 * margin) * (epochs <= 1 ? 0.5 : Double(epoch) / Double(epochs - 1)) }
        let maxLoss = max(losses.max() ?? 1, 1e-9)
        func yLoss(_ value: Double) -> Double { height - margin - (height - 2 * margin) * value / maxLoss }
        func yAccuracy(_ value: Double) -> Double { height - margin - (height - 2 * margin) * value }
        func line(_ values: [Double], _ y: (Double) -> Double, colour: String) -> String {
            let points = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
            let dots = values.enumerated().map { String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>", x($0.offset), y($0.element), colour) }
            return "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>" + dots.joined()
        }
        let escaped = title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        var svg = String(format: "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">", width, height)
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        svg += String(format: "<text x=\"%.0f\" y=\"20\">%@</text>", margin, escaped)
        svg += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>", margin, height - margin, width - margin, height - margin)
        svg += String(format: "<text x=\"%.0f\" y=\"%.0f\">epoch 1…%d</text>", width / 2 - 30, height - 16, epochs)
        svg += String(format: "<text x=\"%.0f\" y=\"%.0f\" fill=\"#c0392b\">mean loss (max %.3f)</text>", margin, margin - 12, maxLoss)
        svg += String(format: "<text x=\"%.0f\" y=\"%.0f\" fill=\"#2471a3\">validation accuracy (0–100%%)</text>", width / 2, margin - 12)
        svg += line(losses, yLoss, colour: "#c0392b") + line(accuracies, yAccuracy, colour: "#2471a3")
        return svg + "</svg>\n"
    }
}
