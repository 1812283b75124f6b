import Foundation

/// A dataset on disk in any format EdgeNAS reads, brought to a network's input shape.
public enum DatasetSource: Sendable, Equatable, CustomStringConvertible {
    /// MNIST's IDX files in one directory (Fashion-MNIST, MNIST, KMNIST).
    case idx(URL)
    /// CIFAR's binary format: a folder of batches or one `.bin` file.
    case cifar(URL)
    /// One folder per class of PNG or JPEG files.
    case imageFolder(URL)

    /// The format of `path`, told by what it holds.
    ///
    /// - Throws: ``DatasetError/directoryNotFound(path:)`` for a missing path,
    ///   ``DatasetError/unrecognizedDataset(path:)`` for anything else.
    public static func detect(_ path: String) throws -> DatasetSource {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: url.path) else { throw DatasetError.directoryNotFound(path: path) }
        // Unreadable, its files would look missing and the format unknown.
        if ImageFolderFormat.isDirectory(url), access(url.path, R_OK | X_OK) != 0 {
            throw DatasetError.directoryUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if CIFARFormat.isCIFAR(url) { return .cifar(url) }
        if (try? MNISTFormat.locateFile(named: MNISTFormat.Split.train.imagesFileName, in: url)) != nil { return .idx(url) }
        if ImageFolderFormat.isDirectory(url) {
            if ImageFolderFormat.looksLikeImageFolder(url) { return .imageFolder(url) }
            // A folder of folders without images: say which class is empty, not that the format is unknown.
            if let classes = try? ImageFolderFormat.classFolders(ImageFolderFormat.splitDirectories(url).training), !classes.isEmpty {
                return .imageFolder(url)
            }
        }
        throw DatasetError.unrecognizedDataset(path: path)
    }

    public var url: URL {
        switch self {
        case .idx(let url), .cifar(let url), .imageFolder(let url): return url
        }
    }

    public var description: String {
        switch self {
        case .idx(let url): return "MNIST-format files in \(url.path)"
        case .cifar(let url): return "CIFAR binary data in \(url.path)"
        case .imageFolder(let url): return "image folder \(url.path)"
        }
    }

    /// Loads the training part and the test part (nil when the source has none), each image
    /// converted to `channels` and resized to `height × width` (``ImageDataset/converted(channels:height:width:)``).
    public func load(channels: Int, height: Int, width: Int,
                     progress: (Int, Int) -> Void = { _, _ in }) throws -> (training: ImageDataset, test: ImageDataset?) {
        switch self {
        case .idx(let url):
            let training = try MNISTFormat.load(directory: url, split: .train)
            let test = (try? MNISTFormat.locateFile(named: MNISTFormat.Split.test.imagesFileName, in: url)) == nil
                ? nil : try MNISTFormat.load(directory: url, split: .test)
            return (training.converted(channels: channels, height: height, width: width),
                    test?.converted(channels: channels, height: height, width: width))
        case .cifar(let url):
            let (training, test) = try CIFARFormat.load(url)
            return (training.converted(channels: channels, height: height, width: width),
                    test?.converted(channels: channels, height: height, width: width))
        case .imageFolder(let url):
            return try ImageFolderFormat.load(directory: url, channels: channels, height: height, width: width, progress: progress)
        }
    }
}

extension ImageDataset {
    /// This set with `channels` channels at `height × width`: colour converted by
    /// ``DecodedImage/converted(toChannels:)``, a different size resized with ``ImageResizing``.
    public func converted(channels target: Int, height newHeight: Int, width newWidth: Int) -> ImageDataset {
        if target == channels && newHeight == height && newWidth == width { return self }
        let plane = height * width
        var output: [UInt8] = []
        output.reserveCapacity(count * target * newHeight * newWidth)
        for index in 0..<count {
            let image = Array(pixels(ofImage: index))
            // Planar to interleaved, as decoded images are.
            let interleaved = (0..<plane).flatMap { offset in (0..<channels).map { image[$0 * plane + offset] } }
            let decoded = DecodedImage(width: width, height: height, channels: channels, pixels: interleaved)
            output += ImageResizing.resizedPlanar(decoded.converted(toChannels: target), height: newHeight, width: newWidth)
        }
        return ImageDataset(channels: target, height: newHeight, width: newWidth, pixels: output, labels: labels,
                            classCount: classCount, classNames: classNames)
    }
}
