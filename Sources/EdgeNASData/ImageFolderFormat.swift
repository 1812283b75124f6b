import Foundation

/// Loads a folder of images with one folder per class, the layout of torchvision's
/// `ImageFolder` and Keras' `image_dataset_from_directory`: `DIR/CLASS/*.png|jpg|jpeg`, or
/// `DIR/train/CLASS/…` with an optional `DIR/test/CLASS/…` (or `val/`) held out for the
/// final report.
///
/// Class names are the folder names in byte order (label 0 is the first). Every image is
/// decoded by libpng or libjpeg-turbo, converted to the requested channels and resized with
/// ``ImageResizing``. Hidden files and files with other extensions are skipped.
public enum ImageFolderFormat {
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The folders that hold the training and (optional) test classes of `directory`.
    static func splitDirectories(_ directory: URL) -> (training: URL, test: URL?) {
        let train = directory.appendingPathComponent("train", isDirectory: true)
        guard isDirectory(train) else { return (directory, nil) }
        let test = ["test", "val"].map { directory.appendingPathComponent($0, isDirectory: true) }.first(where: isDirectory)
        return (train, test)
    }

    /// Whether `directory` holds at least one class folder with an image in it.
    public static func looksLikeImageFolder(_ directory: URL) -> Bool {
        let classes = (try? classFolders(splitDirectories(directory).training)) ?? []
        return classes.contains { (try? imageFiles(in: $0).isEmpty == false) ?? false }
    }

    /// - Parameters:
    ///   - channels, height, width: the shape every image is converted to.
    ///   - progress: called with (images done, images in all) while decoding.
    /// - Throws: ``DatasetError`` naming the path: no class folders, an empty class, an
    ///   undecodable image, more than 256 classes, a test class the training part lacks.
    public static func load(directory: URL, channels: Int, height: Int, width: Int,
                            progress: (Int, Int) -> Void = { _, _ in }) throws -> (training: ImageDataset, test: ImageDataset?) {
        guard isDirectory(directory) else { throw DatasetError.directoryNotFound(path: directory.path) }
        let (trainingDirectory, testDirectory) = splitDirectories(directory)
        let classes = try classFolders(trainingDirectory)
        guard !classes.isEmpty else { throw DatasetError.noClassFolders(path: trainingDirectory.path) }
        guard classes.count <= 256 else { throw DatasetError.tooManyClasses(path: trainingDirectory.path, count: classes.count) }
        let names = classes.map(\.lastPathComponent)
        var files: [(url: URL, label: Int, test: Bool)] = []
        for (label, folder) in classes.enumerated() {
            let images = try imageFiles(in: folder)
            guard !images.isEmpty else { throw DatasetError.emptyClass(path: folder.path) }
            files += images.map { ($0, label, false) }
        }
        if let testDirectory {
            for folder in try classFolders(testDirectory) {
                guard let label = names.firstIndex(of: folder.lastPathComponent) else {
                    throw DatasetError.invalidShape(path: folder.path, dimensions: [],
                                                    reason: "the test part has class \(folder.lastPathComponent), which the training part lacks")
                }
                files += try imageFiles(in: folder).map { ($0, label, true) }
            }
        }
        var parts: [Bool: (pixels: [UInt8], labels: [UInt8])] = [false: ([], []), true: ([], [])]
        for (done, file) in files.enumerated() {
            let data: Data
            do { data = try Data(contentsOf: file.url) } catch {
                throw DatasetError.unreadable(path: file.url.path, reason: (error as NSError).localizedDescription)
            }
            let image = try ImageCodec.decode(data, channels: channels, path: file.url.path)
            parts[file.test]!.pixels += ImageResizing.resizedPlanar(image, height: height, width: width)
            parts[file.test]!.labels.append(UInt8(file.label))
            progress(done + 1, files.count)
        }
        func dataset(_ part: (pixels: [UInt8], labels: [UInt8])) -> ImageDataset {
            ImageDataset(channels: channels, height: height, width: width, pixels: part.pixels, labels: part.labels,
                         classCount: names.count, classNames: names)
        }
        return (dataset(parts[false]!), testDirectory == nil ? nil : dataset(parts[true]!))
    }

    static func isDirectory(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }

    static func visibleEntries(_ directory: URL) throws -> [URL] {
        do {
            return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { !$0.lastPathComponent.hasPrefix(".") }
                .sorted { Array($0.lastPathComponent.utf8).lexicographicallyPrecedes(Array($1.lastPathComponent.utf8)) }
        } catch {
            throw DatasetError.directoryUnreadable(path: directory.path, reason: (error as NSError).localizedDescription)
        }
    }

    static func classFolders(_ directory: URL) throws -> [URL] {
        try visibleEntries(directory).filter(isDirectory)
    }

    static func imageFiles(in folder: URL) throws -> [URL] {
        try visibleEntries(folder).filter { imageExtensions.contains($0.pathExtension.lowercased()) && !isDirectory($0) }
    }
}
