import EdgeNASCore

/// Why an ONNX model could not be built, checked or written.
///
/// Each case says what failed, where (the file, the tensor names) and how to fix it.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The weights do not describe the architecture being exported: names the graph needs
    /// that are absent, names the network has that the graph does not use, and names whose
    /// shapes differ (`name (weights [..], architecture [..])`).
    case weightsMismatch(missing: [String], unexpected: [String], misshaped: [String])
    /// A metadata key the exporter writes itself was also passed by the caller.
    case reservedMetadataKey(String)
    /// The native ONNX checker (libonnx) rejected the model; `path` is the destination
    /// that was not written, when there was one.
    case checkerRejected(path: String?, message: String)
    /// The model file could not be written (nothing is left under `path`).
    case writeFailed(path: String, reason: String)
    /// A model file could not be read or parsed.
    case unreadable(path: String, reason: String)

    /// What failed, where, and how to fix it, in one line.
    public var description: String {
        switch self {
        case let .weightsMismatch(missing, unexpected, misshaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.joined(separator: ", "))") }
            if !misshaped.isEmpty { parts.append("mis-shaped \(misshaped.joined(separator: ", "))") }
            return "the weights do not fit the architecture: \(parts.joined(separator: "; ")); build the network " +
                "from the same architecture file (and the same input channels) that is being exported"
        case let .reservedMetadataKey(key):
            return "metadata key \(key) is written by the exporter itself; pass extra entries under other keys"
        case let .checkerRejected(path, message):
            let destination = path.map { "\($0): not written: " } ?? ""
            return "\(destination)the ONNX checker rejected the model: \(message); for a model built by " +
                "ONNXExporter this is an exporter bug, report it with the architecture file"
        case let .writeFailed(path, reason):
            return "\(path): cannot write the ONNX model: \(reason)"
        case let .unreadable(path, reason):
            return "\(path): cannot read an ONNX model: \(reason)"
        }
    }
}
