import Foundation

/// Loads CIFAR's binary format: records of label byte(s) then 3072 pixel bytes (a 32×32 RGB
/// image as three planes). CIFAR-10 records have one label byte (files `data_batch_1.bin` …
/// `data_batch_5.bin`, `test_batch.bin`, names in `batches.meta.txt`); CIFAR-100 records two,
/// coarse then fine, of which the fine label is used (`train.bin`, `test.bin`, names in
/// `fine_label_names.txt`). A single `.bin` file is read as training data, one label byte.
public enum CIFARFormat {
    public static let side = 32
    static let pixelBytes = 3 * 32 * 32

    /// The training and test files of a CIFAR folder, and its label bytes per record; nil
    /// when `directory` is not one.
    static func layout(_ directory: URL) -> (training: [URL], test: URL?, labelBytes: Int, names: URL)? {
        let file = { (name: String) in directory.appendingPathComponent(name) }
        let exists = { (url: URL) in FileManager.default.fileExists(atPath: url.path) }
        let batches = (1...5).map { file("data_batch_\($0).bin") }.filter(exists)
        if !batches.isEmpty {
            return (batches, exists(file("test_batch.bin")) ? file("test_batch.bin") : nil, 1, file("batches.meta.txt"))
        }
        if exists(file("train.bin")) {
            return ([file("train.bin")], exists(file("test.bin")) ? file("test.bin") : nil, 2, file("fine_label_names.txt"))
        }
        return nil
    }

    public static func isCIFAR(_ url: URL) -> Bool {
        url.pathExtension.lowercased() == "bin" ? FileManager.default.fileExists(atPath: url.path) : layout(url) != nil
    }

    /// - Throws: ``DatasetError/cifarRecordSize(path:bytes:recordBytes:)`` for a file that is not
    ///   a whole number of records, ``DatasetError/unreadable(path:reason:)``.
    public static func load(_ url: URL) throws -> (training: ImageDataset, test: ImageDataset?) {
        if url.pathExtension.lowercased() == "bin" {
            return (try read([url], labelBytes: 1, names: nil), nil)
        }
        guard let layout = layout(url) else { throw DatasetError.unrecognizedDataset(path: url.path) }
        let names = try? String(contentsOf: layout.names, encoding: .utf8).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let training = try read(layout.training, labelBytes: layout.labelBytes, names: names)
        let test = try layout.test.map { try read([$0], labelBytes: layout.labelBytes, names: names) }
        return (training, test)
    }

    static func read(_ files: [URL], labelBytes: Int, names: [String]?) throws -> ImageDataset {
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for file in files {
            let data: Data
            do { data = try Data(contentsOf: file) } catch {
                throw DatasetError.unreadable(path: file.path, reason: (error as NSError).localizedDescription)
            }
            let part = try records(data, labelBytes: labelBytes, path: file.path)
            pixels += part.pixels
            labels += part.labels
        }
        return dataset(pixels: pixels, labels: labels, names: names)
    }

    /// The pixels and labels of one file's bytes.
    ///
    /// - Throws: ``DatasetError/cifarRecordSize(path:bytes:recordBytes:)`` unless the bytes are
    ///   a whole, non-zero number of records.
    public static func records(_ data: Data, labelBytes: Int, path: String) throws -> (pixels: [UInt8], labels: [UInt8]) {
        let record = labelBytes + pixelBytes
        guard !data.isEmpty, data.count % record == 0 else {
            throw DatasetError.cifarRecordSize(path: path, bytes: data.count, recordBytes: record)
        }
        let bytes = [UInt8](data)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        pixels.reserveCapacity(bytes.count / record * pixelBytes)
        for start in stride(from: 0, to: bytes.count, by: record) {
            labels.append(bytes[start + labelBytes - 1])
            pixels += bytes[(start + labelBytes)..<(start + record)]
        }
        return (pixels, labels)
    }

    /// A 3×32×32 dataset of `pixels` and `labels`, named by `names` when they cover every label.
    public static func dataset(pixels: [UInt8], labels: [UInt8], names: [String]?) -> ImageDataset {
        let largest = Int(labels.max() ?? 0) + 1
        let classNames = names.flatMap { $0.count >= largest ? $0 : nil }
        return ImageDataset(channels: 3, height: side, width: side, pixels: pixels, labels: labels,
                            classCount: classNames?.count ?? largest, classNames: classNames)
    }
}
