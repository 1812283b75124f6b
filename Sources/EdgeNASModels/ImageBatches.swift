import EdgeNASCore
import EdgeNASData
import EdgeNASTensor

/// Turns an 8-bit image dataset into normalised float batches [B, C, H, W], with the
/// standard light augmentation for 28×28 datasets: a random crop of the zero-padded image
/// and a random horizontal flip.
public struct ImageBatcher: Sendable {
    /// Per-channel mean and standard deviation of the pixels after scaling to [0, 1].
    public var normalization: ImageNormalization
    /// Zero padding (in pixels, on every side) before the random crop; 0 disables cropping.
    public var cropPadding: Int
    /// Whether to flip half of the images left-right.
    public var horizontalFlip: Bool

    public init(normalization: ImageNormalization = .fashionMNIST, cropPadding: Int = 0, horizontalFlip: Bool = false) {
        self.normalization = normalization
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    /// The images at `indices` as a [B, C, H, W] tensor and their labels. Augmentation draws
    /// from `generator`; pass `augment: false` for evaluation.
    public func batch(_ dataset: ImageDataset, indices: ArraySlice<Int>, augment: Bool,
                      using generator: inout some RandomNumberGenerator) -> (images: Tensor, labels: [Int]) {
        let (height, width, channels) = (dataset.height, dataset.width, dataset.channels)
        let plane = height * width
        let affine = (0..<channels).map { channel -> (scale: Float, offset: Float) in
            let (mean, deviation) = normalization.channel(channel)
            return (Float(1 / (255 * deviation)), Float(-mean / deviation))
        }
        var values = [Float](repeating: 0, count: indices.count * channels * plane)
        var labels: [Int] = []
        labels.reserveCapacity(indices.count)
        dataset.pixels.withUnsafeBufferPointer { pixels in
            values.withUnsafeMutableBufferPointer { out in
                for (position, index) in indices.enumerated() {
                    labels.append(Int(dataset.labels[index]))
                    var shiftY = 0, shiftX = 0, flip = false
                    if augment {
                        if cropPadding > 0 {
                            shiftY = generator.uniformIndex(below: 2 * cropPadding + 1) - cropPadding
                            shiftX = generator.uniformIndex(below: 2 * cropPadding + 1) - cropPadding
                        }
                        if horizontalFlip { flip = generator.next() & 1 == 1 }
                    }
                    for channel in 0..<channels {
                        let (scale, offset) = affine[channel]
                        let source = pixels.baseAddress! + (index * channels + channel) * plane
                        let target = out.baseAddress! + (position * channels + channel) * plane
                        for y in 0..<height {
                            let sourceY = y + shiftY
                            for x in 0..<width {
                                // Crop first (pixels outside the image are 0), then flip the crop.
                                let croppedX = flip ? width - 1 - x : x
                                let sourceX = croppedX + shiftX
                                let raw: UInt8 = (sourceY >= 0 && sourceY < height && sourceX >= 0 && sourceX < width)
                                    ? source[sourceY * width + sourceX] : 0
                                target[y * width + x] = Float(raw) * scale + offset
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: [indices.count, channels, height, width], storage: values), labels)
    }
}
