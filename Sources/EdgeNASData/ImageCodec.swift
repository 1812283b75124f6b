import CImageCodecs
import Foundation

/// One decoded image: 8-bit pixels, interleaved (`channels` bytes per pixel), row-major.
public struct DecodedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels, "DecodedImage: \(pixels.count) bytes for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

extension DecodedImage {
    /// This image with `target` channels: grey becomes RGB by copying, RGB becomes grey by
    /// ``ImageCodec/lumaOf(red:green:blue:)``; the one colour conversion of every source.
    public func converted(toChannels target: Int) -> DecodedImage {
        precondition(target == 1 || target == 3, "DecodedImage.converted: \(target) channels, expected 1 or 3")
        guard target != channels else { return self }
        let count = width * height
        let converted: [UInt8] = target == 3
            ? (0..<count).flatMap { [pixels[$0], pixels[$0], pixels[$0]] }
            : (0..<count).map { ImageCodec.lumaOf(red: pixels[3 * $0], green: pixels[3 * $0 + 1], blue: pixels[3 * $0 + 2]) }
        return DecodedImage(width: width, height: height, channels: target, pixels: converted)
    }
}

/// PNG and JPEG through libpng and libjpeg-turbo (the CImageCodecs shim): no decoder of our own.
public enum ImageCodec {
    /// Largest accepted image, in pixels; larger files are refused before their pixels are allocated.
    public static let maximumPixels = Int(EDGENAS_IMAGE_MAX_PIXELS)

    /// Decodes a PNG or JPEG (by its signature) to `channels` 1 (grey) or 3 (RGB); a
    /// transparent PNG is composited on black. The libraries decode to RGB (a grey file's
    /// plane copied) and grey is taken here by ``lumaOf(red:green:blue:)``, so every source
    /// (PNG, JPEG, CIFAR) turns colour into grey the same way; libpng's own conversion is
    /// gamma-correct and would give a PNG a different grey than the same JPEG.
    ///
    /// - Throws: ``DatasetError/undecodableImage(path:reason:)`` naming `path` with the library's message.
    public static func decode(_ data: Data, channels: Int, path: String) throws -> DecodedImage {
        precondition(channels == 1 || channels == 3, "ImageCodec.decode: channels \(channels), expected 1 or 3")
        return try decodeRGB(data, path: path).converted(toChannels: channels)
    }

    /// ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B rounded, as libjpeg and Pillow's
    /// `convert("L")` compute it; a grey pixel (R = G = B) stays exactly itself.
    public static func lumaOf(red: UInt8, green: UInt8, blue: UInt8) -> UInt8 {
        let weighted: Int = 299 * Int(red) + 587 * Int(green) + 114 * Int(blue)
        return UInt8((weighted + 500) / 1000)
    }

    static func decodeRGB(_ data: Data, path: String) throws -> DecodedImage {
        let channels = 3
        var output: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            edgenas_image_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, Int32(channels), &output,
                                 &width, &height, &message, message.count)
        }
        guard status == 0, let output else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DatasetError.undecodableImage(path: path, reason: reason.isEmpty ? "unknown error" : reason)
        }
        defer { edgenas_image_free(output) }
        let count = Int(width) * Int(height) * channels
        return DecodedImage(width: Int(width), height: Int(height), channels: channels,
                            pixels: Array(UnsafeBufferPointer(start: output, count: count)))
    }

    /// Encodes an image as PNG, or as JPEG at `jpegQuality` (1–100): for fixtures and reports.
    public static func encode(_ image: DecodedImage, jpegQuality: Int? = nil) throws -> Data {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            edgenas_image_encode(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                                 Int32(jpegQuality ?? 0), &output, &size, &message, message.count)
        }
        guard status == 0, let output else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DatasetError.undecodableImage(path: "(encoding)", reason: reason)
        }
        defer { edgenas_image_free(output) }
        return Data(bytes: output, count: size)
    }
}
