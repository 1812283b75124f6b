import EdgeNASCore
import Foundation
import SwiftProtobuf

extension Onnx_ModelProto {
    /// Reads and parses the ONNX model file at `url`.
    ///
    /// - Throws: ``ONNXExportError/unreadable(path:reason:)``.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ONNXExportError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        do { self = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw ONNXExportError.unreadable(path: url.path, reason: "not an ONNX ModelProto (\(error))")
        }
    }

    /// The protobuf encoding, as written to `.onnx` files.
    ///
    /// - Throws: `SwiftProtobuf.BinaryEncodingError` when a required field is missing
    ///   (never for models built by ``ONNXGraphBuilder``).
    public func serializedModelData() throws -> Data {
        try serializedBytes()
    }

    /// `metadata_props` as a dictionary (the last entry wins for a repeated key).
    public var metadata: [String: String] {
        Dictionary(metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// Writes the model to `url` atomically and checks it with the native ONNX checker.
    ///
    /// The bytes go to a temporary file next to `url`, are read back and checked
    /// (``ONNXChecker``), and only then renamed over `url` with rename(2), so readers see
    /// the old file or the complete new one. When any step fails the temporary file is
    /// removed and `url` is left as it was. Temporary files of earlier, killed writes of `url`
    /// are removed first.
    ///
    /// - Throws: ``ONNXExportError/writeFailed(path:reason:)`` when the directory is missing
    ///   or not writable; ``ONNXExportError/checkerRejected(path:message:)`` with the
    ///   checker's message.
    public func write(to url: URL) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ONNXExportError.writeFailed(path: path, reason: "directory \(directory.path) does not exist; create it first")
        }
        let data: Data
        do { data = try serializedModelData() } catch {
            throw ONNXExportError.writeFailed(path: path, reason: "cannot serialize the model: \(error)")
        }
        // A killed export leaves its temporary file (200 MB for a 50 M-parameter model); the
        // next export to the same name removes those whose writer is gone.
        PartialFile.removeStale(for: url)
        let temporary = PartialFile.temporaryURL(for: url)
        do {
            do { try data.write(to: temporary) } catch {
                throw ONNXExportError.writeFailed(path: path, reason: error.localizedDescription)
            }
            // Check what is on disk, not only what was meant to be written.
            let written: Data
            do { written = try Data(contentsOf: temporary) } catch {
                throw ONNXExportError.writeFailed(path: path, reason: "cannot read back \(temporary.lastPathComponent): \(error.localizedDescription)")
            }
            try ONNXChecker.check(serializedModel: written, path: path)
            guard rename(temporary.path, path) == 0 else {
                throw ONNXExportError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}
