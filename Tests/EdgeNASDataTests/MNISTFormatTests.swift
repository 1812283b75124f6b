import Foundation
import Testing

@testable import EdgeNASData

@Suite struct MNISTFormatTests {
    @Test(arguments: [false, true])
    func loadsBothSplitsOfASmallDataset(gzip: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let train = try IDXFixtures.writeSplit("train", in: directory, imageCount: 12, gzip: gzip)
        let test = try IDXFixtures.writeSplit("t10k", in: directory, imageCount: 4, gzip: gzip)

        let trainSet = try MNISTFormat.load(directory: directory.url, split: .train)
        let testSet = try MNISTFormat.load(directory: directory.url, split: .test)

        #expect(trainSet == ImageDataset(height: 3, width: 2, pixels: train.pixels, labels: train.labels))
        #expect(testSet == ImageDataset(height: 3, width: 2, pixels: test.pixels, labels: test.labels))
        #expect((trainSet.count, trainSet.channels, trainSet.classCount) == (12, 1, 10))
        #expect(testSet.classCount == 4)
        #expect(Array(trainSet.pixels(ofImage: 2)) == [32, 33, 34, 35, 36, 37])
        #expect(trainSet.labelCounts() == [2, 2, 1, 1, 1, 1, 1, 1, 1, 1])
    }

    @Test func prefersTheGzipFileWhenBothFormsExist() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try IDXFixtures.writeSplit("train", in: directory, imageCount: 3, gzip: true)
        _ = try IDXFixtures.writeSplit("train", in: directory, imageCount: 5, gzip: false)

        #expect(try MNISTFormat.load(directory: directory.url, split: .train).count == 3)
        #expect(
            try MNISTFormat.locateFile(named: "train-images-idx3-ubyte", in: directory.url)
                == directory.file("train-images-idx3-ubyte.gz"))
    }

    @Test func prefixKeepsTheFirstImagesAndTheClassCount() throws {
        let dataset = ImageDataset(
            height: 1, width: 2, pixels: [1, 2, 3, 4, 5, 6], labels: [0, 9, 4])

        let first = dataset.prefix(2)

        #expect(first == ImageDataset(height: 1, width: 2, pixels: [1, 2, 3, 4], labels: [0, 9], classCount: 10))
        #expect(dataset.prefix(10) == dataset)
    }

    @Test func countMismatchNamesBothFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try IDXFixtures.writeSplit("train", in: directory, imageCount: 6, labelCount: 5, gzip: true)

        let error = #expect(throws: DatasetError.self) {
            try MNISTFormat.load(directory: directory.url, split: .train)
        }

        let images = directory.file("train-images-idx3-ubyte.gz").path
        let labels = directory.file("train-labels-idx1-ubyte.gz").path
        #expect(
            error?.description
                == "image and label counts differ: \(images) holds 6 images but \(labels) holds 5 labels; "
                + "use the images and labels files of the same split of the same dataset")
    }

    @Test func missingFileNamesBothFormsAndTheFix() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try IDXFixtures.writeSplit("train", in: directory, imageCount: 2, gzip: false)

        let error = #expect(throws: DatasetError.self) {
            try MNISTFormat.load(directory: directory.url, split: .test)
        }

        let base = directory.file("t10k-images-idx3-ubyte").path
        #expect(error == .fileNotFound(directory: directory.url.path, fileName: "t10k-images-idx3-ubyte"))
        #expect(
            error?.description
                == "missing dataset file \(base).gz (or uncompressed \(base)): pass --data DIR with a directory "
                + "that holds the MNIST-format files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                + "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or gzip-compressed (.gz)")
    }

    @Test func missingDirectoryIsReported() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let absent = directory.url.appendingPathComponent("nowhere")

        let error = #expect(throws: DatasetError.self) {
            try MNISTFormat.load(directory: absent, split: .train)
        }

        #expect(error == .directoryNotFound(path: absent.path))
    }

    @Test func missingDefaultDatasetPointsAtTheDebianPackage() {
        let error = DatasetError.directoryNotFound(path: "/usr/share/datasets/fashion-mnist")
        #expect(
            error.description
                == "dataset directory /usr/share/datasets/fashion-mnist does not exist: install the Debian "
                + "package dataset-fashion-mnist (scripts/setup.sh does) or pass --data DIR")
        let missingFile = DatasetError.fileNotFound(
            directory: "/usr/share/datasets/fashion-mnist/", fileName: "t10k-labels-idx1-ubyte")
        #expect(
            missingFile.description
                == "missing dataset file /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz (or "
                + "uncompressed /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte): install the Debian "
                + "package dataset-fashion-mnist (scripts/setup.sh does) or pass --data DIR")
    }

    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: MNISTFormat.defaultDirectory.path),
            "Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)"
        ))
    func loadsTheRealFashionMNIST() throws {
        let train = try MNISTFormat.load(split: .train)
        let test = try MNISTFormat.load(split: .test)

        #expect((train.count, train.channels, train.height, train.width, train.classCount) == (60000, 1, 28, 28, 10))
        #expect((test.count, test.height, test.width, test.classCount) == (10000, 28, 28, 10))
        #expect(train.pixels.count == 60000 * 28 * 28)
        #expect(train.labelCounts() == Array(repeating: 6000, count: 10))
        #expect(test.labelCounts() == Array(repeating: 1000, count: 10))
        // Fashion-MNIST images have a black background and use the full intensity range.
        #expect(train.pixels(ofImage: 0).first == 0)
        #expect(train.pixels.prefix(100 * 28 * 28).max() == 255)
    }
}
