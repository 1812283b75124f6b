/// Resizes images to a network's input: the one method every EdgeNAS path uses, so the
/// board can reproduce it.
///
/// The filter is Pillow's `Image.resize(size, Image.BILINEAR)`: a separable triangle filter
/// whose support widens with the scale when shrinking (so a large photo is averaged, not
/// aliased) and plain bilinear interpolation with half-pixel centres when enlarging. Values
/// agree with Pillow's to about one level, which rounds its 8-bit intermediate.
public enum ImageResizing {
    /// `image` (interleaved) resized to `height × width`, returned planar: `channels` planes of
    /// row-major bytes. Same size: the pixels are only reordered.
    public static func resizedPlanar(_ image: DecodedImage, height: Int, width: Int) -> [UInt8] {
        let horizontal = weights(from: image.width, to: width)
        let vertical = weights(from: image.height, to: height)
        let channels = image.channels
        // Horizontal pass into floats [channel][sourceRow][x], then vertical into bytes.
        var rows = [Float](repeating: 0, count: channels * image.height * width)
        image.pixels.withUnsafeBufferPointer { source in
            for y in 0..<image.height {
                for (x, taps) in horizontal.enumerated() {
                    for channel in 0..<channels {
                        var sum: Float = 0
                        for (offset, weight) in taps.weights.enumerated() {
                            sum += weight * Float(source[((y * image.width) + taps.first + offset) * channels + channel])
                        }
                        rows[(channel * image.height + y) * width + x] = sum
                    }
                }
            }
        }
        var output = [UInt8](repeating: 0, count: channels * height * width)
        for channel in 0..<channels {
            for (y, taps) in vertical.enumerated() {
                for x in 0..<width {
                    var sum: Float = 0
                    for (offset, weight) in taps.weights.enumerated() {
                        sum += weight * rows[(channel * image.height + taps.first + offset) * width + x]
                    }
                    output[(channel * height + y) * width + x] = UInt8(max(0, min(255, sum.rounded())))
                }
            }
        }
        return output
    }

    /// The source taps of each output coordinate along one axis (Pillow's `precompute_coeffs`
    /// for the bilinear filter, support 1).
    static func weights(from input: Int, to output: Int) -> [(first: Int, weights: [Float])] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filterScale
        return (0..<output).map { index in
            let centre = (Double(index) + 0.5) * scale
            let low = max(0, Int((centre - support + 0.5).rounded(.down)))
            let high = min(input, Int((centre + support + 0.5).rounded(.down)))
            var taps = (low..<max(low + 1, high)).map { source -> Double in
                max(0, 1 - abs((Double(source) - centre + 0.5) / filterScale))
            }
            let total = taps.reduce(0, +)
            if total > 0 { taps = taps.map { $0 / total } } else { taps = taps.map { _ in 1 / Double(taps.count) } }
            return (low, taps.map(Float.init))
        }
    }
}
