import Foundation

/// Per-channel normalisation of pixels scaled to [0, 1]: (x/255 − mean[c]) / std[c].
public struct ImageNormalization: Sendable, Codable, Equatable {
    public var mean: [Double]
    public var standardDeviation: [Double]

    public init(mean: [Double], standardDeviation: [Double]) {
        precondition(mean.count == standardDeviation.count && !mean.isEmpty, "ImageNormalization: one mean and one std per channel")
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Fashion-MNIST's training statistics, (x/255 − 0.2860)/0.3530: the reference recipe's,
    /// and what a network trained without a recorded normalisation expects.
    public static let fashionMNIST = ImageNormalization(mean: [0.2860], standardDeviation: [0.3530])

    /// The statistics of `dataset` (``ImageDataset/channelStatistics()``); a constant channel
    /// gets std 1 so that it is only centred.
    public init(of dataset: ImageDataset) {
        let statistics = dataset.channelStatistics()
        self.init(mean: statistics.map(\.mean), standardDeviation: statistics.map { $0.standardDeviation > 1e-6 ? $0.standardDeviation : 1 })
    }

    /// The mean and std of `channel`; one value applies to every channel.
    public func channel(_ channel: Int) -> (mean: Double, standardDeviation: Double) {
        let index = mean.count == 1 ? 0 : channel
        return (mean[index], standardDeviation[index])
    }

    enum CodingKeys: String, CodingKey {
        case mean
        case standardDeviation = "std"
    }
}

/// How an image becomes a network's input, written into the checkpoint's record and the
/// exported model's metadata so that a board can reproduce it exactly:
/// decode, convert to `channels` (grey by ITU-R 601 luma), resize to `height × width` with
/// ``ImageResizing`` (Pillow's BILINEAR), scale to [0, 1], normalise per channel, lay out as
/// NCHW float32.
public struct InputPreprocessing: Sendable, Codable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var normalization: ImageNormalization
    /// Names of the output classes in logit order, when the training data named them.
    public var classNames: [String]?

    public init(channels: Int, height: Int, width: Int, normalization: ImageNormalization, classNames: [String]? = nil) {
        self.channels = channels
        self.height = height
        self.width = width
        self.normalization = normalization
        self.classNames = classNames
    }

    /// The key of the exported model's metadata entry that holds this record as JSON.
    public static let metadataKey = "edgenas.preprocessing"
    /// The resize method, named for those who reproduce it.
    public static let resizeMethod = "bilinear, as Pillow Image.resize(size, Image.BILINEAR) (antialiased when shrinking)"

    /// The channel order in words.
    public var channelOrder: String { channels == 1 ? "grey" : "RGB" }

    /// The normalised [C, H, W] values of one decoded image.
    public func inputValues(_ image: DecodedImage) -> [Float] {
        let planar = ImageResizing.resizedPlanar(image.converted(toChannels: channels), height: height, width: width)
        let plane = height * width
        return planar.indices.map { index in
            let (mean, deviation) = normalization.channel(index / plane)
            return Float((Double(planar[index]) / 255 - mean) / deviation)
        }
    }

    /// The same preprocessing in Python (Pillow, NumPy, ONNX Runtime), for a board or a notebook.
    public func referenceSnippet(modelFile: String) -> String {
        let list = { (values: [Double]) in "[" + values.map { String(format: "%.6f", $0) }.joined(separator: ", ") + "]" }
        let mean = normalization.mean.count == channels ? normalization.mean : Array(repeating: normalization.mean[0], count: channels)
        let std = normalization.standardDeviation.count == channels
            ? normalization.standardDeviation : Array(repeating: normalization.standardDeviation[0], count: channels)
        var lines = [
            "import numpy as np, onnxruntime as ort",
            "from PIL import Image",
            "",
            "def prepare(path):",
            "    image = Image.open(path).convert(\"\(channels == 1 ? "L" : "RGB")\")  # grey: ITU-R 601 luma",
            "    image = image.resize((\(width), \(height)), Image.BILINEAR)  # (width, height)",
            "    x = np.asarray(image, dtype=np.float32) / 255.0",
        ]
        if channels == 1 { lines.append("    x = x[:, :, None]") }
        lines += [
            "    x = (x - np.array(\(list(mean)), np.float32)) / np.array(\(list(std)), np.float32)",
            "    return x.transpose(2, 0, 1)[None]  # 1×C×H×W",
            "",
            "session = ort.InferenceSession(\"\(modelFile)\")",
            "logits = session.run(None, {\"input\": prepare(\"image.png\")})[0][0]",
        ]
        if let classNames {
            lines.append("classes = [" + classNames.map { "\"\($0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" }
                .joined(separator: ", ") + "]")
            lines.append("print(classes[int(logits.argmax())])")
        } else {
            lines.append("print(int(logits.argmax()))")
        }
        return lines.joined(separator: "\n")
    }

    /// This record as compact JSON with sorted keys (the metadata value).
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    enum CodingKeys: String, CodingKey {
        case channels, height, width, normalization
        case classNames = "class_names"
        case channelOrder = "channel_order"
        case layout, scale, resize
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        channels = try container.decode(Int.self, forKey: .channels)
        height = try container.decode(Int.self, forKey: .height)
        width = try container.decode(Int.self, forKey: .width)
        normalization = try container.decode(ImageNormalization.self, forKey: .normalization)
        classNames = try container.decodeIfPresent([String].self, forKey: .classNames)
        guard channels == 1 || channels == 3, height > 0, width > 0,
              normalization.mean.count == 1 || normalization.mean.count == channels,
              normalization.standardDeviation.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "preprocessing: inconsistent channels, size or normalisation"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(channels, forKey: .channels)
        try container.encode(height, forKey: .height)
        try container.encode(width, forKey: .width)
        try container.encode(normalization, forKey: .normalization)
        try container.encodeIfPresent(classNames, forKey: .classNames)
        // Written for readers (and boards), ignored when read back.
        try container.encode(channelOrder, forKey: .channelOrder)
        try container.encode("NCHW float32", forKey: .layout)
        try container.encode("1/255", forKey: .scale)
        try container.encode(Self.resizeMethod, forKey: .resize)
    }
}
