import CONNXChecker
import Foundation

/// The native ONNX checker: libonnx's full model check followed by strict shape inference
/// with type checks, run in-process.
///
/// It is a fast first gate. Python's `onnx.checker.check_model(model, full_check=True)`
/// and a run in ONNX Runtime catch a few things it misses (a `raw_data` whose size does not
/// match its dims, a Gemm inner-dimension mismatch), so the test suite runs those too.
public enum ONNXChecker {
    /// Checks serialized `ModelProto` bytes.
    ///
    /// - Throws: ``ONNXExportError/checkerRejected(path:message:)`` with libonnx's message
    ///   (and `path`, when given, to say which destination was not written).
    public static func check(serializedModel bytes: Data, path: String? = nil) throws {
        guard !bytes.isEmpty else {
            throw ONNXExportError.checkerRejected(path: path, message: "the model is empty (0 bytes)")
        }
        var message: UnsafeMutablePointer<CChar>? = nil
        let status = bytes.withUnsafeBytes { raw in
            edgenas_onnx_check_model(raw.baseAddress!, raw.count, &message)
        }
        defer { free(message) }
        guard status == 0 else {
            let text = message.map { String(cString: $0) } ?? "libonnx reported failure \(status) without a message"
            throw ONNXExportError.checkerRejected(path: path, message: text)
        }
    }

    /// Serializes `model` and checks it.
    ///
    /// - Throws: ``ONNXExportError/checkerRejected(path:message:)``.
    public static func check(_ model: Onnx_ModelProto) throws {
        try check(serializedModel: model.serializedModelData())
    }
}
