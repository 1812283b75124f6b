import Foundation
import Testing

@testable import EdgeNASData

/// A test image whose pixel (x, y, c) is a function of all three, so any mix-up of rows,
/// columns or channels shows.
func patternImage(width: Int, height: Int, channels: Int, seed: Int = 0) -> DecodedImage {
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels { pixels.append(UInt8((seed * 37 + x * 11 + y * 5 + c * 80) % 256)) }
        }
    }
    return DecodedImage(width: width, height: height, channels: channels, pixels: pixels)
}

@Suite struct ImageCodecTests {
    @Test(arguments: [1, 3])
    func aPNGRoundTripsExactly(channels: Int) throws {
        let image = patternImage(width: 7, height: 5, channels: channels)
        let png = try ImageCodec.encode(image)
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try ImageCodec.decode(png, channels: channels, path: "x.png") == image)
    }

    @Test func aJPEGDecodesCloseToItsSource() throws {
        let image = DecodedImage(width: 16, height: 16, channels: 3, pixels: [UInt8](repeating: 0, count: 16 * 16).flatMap { _ in [200, 40, 90] as [UInt8] })
        let decoded = try ImageCodec.decode(try ImageCodec.encode(image, jpegQuality: 95), channels: 3, path: "x.jpg")
        #expect((decoded.width, decoded.height) == (16, 16))
        #expect(zip(decoded.pixels, image.pixels).allSatisfy { abs(Int($0) - Int($1)) <= 4 })
    }

    @Test func colourConvertsToGreyOnDecode() throws {
        let red = DecodedImage(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 0, count: 4).flatMap { _ in [255, 0, 0] as [UInt8] })
        let grey = try ImageCodec.decode(try ImageCodec.encode(red), channels: 1, path: "red.png")
        #expect(grey.channels == 1 && grey.pixels.count == 4)
        #expect(grey.pixels == [76, 76, 76, 76], "ITU-R 601 luma of pure red")
        let jpegGrey = try ImageCodec.decode(try ImageCodec.encode(red, jpegQuality: 100), channels: 1, path: "red.jpg")
        #expect(jpegGrey.pixels.allSatisfy { abs(Int($0) - 76) <= 3 }, "a JPEG turns grey the same way, got \(jpegGrey.pixels)")
    }

    @Test func garbageTruncatedAndOversizedFilesAreRefusedWithThePath() throws {
        #expect(throws: DatasetError.undecodableImage(path: "a.png", reason: "neither a PNG nor a JPEG file (unknown signature)")) {
            try ImageCodec.decode(Data("not an image".utf8), channels: 3, path: "a.png")
        }
        let png = try ImageCodec.encode(patternImage(width: 40, height: 40, channels: 3))
        let jpeg = try ImageCodec.encode(patternImage(width: 40, height: 40, channels: 3), jpegQuality: 90)
        for (name, data) in [("cut.png", png.prefix(png.count / 2)), ("cut.jpg", jpeg.prefix(jpeg.count / 2))] {
            #expect { try ImageCodec.decode(Data(data), channels: 3, path: name) } throws: { error in
                guard case DatasetError.undecodableImage(let path, _) = error else { return false }
                return path == name && (error as! DatasetError).description.contains(name)
            }
        }
        // A PNG whose header claims 20000 × 20000 pixels (400 M) is refused before allocation.
        var huge = [UInt8](png)
        let side: [UInt8] = [0, 0, 0x4E, 0x20]
        huge.replaceSubrange(16..<20, with: side)
        huge.replaceSubrange(20..<24, with: side)
        huge.replaceSubrange(29..<33, with: crc32(Array(huge[12..<29])))
        #expect(throws: DatasetError.undecodableImage(path: "huge.png", reason: "image larger than 64 Mpixels")) {
            try ImageCodec.decode(Data(huge), channels: 3, path: "huge.png")
        }
    }

    /// PNG's chunk CRC (ISO 3309), big-endian.
    func crc32(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) }
    }
}

@Suite struct ImageResizingTests {
    @Test func theSameSizeOnlyReordersToPlanar() {
        let image = patternImage(width: 3, height: 2, channels: 3)
        let planar = ImageResizing.resizedPlanar(image, height: 2, width: 3)
        let red: [UInt8] = (0..<6).map { image.pixels[$0 * 3] }, blue: [UInt8] = (0..<6).map { image.pixels[$0 * 3 + 2] }
        #expect(Array(planar[0..<6]) == red)
        #expect(Array(planar[12..<18]) == blue)
    }

