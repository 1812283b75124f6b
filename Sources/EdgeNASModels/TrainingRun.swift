import EdgeNASCore
import EdgeNASTensor
import Foundation

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
        /// 0-based epoch whose weights are in the checkpoint.
        public var bestEpoch: Int?

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
            case bestEpoch = "best_epoch"
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
