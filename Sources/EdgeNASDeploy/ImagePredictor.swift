import EdgeNASData
import EdgeNASONNX
import EdgeNASRuntime
import Foundation

/// Why an exported model cannot classify images.
public enum PredictionError: Error, Equatable, CustomStringConvertible {
    /// The model's metadata lacks the preprocessing record or holds a broken one.
    case noPreprocessing(path: String, reason: String)
    /// The model's output is not [batch, classes].
    case unexpectedOutput(path: String, shape: [Int])

    public var description: String {
        switch self {
        case let .noPreprocessing(path, reason):
            return "\(path): \(reason); export the model with `edgenas export ARCH --weights CHECKPOINT`, which records how "
                + "to prepare an image (metadata \(InputPreprocessing.metadataKey))"
        case let .unexpectedOutput(path, shape):
            return "\(path): output shape \(shape), expected [batch, classes]"
        }
    }
}

/// One image's most likely classes.
public struct Prediction: Sendable, Equatable {
    public struct Ranked: Sendable, Equatable {
        public var classIndex: Int
        /// The class name from the model's metadata, or nil when the training data named none.
        public var className: String?
        /// Softmax of the logits.
        public var probability: Double
    }

    public var top: [Ranked]
    public var logits: [Float]
}

/// Runs an exported model on image files with exactly the preprocessing its metadata records
/// (``InputPreprocessing``): what a board must reproduce.
public final class ImagePredictor {
    public let preprocessing: InputPreprocessing
    private let session: InferenceSession
    private let path: String

    /// - Throws: ``PredictionError``, `ONNXExportError` for an unreadable model, `ONNXRuntimeError`.
    public init(modelAt url: URL, threads: Int = 1) throws {
        path = url.path
        let model = try Onnx_ModelProto(contentsOf: url)
        guard let json = model.metadata[InputPreprocessing.metadataKey] else {
            throw PredictionError.noPreprocessing(path: path, reason: "the model's metadata has no \(InputPreprocessing.metadataKey) entry")
        }
        do {
            preprocessing = try JSONDecoder().decode(InputPreprocessing.self, from: Data(json.utf8))
        } catch {
            throw PredictionError.noPreprocessing(path: path, reason: "its \(InputPreprocessing.metadataKey) entry is not valid: \(error)")
        }
        session = try InferenceSession(modelData: try model.serializedModelData(),
                                       options: .init(intraOpThreads: threads, interOpThreads: 1))
    }

    /// The input values of one image file, as the model expects them.
    public func inputValues(imageAt url: URL) throws -> [Float] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.unreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        return preprocessing.inputValues(try ImageCodec.decode(data, channels: preprocessing.channels, path: url.path))
    }

    /// The `top` most likely classes of each image, in the order given.
    public func predict(imagesAt urls: [URL], top: Int) throws -> [Prediction] {
        try urls.map { url in try predict(inputValues: try inputValues(imageAt: url), top: top) }
    }

    /// The `top` most likely classes of one preprocessed input.
    public func predict(inputValues values: [Float], top: Int) throws -> Prediction {
        let shape = [1, preprocessing.channels, preprocessing.height, preprocessing.width]
        let output = try session.run(inputs: [(name: session.inputNames[0], shape: shape, values: values)])[0]
        guard output.shape.count == 2, output.shape[0] == 1 else { throw PredictionError.unexpectedOutput(path: path, shape: output.shape) }
        let logits = output.values
        let largest = logits.max() ?? 0
        let exponentials = logits.map { exp(Double($0 - largest)) }
        let total = exponentials.reduce(0, +)
        let ranked = logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }.prefix(max(1, top)).map { index in
            Prediction.Ranked(classIndex: index, className: preprocessing.classNames.flatMap { index < $0.count ? $0[index] : nil },
                              probability: exponentials[index] / total)
        }
        return Prediction(top: Array(ranked), logits: logits)
    }
}
