import EdgeNASCore

/// A labelled set of 8-bit images held in memory.
///
/// Pixels stay raw bytes (0 = background, 255 = full intensity); scaling to
/// floats is the model's business. Image `i` occupies
/// `pixels[i * pixelsPerImage ..< (i + 1) * pixelsPerImage]`, channel-major (planar):
/// `channels` planes of `height × width` bytes, each row-major, as the networks' [C, H, W]
/// input expects.
public struct ImageDataset: Sendable, Equatable {
    /// The number of images (and labels).
    public let count: Int
    /// The number of channels per pixel: 1 (grey) or 3 (RGB).
    public let channels: Int
    /// The image height in pixels.
    public let height: Int
    /// The image width in pixels.
    public let width: Int
    /// All images, `count × channels × height × width` bytes.
    public let pixels: [UInt8]
    /// The class of each image, each in `0..<classCount`.
    public let labels: [UInt8]
    /// The number of classes; labels range over `0..<classCount`.
    public let classCount: Int
    /// The name of each class, when the source names them (folder names, CIFAR's meta file).
    public let classNames: [String]?

    /// Creates a dataset from raw pixels and labels.
    ///
    /// - Parameters:
    ///   - channels: 1 or 3.
    ///   - height: Image height in pixels, at least 1.
    ///   - width: Image width in pixels, at least 1.
    ///   - pixels: `labels.count × channels × height × width` bytes, planar.
    ///   - labels: One class per image.
    ///   - classCount: The number of classes; defaults to the largest label + 1.
    ///   - classNames: `classCount` names, or nil.
    public init(channels: Int = 1, height: Int, width: Int, pixels: [UInt8], labels: [UInt8], classCount: Int? = nil,
                classNames: [String]? = nil) {
        precondition(channels == 1 || channels == 3, "ImageDataset: \(channels) channels, expected 1 or 3")
        precondition(height > 0 && width > 0, "ImageDataset: image size \(height)×\(width) must be positive")
        precondition(
            pixels.count == labels.count * channels * height * width,
            "ImageDataset: \(labels.count) labels × \(channels) × \(height) × \(width) need "
                + "\(labels.count * channels * height * width) pixels, got \(pixels.count)")
        let largestLabel = labels.max().map(Int.init) ?? -1
        let classCount = classCount ?? classNames?.count ?? largestLabel + 1
        precondition(
            largestLabel < classCount,
            "ImageDataset: label \(largestLabel) is outside 0..<\(classCount)")
        precondition(classNames == nil || classNames!.count == classCount,
                     "ImageDataset: \(classNames?.count ?? 0) class names for \(classCount) classes")
        self.count = labels.count
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classCount = classCount
        self.classNames = classNames
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
            channels: channels, height: height, width: width, pixels: Array(pixels[..<(kept * pixelsPerImage)]),
            labels: Array(labels[..<kept]), classCount: classCount, classNames: classNames)
    }

    /// The images at `indices`, in that order, with the same classes.
    public func subset(_ indices: [Int]) -> ImageDataset {
        var kept: [UInt8] = []
        kept.reserveCapacity(indices.count * pixelsPerImage)
        for index in indices { kept.append(contentsOf: pixels(ofImage: index)) }
        return ImageDataset(channels: channels, height: height, width: width, pixels: kept, labels: indices.map { labels[$0] },
                            classCount: classCount, classNames: classNames)
    }

    /// A deterministic split of this set into training and validation parts: within each
    /// class, a seeded shuffle sends ⌊share × n⌉ images (at least one of a class of two or
    /// more) to validation, so every class is validated and the split does not depend on the
    /// order of the files. Both parts keep the original order.
    public func split(validationShare share: Double, seed: UInt64 = 0x5EED) -> (training: ImageDataset, validation: ImageDataset) {
        precondition(share >= 0 && share < 1, "ImageDataset.split: share \(share) is outside [0, 1)")
        var byClass = [[Int]](repeating: [], count: classCount)
        for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
        var validation = Set<Int>()
        var generator = SeededGenerator(seed: seed)
        for members in byClass where members.count > 1 && share > 0 {
            var shuffled = members
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, generator.uniformIndex(below: i + 1)) }
            let take = min(members.count - 1, max(1, Int((share * Double(members.count)).rounded())))
            validation.formUnion(shuffled.prefix(take))
        }
        let all = Array(0..<count)
        return (subset(all.filter { !validation.contains($0) }), subset(all.filter { validation.contains($0) }))
    }

    /// Per-channel mean and standard deviation of the pixels scaled to [0, 1], over every
    /// image: the normalisation a network trained on this set expects.
    public func channelStatistics() -> [(mean: Double, standardDeviation: Double)] {
        let plane = height * width
        var sums = [Double](repeating: 0, count: channels), squares = [Double](repeating: 0, count: channels)
        pixels.withUnsafeBufferPointer { bytes in
            for image in 0..<count {
                for channel in 0..<channels {
                    var sum: UInt64 = 0, square: UInt64 = 0
                    let base = (image * channels + channel) * plane
                    for offset in 0..<plane {
                        let value = UInt64(bytes[base + offset])
                        sum += value
                        square += value * value
                    }
                    sums[channel] += Double(sum)
                    squares[channel] += Double(square)
                }
            }
        }
        let n = Double(max(1, count * plane))
        return (0..<channels).map { channel in
            let mean = sums[channel] / n / 255
            let variance = max(0, squares[channel] / n / (255 * 255) - mean * mean)
            return (mean, variance.squareRoot())
        }
    }
}
