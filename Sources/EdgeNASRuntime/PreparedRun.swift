import CONNXRuntime
import Foundation

/// One set of inputs bound to an ``InferenceSession``, ready to run many times.
///
/// The input tensors wrap buffers this object owns, and the output tensors ONNX Runtime
/// allocates on the first call are handed back to it on later calls, so a call does no
/// Swift allocation: timing it measures ONNX Runtime.
///
/// ```swift
/// let run = try session.prepareRun(inputs: inputs)
/// for _ in 0..<100 { try run() }
/// let outputs = try run.outputs()
/// ```
///
/// Not `Sendable`: a call rewrites the output tensors, so use it from one thread at a time.
public final class PreparedRun {
    /// The session this run belongs to.
    public let session: InferenceSession

    private let api: EdgeNASOrtApi
    private let inputCount: Int
    private let outputCount: Int
    /// One buffer per input, in the model's input order; the input tensors point into them.
    private let inputBuffers: [UnsafeMutableBufferPointer<Float>]
    private let inputValues: UnsafeMutablePointer<OpaquePointer?>
    private let inputNamePointers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private let outputNamePointers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    /// `nil` until the first call; ONNX Runtime fills them in.
    private let outputValues: UnsafeMutablePointer<OpaquePointer?>
    private var hasRun = false

    /// `inputs` must be validated and in the model's input order.
    init(session: InferenceSession, inputs: [NamedFloatTensor]) throws {
        self.session = session
        let runtime = session.runtime
        api = runtime.api
        inputCount = inputs.count
        outputCount = session.outputNames.count
        inputBuffers = inputs.map { input in
            // Capacity ≥ 1 so that an empty tensor still has a valid data pointer.
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, input.values.count))
            _ = buffer.initialize(from: input.values)
            return buffer
        }
        inputValues = .allocate(capacity: max(1, inputCount))
        inputValues.initialize(repeating: nil, count: max(1, inputCount))
        inputNamePointers = Self.copyCStrings(session.inputNames)
        outputNamePointers = Self.copyCStrings(session.outputNames)
        outputValues = .allocate(capacity: max(1, outputCount))
        outputValues.initialize(repeating: nil, count: max(1, outputCount))

        // From here on, deinit releases whatever was created if a later step throws.
        for (index, input) in inputs.enumerated() {
            let shape = input.shape.map { Int64($0) }
            try runtime.check(
                api.CreateTensorWithDataAsOrtValue(
                    runtime.cpuMemoryInfo, inputBuffers[index].baseAddress,
                    input.values.count * MemoryLayout<Float>.stride, shape, shape.count,
                    EdgeNASOrtElementTypeFloat, &inputValues[index])
            ) { "create a tensor of shape \(input.shape) for input '\(input.name)'" }
        }
    }

    deinit {
        for index in 0..<inputCount { api.ReleaseValue(inputValues[index]) }
        for index in 0..<outputCount { api.ReleaseValue(outputValues[index]) }
        for buffer in inputBuffers { buffer.deallocate() }
        inputValues.deallocate()
        outputValues.deallocate()
        Self.freeCStrings(inputNamePointers, count: inputCount)
        Self.freeCStrings(outputNamePointers, count: outputCount)
    }

    /// Runs the model once on the prepared inputs.
    ///
    /// - Throws: ``ONNXRuntimeError/runtimeFailure(operation:code:message:)`` when ONNX
    ///   Runtime fails.
    public func callAsFunction() throws {
        let status = api.Run(
            session.session, nil, inputNamePointers, inputValues, inputCount, outputNamePointers, outputCount,
            outputValues)
        try session.runtime.check(status) { "run the model" }
        hasRun = true
    }

    /// Copies the outputs of the latest call.
    ///
    /// - Returns: every model output, in the order of ``InferenceSession/outputNames``.
    /// - Throws: ``ONNXRuntimeError/unsupportedElementType(tensor:elementType:)`` for an
    ///   output that is not a float32 tensor, or an ONNX Runtime failure to read it.
    public func outputs() throws -> [NamedFloatTensor] {
        precondition(hasRun, "PreparedRun.outputs(): call the prepared run before reading its outputs")
        let runtime = session.runtime
        return try session.outputNames.enumerated().map { index, name in
            let value = outputValues[index]
            var tensorInfo: OpaquePointer?
            try runtime.check(api.GetTensorTypeAndShape(value, &tensorInfo)) { "read the shape of output '\(name)'" }
            defer { api.ReleaseTensorTypeAndShapeInfo(tensorInfo) }
            let (elementType, shape) = try runtime.typeAndDimensions(of: tensorInfo!) {
                "read the shape of output '\(name)'"
            }
            guard elementType == Int(EdgeNASOrtElementTypeFloat.rawValue) else {
                throw ONNXRuntimeError.unsupportedElementType(tensor: name, elementType: elementType)
            }
            var data: UnsafeMutableRawPointer?
            try runtime.check(api.GetTensorMutableData(value, &data)) { "read the values of output '\(name)'" }
            let count = shape.reduce(1, *)
            guard count > 0, let data else { return (name, shape, []) }
            let floats = UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: count)
            return (name, shape, Array(floats))
        }
    }

    private static func copyCStrings(_ strings: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, strings.count))
        pointers.initialize(repeating: nil, count: max(1, strings.count))
        for (index, string) in strings.enumerated() { pointers[index] = UnsafePointer(strdup(string)) }
        return pointers
    }

    private static func freeCStrings(_ pointers: UnsafeMutablePointer<UnsafePointer<CChar>?>, count: Int) {
        for index in 0..<count { free(UnsafeMutableRawPointer(mutating: pointers[index])) }
        pointers.deallocate()
    }
}
