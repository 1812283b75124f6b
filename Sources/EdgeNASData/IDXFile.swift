import CZlib
import Foundation

/// An n-dimensional array of unsigned bytes read from an IDX file.
///
/// The IDX format (used by MNIST and Fashion-MNIST) is a 4-byte magic number
/// `0x0000TTRR` (`TT` = element type, `RR` = number of dimensions), then `RR`
/// big-endian 32-bit sizes, then the elements in row-major order.
public struct IDXArray: Sendable, Equatable {
    /// The size of each dimension, outermost first (for MNIST images: count, height, width).
    public let dimensions: [Int]
    /// The elements in row-major order; `bytes.count` is the product of `dimensions`.
    public let bytes: [UInt8]

    /// Creates an array; `bytes.count` must equal the product of `dimensions`.
    public init(dimensions: [Int], bytes: [UInt8]) {
        precondition(
            dimensions.reduce(1, *) == bytes.count,
            "IDXArray: dimensions \(dimensions) need \(dimensions.reduce(1, *)) bytes, got \(bytes.count)")
        self.dimensions = dimensions
        self.bytes = bytes
    }
}

/// Reads IDX files, raw or gzip-compressed, decompressing in-process with zlib.
///
/// Whether a file is compressed is decided by its content, not its name, so a
/// `.gz` file that was already decompressed in place still reads.
public enum IDXFile {
    /// The IDX element type code for unsigned bytes, the only type this reader supports.
    public static let unsignedByteType: UInt8 = 0x08

    /// The magic number of an IDX file of unsigned bytes with `rank` dimensions,
    /// `0x0000_08RR` (`0x00000803` for MNIST images, `0x00000801` for labels).
    public static func magicNumber(rank: Int) -> UInt32 {
        precondition((1...255).contains(rank), "IDXFile.magicNumber: rank \(rank) is outside 1...255")
        return UInt32(unsignedByteType) << 8 | UInt32(rank)
    }

    /// Reads an IDX file of unsigned bytes with exactly `rank` dimensions.
    ///
    /// - Parameters:
    ///   - url: The file, raw or gzip-compressed.
    ///   - rank: The number of dimensions the caller expects (3 for images, 1 for labels).
    /// - Returns: The dimensions from the header and all elements.
    /// - Throws: ``DatasetError`` when the file is missing or unreadable, has the wrong magic
    ///   number, is truncated, has bytes after the data, or is damaged gzip data.
    public static func read(contentsOf url: URL, rank: Int) throws -> IDXArray {
        let path = url.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw DatasetError.unreadable(path: path, reason: "it is a directory")
        }
        let stream = try GzipInputStream(path: path)
        defer { stream.close() }

        let expectedMagic = magicNumber(rank: rank)
        let headerByteCount = 4 + 4 * rank
        let header = try stream.read(count: headerByteCount)
        if header.count >= 4 {
            let foundMagic = bigEndianUInt32(header, at: 0)
            guard foundMagic == expectedMagic else {
                throw DatasetError.badMagic(path: path, found: foundMagic, expected: expectedMagic)
            }
        }
        guard header.count == headerByteCount else {
            throw DatasetError.truncated(path: path, expectedBytes: headerByteCount, actualBytes: header.count)
        }
        let dimensions = (0..<rank).map { Int(bigEndianUInt32(header, at: 4 + 4 * $0)) }
        let (elementCount, overflow) = dimensions.reduce((1, false)) { partial, size in
            let (product, overflow) = partial.0.multipliedReportingOverflow(by: size)
            return (product, partial.1 || overflow)
        }
        guard !overflow else {
            throw DatasetError.invalidShape(
                path: path, dimensions: dimensions,
                reason: "their product overflows, so the header is damaged; download or install the file again")
        }
        // Deflate expands at most 1032:1, so a damaged header cannot make us allocate far beyond the file.
        let fileByteCount = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let (possibleByteCount, possibleOverflow) = fileByteCount.multipliedReportingOverflow(by: 1032)
        if !possibleOverflow, elementCount > possibleByteCount {
            let presentByteCount = try stream.countRemainingBytes(requireCompleteStream: false)
            throw DatasetError.truncated(
                path: path, expectedBytes: headerByteCount + elementCount,
                actualBytes: headerByteCount + presentByteCount)
        }

        let bytes = try stream.read(count: elementCount)
        guard bytes.count == elementCount else {
            throw DatasetError.truncated(
                path: path, expectedBytes: headerByteCount + elementCount,
                actualBytes: headerByteCount + bytes.count)
        }
        let extraByteCount = try stream.countRemainingBytes(requireCompleteStream: true)
        guard extraByteCount == 0 else {
            throw DatasetError.trailingBytes(
                path: path, expectedBytes: headerByteCount + elementCount,
                actualBytes: headerByteCount + elementCount + extraByteCount)
        }
        return IDXArray(dimensions: dimensions, bytes: bytes)
    }

    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }
}

/// A file read through zlib's gz* functions, which pass raw files through unchanged.
private struct GzipInputStream {
    private let path: String
    private let file: gzFile

    init(path: String) throws {
        guard let file = gzopen(path, "rb") else {
            throw DatasetError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        // A large buffer halves the time spent inflating 47 MB of images.
        gzbuffer(file, 1 << 18)
        self.path = path
        self.file = file
    }

    func close() {
        gzclose(file)
    }

    /// Reads up to `count` bytes; fewer only when the data ends first.
    func read(count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            initializedCount = 0
            guard let base = buffer.baseAddress else { return }
            while initializedCount < count {
                let chunk = UInt32(min(count - initializedCount, 1 << 30))
                let got = gzread(file, base + initializedCount, chunk)
                if got < 0 { try throwZlibError() }
                if got <= 0 { break }
                initializedCount += Int(got)
            }
            // A stream that ends early reports Z_BUF_ERROR; the short count already says "truncated".
            if initializedCount < count { try throwZlibError(ignoringEndOfInput: true) }
        }
    }

    /// Reads to the end and returns how many bytes were left.
    ///
    /// With `requireCompleteStream`, a gzip stream that stops before its trailer is an error
    /// even when all data bytes arrived.
    func countRemainingBytes(requireCompleteStream: Bool) throws -> Int {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let got = scratch.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if got < 0 { try throwZlibError() }
            if got <= 0 { break }
            total += Int(got)
        }
        try throwZlibError(ignoringEndOfInput: !requireCompleteStream)
        return total
    }

    private func throwZlibError(ignoringEndOfInput: Bool = false) throws {
        var code: Int32 = Z_OK
        var message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown error"
        // zlib prefixes its messages with the path, which the error already names.
        if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
        switch code {
        case Z_OK:
            return
        case Z_BUF_ERROR where ignoringEndOfInput:
            return
        case Z_ERRNO:
            throw DatasetError.unreadable(path: path, reason: String(cString: strerror(errno)))
        default:
            throw DatasetError.corruptCompressedData(path: path, zlibMessage: message)
        }
    }
}
