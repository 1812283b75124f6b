import EdgeNASCore
import EdgeNASData
import EdgeNASTensor
import Foundation

/// What a checkpoint was trained on and how its inputs are prepared, written next to it as
/// `CHECKPOINT.json`: `export` copies the preprocessing into the model's metadata, so the
/// exported model says how to prepare an image for it.
public struct TrainingRecord: Codable, Equatable, Sendable {
    public static let format = "edgenas.training/1"

    public var architectureID: String
    /// The dataset as given (`--data`).
    public var data: String
    public var epochs: Int
    public var preprocessing: InputPreprocessing
    /// Accuracy on the validation split held out of the training set, after each epoch.
    public var validationAccuracies: [Double]
    /// Accuracy on the dataset's test split, when it has one.
    public var testAccuracy: Double?

    public init(architectureID: String, data: String, epochs: Int, preprocessing: InputPreprocessing,
                validationAccuracies: [Double] = [], testAccuracy: Double? = nil) {
        self.architectureID = architectureID
        self.data = data
        self.epochs = epochs
        self.preprocessing = preprocessing
        self.validationAccuracies = validationAccuracies
        self.testAccuracy = testAccuracy
    }

    /// Where the record of the checkpoint at `checkpoint` lives.
    public static func url(forCheckpoint checkpoint: URL) -> URL {
        checkpoint.deletingLastPathComponent().appendingPathComponent(checkpoint.lastPathComponent + ".json")
    }

    /// The record next to `checkpoint`, or nil when there is none (a checkpoint from before
    /// records existed was trained on Fashion-MNIST with ``ImageNormalization/fashionMNIST``).
    public static func read(forCheckpoint checkpoint: URL) throws -> TrainingRecord? {
        let url = url(forCheckpoint: checkpoint)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let record = try JSONDecoder().decode(Stored.self, from: Data(contentsOf: url))
            guard record.format == format else {
                throw CheckpointError.corrupt(path: url.path, reason: "format \(record.format), expected \(format)")
            }
            return record.record
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.corrupt(path: url.path, reason: "not a training record: \(error)")
        }
    }

    /// Writes the record next to `checkpoint`, atomically.
    public func write(forCheckpoint checkpoint: URL) throws {
        let url = Self.url(forCheckpoint: checkpoint)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { try PartialFile.write(encoder.encode(Stored(format: Self.format, record: self)), to: url) } catch {
            throw CheckpointError.writeFailed(path: url.path, reason: "\(error)")
        }
    }

    /// The file's form: a format tag beside the record's fields.
    struct Stored: Codable {
        var format: String
        var record: TrainingRecord

        enum CodingKeys: String, CodingKey { case format }

        init(format: String, record: TrainingRecord) {
            self.format = format
            self.record = record
        }

        init(from decoder: Decoder) throws {
            format = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .format)
            record = try TrainingRecord(from: decoder)
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(format, forKey: .format)
            try record.encode(to: encoder)
        }
    }

    enum CodingKeys: String, CodingKey {
        case data, epochs, preprocessing
        case architectureID = "architecture_id"
        case validationAccuracies = "validation_accuracies"
        case testAccuracy = "test_accuracy"
    }
}
