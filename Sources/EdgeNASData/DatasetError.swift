import Foundation

/// Everything that can go wrong while reading a dataset from disk.
///
/// Each case names the file or directory, says what is wrong with it and,
/// in ``description``, how to fix it. Paths are kept as given so that the
/// message points at the exact file the user has to look at.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The dataset directory does not exist or is not a directory.
    case directoryNotFound(path: String)
    /// The dataset directory exists but this user may not list or enter it.
    case directoryUnreadable(path: String, reason: String)
    /// Neither `fileName.gz` nor `fileName` exists in `directory`.
    case fileNotFound(directory: String, fileName: String)
    /// The file exists but could not be opened; `reason` is the system's explanation.
    case unreadable(path: String, reason: String)
    /// The first four bytes are not the IDX magic number that was expected.
    ///
    /// IDX magic numbers are `0x0000TTRR`: two zero bytes, the element type
    /// `TT` (`0x08` for unsigned bytes) and the number of dimensions `RR`.
    case badMagic(path: String, found: UInt32, expected: UInt32)
    /// The (decompressed) file is shorter than its header says.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The (decompressed) file is longer than its header says.
    case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
    /// zlib could not decompress the file; `zlibMessage` is zlib's own explanation.
    case corruptCompressedData(path: String, zlibMessage: String)
    /// The header's dimensions cannot describe a usable array of images or labels.
    case invalidShape(path: String, dimensions: [Int], reason: String)
    /// The images file and the labels file of one split hold different numbers of items.
    case countMismatch(imagesPath: String, imageCount: Int, labelsPath: String, labelCount: Int)
    /// libpng or libjpeg could not decode an image file; `reason` is the library's message.
    case undecodableImage(path: String, reason: String)
    /// An image folder's class folder holds no PNG or JPEG file.
    case emptyClass(path: String)
    /// An image folder has no class folders.
    case noClassFolders(path: String)
    /// More classes than labels of one byte can name.
    case tooManyClasses(path: String, count: Int)
    /// A CIFAR binary file's size is not a whole number of records of one size.
    case cifarRecordSize(path: String, bytes: Int, recordBytes: Int)
    /// The dataset has a different number of classes than the search space's `classes`.
    case classCountMismatch(path: String, found: Int, expected: Int)
    /// The path is neither an MNIST-format directory, a CIFAR binary file or directory, nor an image folder.
    case unrecognizedDataset(path: String)

    public var description: String {
        switch self {
        case .directoryNotFound(let path):
            return "dataset directory \(path) does not exist: " + Self.missingDatasetHint(directory: path)
        case .directoryUnreadable(let path, let reason):
            return "cannot read dataset directory \(path): \(reason); check that this user may read and enter it "
                + "(its permissions and those of the folders above it)"
        case .fileNotFound(let directory, let fileName):
            let base = URL(fileURLWithPath: directory, isDirectory: true).appendingPathComponent(fileName).path
            return "missing dataset file \(base).gz (or uncompressed \(base)): "
                + Self.missingDatasetHint(directory: directory)
        case .unreadable(let path, let reason):
            return "cannot open \(path): \(reason); check that the file is readable by this user"
        case .badMagic(let path, let found, let expected):
            return "\(path) is not the expected IDX file: magic number is \(Self.hex(found)), "
                + "expected \(Self.hex(expected)); " + Self.magicDiagnosis(found: found, expected: expected)
        case .truncated(let path, let expectedBytes, let actualBytes):
            return "\(path) is truncated: its header describes \(expectedBytes) bytes but it holds only "
                + "\(actualBytes); the file is incomplete, download or install it again"
        case .trailingBytes(let path, let expectedBytes, let actualBytes):
            return "\(path) has \(actualBytes - expectedBytes) unexpected bytes after the data: its header "
                + "describes \(expectedBytes) bytes but it holds \(actualBytes); the header or the file is "
                + "damaged, download or install it again"
        case .corruptCompressedData(let path, let zlibMessage):
            return "\(path) is damaged gzip data (zlib: \(zlibMessage)); download or install the file again"
        case .invalidShape(let path, let dimensions, let reason):
            return "\(path) has dimensions \(dimensions): \(reason)"
        case .countMismatch(let imagesPath, let imageCount, let labelsPath, let labelCount):
            return "image and label counts differ: \(imagesPath) holds \(imageCount) images but "
                + "\(labelsPath) holds \(labelCount) labels; use the images and labels files of the same "
                + "split of the same dataset"
        case .undecodableImage(let path, let reason):
            return "cannot decode image \(path): \(reason); re-save it as PNG or JPEG, or remove it from the folder"
        case .emptyClass(let path):
            return "class folder \(path) holds no .png, .jpg or .jpeg file; add images or remove the folder"
        case .noClassFolders(let path):
            return "\(path) has no class folders: an image folder holds one folder per class (DIR/CLASS/*.png|jpg|jpeg), "
                + "optionally inside train/ and test/"
        case .tooManyClasses(let path, let count):
            return "\(path) has \(count) classes; at most 256 are supported"
        case .cifarRecordSize(let path, let bytes, let recordBytes):
            return "\(path) holds \(bytes) bytes, not a whole number of \(recordBytes)-byte CIFAR records: the file is "
                + "damaged or mixes image sizes; CIFAR-10 records are 1 label byte + 3072 pixel bytes (32×32 RGB), "
                + "CIFAR-100 records 2 label bytes + 3072"
        case .classCountMismatch(let path, let found, let expected):
            return "\(path) has \(found) classes but the architecture expects \(expected); set its \"classes\" (in the "
                + "architecture or space file) to \(found), or use a dataset with \(expected) classes"
        case .unrecognizedDataset(let path):
            return "\(path) is not a dataset EdgeNAS can read: pass an MNIST-format directory (train-images-idx3-ubyte…), "
                + "a CIFAR binary file or its folder (data_batch_1.bin…, or train.bin for CIFAR-100), or an image "
                + "folder (DIR/CLASS/*.png|jpg|jpeg)"
        }
    }

    private static func missingDatasetHint(directory: String) -> String {
        if URL(fileURLWithPath: directory).standardizedFileURL.path
            == MNISTFormat.defaultDirectory.standardizedFileURL.path {
            return "install the Debian package dataset-fashion-mnist (scripts/setup.sh does) or pass --data DIR"
        }
        return "pass --data DIR with a directory that holds the MNIST-format files "
            + "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
            + "t10k-labels-idx1-ubyte, each raw or gzip-compressed (.gz)"
    }

    private static func magicDiagnosis(found: UInt32, expected: UInt32) -> String {
        if found >> 16 != 0 {
            return "an IDX file starts with two zero bytes, so this is not an IDX (MNIST-format) file "
                + "or it is compressed with something other than gzip"
        }
        let foundType = (found >> 8) & 0xFF
        if foundType != (expected >> 8) & 0xFF {
            return "element type \(Self.hex(foundType, digits: 2)) is not supported, "
                + "only unsigned bytes (0x08) are"
        }
        return "the file has \(found & 0xFF) dimensions instead of \(expected & 0xFF); "
            + "images are idx3 files and labels idx1 files, check that they are not swapped"
    }

    private static func hex(_ value: UInt32, digits: Int = 8) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
