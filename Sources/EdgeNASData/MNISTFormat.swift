import Foundation

/// Loads datasets laid out like MNIST: four IDX files with the standard names
/// in one directory, each raw or gzip-compressed (`.gz`).
///
/// Fashion-MNIST, MNIST and KMNIST all use this layout.
public enum MNISTFormat {
    /// Which half of the dataset to load.
    public enum Split: String, Sendable, CaseIterable {
        /// The training images (`train-*`, 60,000 in Fashion-MNIST).
        case train
        /// The test images (`t10k-*`, 10,000 in Fashion-MNIST).
        case test

        /// The images file name without `.gz`, e.g. `train-images-idx3-ubyte`.
        public var imagesFileName: String { "\(filePrefix)-images-idx3-ubyte" }
        /// The labels file name without `.gz`, e.g. `train-labels-idx1-ubyte`.
        public var labelsFileName: String { "\(filePrefix)-labels-idx1-ubyte" }

        private var filePrefix: String {
            switch self {
            case .train: return "train"
            case .test: return "t10k"
            }
        }
    }

    /// Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist", isDirectory: true)

    /// Loads one split: its images file (IDX, 3 dimensions) and labels file (IDX, 1 dimension).
    ///
    /// - Parameters:
    ///   - directory: The directory that holds the four files; defaults to ``defaultDirectory``.
    ///   - split: ``Split/train`` or ``Split/test``.
    /// - Returns: The images with their labels; `classCount` is the largest label + 1.
    /// - Throws: ``DatasetError`` when the directory or a file is missing, a file is not a valid
    ///   IDX file, or the two files hold different numbers of items.
    public static func load(directory: URL = defaultDirectory, split: Split) throws -> ImageDataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw DatasetError.directoryNotFound(path: directory.path)
        }
        // Unreadable, the files would look missing ("missing dataset file").
        if access(directory.path, R_OK | X_OK) != 0 {
            throw DatasetError.directoryUnreadable(path: directory.path, reason: String(cString: strerror(errno)))
        }
        let imagesURL = try locateFile(named: split.imagesFileName, in: directory)
        let labelsURL = try locateFile(named: split.labelsFileName, in: directory)

        let images = try IDXFile.read(contentsOf: imagesURL, rank: 3)
        let (imageCount, height, width) = (images.dimensions[0], images.dimensions[1], images.dimensions[2])
        guard height > 0, width > 0 else {
            throw DatasetError.invalidShape(
                path: imagesURL.path, dimensions: images.dimensions,
                reason: "images need a positive height and width; the header is damaged")
        }
        let labels = try IDXFile.read(contentsOf: labelsURL, rank: 1)
        guard labels.dimensions[0] == imageCount else {
            throw DatasetError.countMismatch(
                imagesPath: imagesURL.path, imageCount: imageCount,
                labelsPath: labelsURL.path, labelCount: labels.dimensions[0])
        }
        return ImageDataset(height: height, width: width, pixels: images.bytes, labels: labels.bytes)
    }

    /// Finds `fileName.gz` or, failing that, `fileName` in `directory`.
    ///
    /// - Throws: ``DatasetError/fileNotFound(directory:fileName:)`` when neither exists.
    public static func locateFile(named fileName: String, in directory: URL) throws -> URL {
        for candidate in [fileName + ".gz", fileName] {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw DatasetError.fileNotFound(directory: directory.path, fileName: fileName)
    }
}
