import EdgeNASCore
import Foundation
import Testing

@testable import EdgeNASData

@Suite struct IDXFileTests {
    @Test(arguments: [false, true])
    func readsBackWhatWasWritten(gzip: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pixels = IDXFixtures.imagePixels(count: 5, height: 4, width: 3)
        let url = directory.file(gzip ? "images.gz" : "images")
        let bytes = IDXFixtures.idxBytes(dimensions: [5, 4, 3], payload: pixels)
        try (gzip ? IDXFixtures.writeGzip : IDXFixtures.write)(bytes, url)

        let array = try IDXFile.read(contentsOf: url, rank: 3)

        #expect(array == IDXArray(dimensions: [5, 4, 3], bytes: pixels))
    }

    @Test func readsAFileOfSizesAbove255() throws {
        // Sizes use all four big-endian bytes; 300 = 0x012C catches a byte-order slip.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let labels = (0..<300).map { UInt8($0 % 7) }
        try IDXFixtures.write(IDXFixtures.idxBytes(dimensions: [300], payload: labels), to: directory.file("labels"))

        let array = try IDXFile.read(contentsOf: directory.file("labels"), rank: 1)

        #expect(array.dimensions == [300])
        #expect(array.bytes == labels)
    }

    @Test func magicNumbersFollowTheIDXLayout() {
        #expect(IDXFile.magicNumber(rank: 3) == 0x0000_0803)
        #expect(IDXFile.magicNumber(rank: 1) == 0x0000_0801)
    }

    @Test func truncatedRawFileIsReportedWithBothSizes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("images")
        let bytes = IDXFixtures.idxBytes(dimensions: [2, 2, 2], payload: Array(repeating: 7, count: 8))
        try IDXFixtures.write(Array(bytes.dropLast(3)), to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 3) }

        #expect(error == .truncated(path: url.path, expectedBytes: 24, actualBytes: 21))
        #expect(
            error?.description
                == "\(url.path) is truncated: its header describes 24 bytes but it holds only 21; "
                + "the file is incomplete, download or install it again")
    }

    @Test func truncatedHeaderIsReportedAsTruncated() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("images")
        try IDXFixtures.write([0, 0, 8, 3, 0, 0], to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 3) }

        #expect(error == .truncated(path: url.path, expectedBytes: 16, actualBytes: 6))
    }

    @Test func gzipOfATruncatedPayloadIsReportedInDecompressedBytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("labels.gz")
        let bytes = IDXFixtures.idxBytes(dimensions: [100], payload: Array(repeating: 3, count: 100))
        try IDXFixtures.writeGzip(Array(bytes.prefix(58)), to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 1) }

        #expect(error == .truncated(path: url.path, expectedBytes: 108, actualBytes: 58))
    }

    @Test func cutGzipStreamIsReportedAsTruncated() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("images.gz")
        var generator = SeededGenerator(seed: 7)
        let payload = (0..<4000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try IDXFixtures.writeGzip(IDXFixtures.idxBytes(dimensions: [10, 20, 20], payload: payload), to: url)
        let compressed = try Data(contentsOf: url)
        try compressed.prefix(compressed.count / 2).write(to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 3) }

        guard case .truncated(let path, let expectedBytes, let actualBytes) = error else {
            Issue.record("expected .truncated, got \(String(describing: error))")
            return
        }
        #expect(path == url.path)
        #expect(expectedBytes == 4016)
        #expect((16..<4016).contains(actualBytes))
    }

    @Test func gzipWithoutItsTrailerIsReportedAsDamaged() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("labels.gz")
        try IDXFixtures.writeGzip(IDXFixtures.idxBytes(dimensions: [4], payload: [1, 2, 3, 4]), to: url)
        let compressed = try Data(contentsOf: url)
        try compressed.dropLast(8).write(to: url)  // the CRC-32 and size trailer

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 1) }

        #expect(error == .corruptCompressedData(path: url.path, zlibMessage: "unexpected end of file"))
        #expect(
            error?.description
                == "\(url.path) is damaged gzip data (zlib: unexpected end of file); "
                + "download or install the file again")
    }

    @Test func corruptGzipDataIsReported() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("labels.gz")
        // A valid gzip header followed by a deflate block of the reserved type 3.
        try IDXFixtures.write([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF], to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 1) }

        guard case .corruptCompressedData(let path, _) = error else {
            Issue.record("expected .corruptCompressedData, got \(String(describing: error))")
            return
        }
        #expect(path == url.path)
    }

    @Test func bytesAfterTheDataAreReported() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("labels")
        try IDXFixtures.write(IDXFixtures.idxBytes(dimensions: [3], payload: [1, 2, 3, 4, 5]), to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 1) }

        #expect(error == .trailingBytes(path: url.path, expectedBytes: 11, actualBytes: 13))
        #expect(
            error?.description
                == "\(url.path) has 2 unexpected bytes after the data: its header describes 11 bytes but it "
                + "holds 13; the header or the file is damaged, download or install it again")
    }

    @Test func headerPromisingFarMoreThanTheFileCanHoldIsTruncatedNotAllocated() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("images")
        try IDXFixtures.write(
            IDXFixtures.idxBytes(dimensions: [0x7FFF_FFFF, 0x7FFF_FFFF, 2], payload: [1, 2]), to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 3) }

        let promised = 0x7FFF_FFFF * 0x7FFF_FFFF * 2
        #expect(error == .truncated(path: url.path, expectedBytes: 16 + promised, actualBytes: 18))
    }

    struct MagicCase: Sendable, CustomTestStringConvertible {
        let header: [UInt8]
        let found: UInt32
        let diagnosis: String
        var testDescription: String { "magic \(header)" }
    }

    @Test(arguments: [
        MagicCase(
            header: [0x1F, 0x9D, 0x90, 0x00], found: 0x1F9D_9000,
            diagnosis: "an IDX file starts with two zero bytes, so this is not an IDX (MNIST-format) file "
                + "or it is compressed with something other than gzip"),
        MagicCase(
            header: [0, 0, 0x0D, 3], found: 0x0000_0D03,
            diagnosis: "element type 0x0D is not supported, only unsigned bytes (0x08) are"),
        MagicCase(
            header: [0, 0, 0x08, 1], found: 0x0000_0801,
            diagnosis: "the file has 1 dimensions instead of 3; images are idx3 files and labels idx1 files, "
                + "check that they are not swapped"),
    ])
    func wrongMagicNumberSaysWhatIsWrong(_ magicCase: MagicCase) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("images")
        try IDXFixtures.write(magicCase.header + Array(repeating: 0, count: 40), to: url)

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 3) }

        #expect(error == .badMagic(path: url.path, found: magicCase.found, expected: 0x0000_0803))
        #expect(
            error?.description
                == "\(url.path) is not the expected IDX file: magic number is 0x\(hex8(magicCase.found)), "
                + "expected 0x00000803; " + magicCase.diagnosis)
    }

    @Test func missingFileIsUnreadable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("absent")

        let error = #expect(throws: DatasetError.self) { try IDXFile.read(contentsOf: url, rank: 1) }

        #expect(
            error?.description
                == "cannot open \(url.path): No such file or directory; check that the file is readable by this user")
    }

    private func hex8(_ value: UInt32) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - text.count) + text
    }
}
