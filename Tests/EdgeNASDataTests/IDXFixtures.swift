import Foundation

/// A directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("edgenas-data-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

enum IDXFixtures {
    /// The bytes of an IDX file: magic `0x0000_TT_RR`, big-endian sizes, then `payload`.
    static func idxBytes(dimensions: [Int], payload: [UInt8], elementType: UInt8 = 0x08) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, elementType, UInt8(dimensions.count)]
        for size in dimensions {
            bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: UInt32(size) >> $0) }
        }
        return bytes + payload
    }

    /// `count` tiny images whose pixel `p` of image `i` is `i * 16 + p` (mod 256), so any mix-up shows.
    static func imagePixels(count: Int, height: Int, width: Int) -> [UInt8] {
        (0..<count * height * width).map { index in
            let (image, pixel) = index.quotientAndRemainder(dividingBy: height * width)
            return UInt8(truncatingIfNeeded: image * 16 + pixel)
        }
    }

    static func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    /// Writes `bytes` gzip-compressed, using the system's gzip so the reader is checked
    /// against an independent compressor.
    static func writeGzip(_ bytes: [UInt8], to url: URL) throws {
        let rawURL = url.deletingPathExtension()
        try write(bytes, to: rawURL)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-n", "-f", rawURL.path]
        try gzip.run()
        gzip.waitUntilExit()
        guard gzip.terminationStatus == 0, FileManager.default.fileExists(atPath: url.path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    /// Writes a complete MNIST-format split (images then labels) into `directory`.
    static func writeSplit(
        _ prefix: String, in directory: TemporaryDirectory, imageCount: Int, labelCount: Int? = nil,
        height: Int = 3, width: Int = 2, gzip: Bool
    ) throws -> (pixels: [UInt8], labels: [UInt8]) {
        let pixels = imagePixels(count: imageCount, height: height, width: width)
        let labels = (0..<(labelCount ?? imageCount)).map { UInt8($0 % 10) }
        let suffix = gzip ? ".gz" : ""
        let writer = gzip ? writeGzip : write
        try writer(
            idxBytes(dimensions: [imageCount, height, width], payload: pixels),
            directory.file("\(prefix)-images-idx3-ubyte\(suffix)"))
        try writer(
            idxBytes(dimensions: [labels.count], payload: labels),
            directory.file("\(prefix)-labels-idx1-ubyte\(suffix)"))
        return (pixels, labels)
    }
}