    @Test func aConstantImageStaysConstantAtAnySize() {
        let image = DecodedImage(width: 37, height: 23, channels: 1, pixels: [UInt8](repeating: 77, count: 37 * 23))
        for (height, width) in [(28, 28), (5, 90), (64, 3)] {
            #expect(ImageResizing.resizedPlanar(image, height: height, width: width).allSatisfy { $0 == 77 })
        }
    }

    /// Shrinking averages over the output pixel's footprint (Pillow's filter), it does not
    /// pick samples: a fine checkerboard becomes flat grey, not black or white.
    @Test func shrinkingAveragesInsteadOfAliasing() {
        var pixels: [UInt8] = []
        for y in 0..<64 { for x in 0..<64 { pixels.append((x + y) % 2 == 0 ? 255 : 0) } }
        let small = ImageResizing.resizedPlanar(DecodedImage(width: 64, height: 64, channels: 1, pixels: pixels), height: 8, width: 8)
        #expect(small.allSatisfy { (120...135).contains($0) }, "\(small)")
        // Pillow's taps for 4 → 2: weights 3/7, 3/7, 1/7 over the first three pixels.
        let taps = ImageResizing.weights(from: 4, to: 2)
        #expect(taps[0].first == 0 && taps[0].weights.count == 3)
        #expect(abs(taps[0].weights[0] - 3.0 / 7) < 1e-6 && abs(taps[0].weights[2] - 1.0 / 7) < 1e-6)
    }
}

@Suite struct ImageFolderTests {
    /// DIR/CLASS/… with PNG and JPEG, grey and RGB, odd sizes, a hidden file and a text file.
    func writeFolder(_ root: URL, classes: [String: Int]) throws {
        for (name, count) in classes {
            let folder = root.appendingPathComponent(name, isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<count {
                let image = patternImage(width: 9 + index, height: 13, channels: index % 2 == 0 ? 3 : 1, seed: index)
                let jpeg = index % 3 == 2
                try ImageCodec.encode(image, jpegQuality: jpeg ? 90 : nil)
                    .write(to: folder.appendingPathComponent("img\(index).\(jpeg ? "JPG" : "png")"))
            }
            try Data("notes".utf8).write(to: folder.appendingPathComponent("README.txt"))
            try Data().write(to: folder.appendingPathComponent(".DS_Store"))
        }
    }

    @Test func loadsClassesByFolderNameAtTheRequestedShape() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFolder(directory.url, classes: ["shoe": 4, "bag": 5, "coat": 3])
        #expect(try DatasetSource.detect(directory.url.path) == .imageFolder(directory.url))
        let (training, test) = try ImageFolderFormat.load(directory: directory.url, channels: 3, height: 8, width: 8)
        #expect(test == nil)
        #expect(training.classNames == ["bag", "coat", "shoe"])
        #expect((training.count, training.channels, training.height, training.width) == (12, 3, 8, 8))
        #expect(training.labelCounts() == [5, 3, 4])
        let grey = try ImageFolderFormat.load(directory: directory.url, channels: 1, height: 28, width: 28).training
        #expect(grey.pixelsPerImage == 28 * 28)
    }

    @Test func aTrainTestLayoutKeepsTheTestPartApart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFolder(directory.url.appendingPathComponent("train"), classes: ["a": 3, "b": 3])
        try writeFolder(directory.url.appendingPathComponent("test"), classes: ["b": 2])
        let (training, test) = try ImageFolderFormat.load(directory: directory.url, channels: 1, height: 4, width: 4)
        #expect(training.count == 6)
        #expect(test?.labels == [1, 1])
        #expect(test?.classNames == ["a", "b"])
    }

    @Test func anEmptyClassAndABrokenImageNameTheirPath() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFolder(directory.url, classes: ["a": 2])
        let empty = directory.url.appendingPathComponent("empty", isDirectory: true)
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: DatasetError.emptyClass(path: empty.path)) {
            try ImageFolderFormat.load(directory: directory.url, channels: 3, height: 4, width: 4)
        }
        try FileManager.default.removeItem(at: empty)
        let broken = directory.url.appendingPathComponent("a/broken.png")
        try Data("PNG?".utf8).write(to: broken)
        #expect { try ImageFolderFormat.load(directory: directory.url, channels: 3, height: 4, width: 4) } throws: { error in
            guard case DatasetError.undecodableImage(let path, _) = error else { return false }
            return path == broken.path
        }
    }
}

