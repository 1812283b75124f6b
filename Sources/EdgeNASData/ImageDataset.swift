/// A labelled set of single-channel 8-bit images held in memory.
///
/// Pixels stay raw bytes (0 = background, 255 = full intensity); scaling to
/// floats is the model's business. Image `i` occupies
/// `pixels[i * pixelsPerImage ..< (i + 1) * pixelsPerImage]`, row-major.
public struct ImageDataset: Sendable, Equatable {
    /// The number of images (and labels).
    public let count: Int
    /// The number of channels per pixel; always 1 (grayscale).
    public let channels: Int
    /// The image height in pixels.
    public let height: Int
    /// The image width in pixels.
    public let width: Int
    /// All images, `count × height × width` bytes in row-major order.
    public let pixels: [UInt8]
    /// The class of each image, each in `0..<classCount`.
    public let labels: [UInt8]
    /// The number of classes; labels range over `0..<classCount`.
    public let classCount: Int

    /// Creates a dataset from raw pixels and labels.
    ///
    /// - Parameters:
    ///   - height: Image height in pixels, at least 1.
    ///   - width: Image width in pixels, at least 1.
    ///   - pixels: `labels.count × height × width` bytes, row-major.
    ///   - labels: One class per image.
    ///   - classCount: The number of classes; defaults to the largest label + 1.
    public init(height: Int, width: Int, pixels: [UInt8], labels: [UInt8], classCount: Int? = nil) {
        precondition(height > 0 && width > 0, "ImageDataset: image size \(height)×\(width) must be positive")
        precondition(
            pixels.count == labels.count * height * width,
            "ImageDataset: \(labels.count) labels × \(height) × \(width) need \(labels.count * height * width) "
                + "pixels, got \(pixels.count)")
        let largestLabel = labels.max().map(Int.init) ?? -1
        let classCount = classCount ?? largestLabel + 1
        precondition(
            largestLabel < classCount,
            "ImageDataset: label \(largestLabel) is outside 0..<\(classCount)")
        self.count = labels.count
        self.channels = 1
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classCount = classCount
    }

    /// The number of bytes in one image, `channels × height × width`.
    public var pixelsPerImage: Int { channels * height * width }

    /// The pixels of image `index`, row-major.
    public func pixels(ofImage index: Int) -> ArraySlice<UInt8> {
        precondition((0..<count).contains(index), "ImageDataset: image \(index) is outside 0..<\(count)")
        return pixels[index * pixelsPerImage..<(index + 1) * pixelsPerImage]
    }

    /// How many images each class has: element `c` counts the labels equal to `c`.
    public func labelCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// The first `maxCount` images (all of them when there are fewer), with the same class count.
    public func prefix(_ maxCount: Int) -> ImageDataset {
        precondition(maxCount >= 0, "ImageDataset.prefix: count \(maxCount) is negative")
        let kept = min(maxCount, count)
        return ImageDataset(
            height: height, width: width, pixels: Array(pixels[..<(kept * pixelsPerImage)]),
            labels: Array(labels[..<kept]), classCount: classCount)
    }
}