@Suite struct CIFARFormatTests {
    func records(_ labels: [UInt8], labelBytes: Int) -> Data {
        var bytes: [UInt8] = []
        for (index, label) in labels.enumerated() {
            bytes += labelBytes == 2 ? [0, label] : [label]
            bytes += (0..<3072).map { UInt8(($0 + index) % 256) }
        }
        return Data(bytes)
    }

    @Test func readsCIFAR10BatchesWithTheirNames() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try records([3, 1, 4], labelBytes: 1).write(to: directory.file("data_batch_1.bin"))
        try records([1, 5], labelBytes: 1).write(to: directory.file("data_batch_2.bin"))
        try records([9], labelBytes: 1).write(to: directory.file("test_batch.bin"))
        let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        try Data((names.joined(separator: "\n") + "\n\n").utf8).write(to: directory.file("batches.meta.txt"))
        #expect(try DatasetSource.detect(directory.url.path) == .cifar(directory.url))
        let (training, test) = try CIFARFormat.load(directory.url)
        #expect(training.labels == [3, 1, 4, 1, 5])
        #expect((training.channels, training.height, training.width, training.classCount) == (3, 32, 32, 10))
        #expect(training.classNames == names)
        #expect(Array(training.pixels(ofImage: 1).prefix(3)) == [1, 2, 3])
        #expect(test?.labels == [9])
        let small = training.converted(channels: 1, height: 16, width: 16)
        #expect((small.channels, small.pixelsPerImage, small.labels) == (1, 256, training.labels))
    }

    @Test func readsCIFAR100FineLabels() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try records([42, 99], labelBytes: 2).write(to: directory.file("train.bin"))
        #expect(try CIFARFormat.load(directory.url).training.labels == [42, 99])
    }

    @Test func aFileOfMixedRecordSizesIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("data_batch_1.bin")
        try (records([1, 2], labelBytes: 1) + Data([7, 7, 7])).write(to: file)
        #expect(throws: DatasetError.cifarRecordSize(path: file.path, bytes: 2 * 3073 + 3, recordBytes: 3073)) {
            try CIFARFormat.load(directory.url)
        }
    }
}

@Suite struct DatasetSplitTests {
    func dataset(labels: [UInt8]) -> ImageDataset {
        ImageDataset(height: 1, width: 1, pixels: labels.indices.map { UInt8($0 % 256) }, labels: labels, classCount: 3)
    }

    @Test func theValidationSplitIsStratifiedDeterministicAndDisjoint() {
        let labels = (0..<300).map { UInt8($0 % 3 == 0 ? 0 : ($0 % 3 == 1 ? 1 : 2)) } + [UInt8](repeating: 2, count: 1)
        let whole = dataset(labels: labels)
        let (training, validation) = whole.split(validationShare: 0.1)
        #expect(validation.labelCounts() == [10, 10, 10])
        #expect(training.count + validation.count == whole.count)
        #expect(Set(training.pixels + validation.pixels).count == Set(whole.pixels).count)
        #expect(whole.split(validationShare: 0.1).validation == validation)
        #expect(whole.split(validationShare: 0.1, seed: 7).validation != validation)
    }

    @Test func aClassOfOneStaysInTraining() {
        let (training, validation) = dataset(labels: [0, 1, 1, 1]).split(validationShare: 0.5)
        #expect(training.labels.contains(0))
        #expect(validation.labelCounts()[0] == 0)
    }

    @Test func channelStatisticsArePerChannel() {
        // Channel 0 all 0, channel 1 half 0 half 255.
        let set = ImageDataset(channels: 3, height: 1, width: 2, pixels: [0, 0, 0, 255, 51, 51, 0, 0, 0, 255, 51, 51],
                               labels: [0, 1])
        let statistics = set.channelStatistics()
        #expect(statistics.count == 3)
        #expect(statistics[0].mean == 0 && statistics[0].standardDeviation == 0)
        #expect(abs(statistics[1].mean - 0.5) < 1e-9 && abs(statistics[1].standardDeviation - 0.5) < 1e-9)
        #expect(abs(statistics[2].mean - 0.2) < 1e-9)
    }
}
