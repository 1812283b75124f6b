import CONNXRuntime
import Foundation

/// A named float32 tensor: `values` in row-major order, `values.count` = ∏ `shape`.
public typealias NamedFloatTensor = (name: String, shape: [Int], values: [Float])

/// How much ONNX Runtime rewrites the graph when it creates a session.
public enum GraphOptimizationLevel: Sendable, CaseIterable {
    /// Runs the graph as exported.
    case disabled
    /// Semantics-preserving rewrites such as constant folding and redundant-node removal.
    case basic
    /// Basic plus node fusions (e.g. Conv+Add, Gemm+Activation).
    case extended
    /// Everything, including layout optimisations; what deployed models run with.
    case all

    var ortValue: EdgeNASOrtGraphOptimizationLevel {
        switch self {
        case .disabled: return EdgeNASOrtGraphOptimizationDisableAll
        case .basic: return EdgeNASOrtGraphOptimizationEnableBasic
        case .extended: return EdgeNASOrtGraphOptimizationEnableExtended
        case .all: return EdgeNASOrtGraphOptimizationEnableAll
        }
    }
}

/// An ONNX model loaded into ONNX Runtime's CPU execution provider, ready to run.
///
/// ```swift
/// let session = try InferenceSession(contentsOf: modelURL)
/// let outputs = try session.run(inputs: [(name: "input", shape: [1, 4], values: [1, 2, 3, 4])])
/// ```
///
/// For timing, ``prepareRun(inputs:)`` creates the input tensors once so that each call
/// measures ONNX Runtime rather than Swift allocations.
public final class InferenceSession: @unchecked Sendable {
    // Sharing across threads is safe: every stored property is a `let` set in `init`,
    // and ONNX Runtime documents concurrent `Run` calls on one session as supported.
    // EdgeNAS itself runs a session from one thread at a time, so timings stay clean.

    /// Thread and optimisation settings of a session.
    public struct Options: Sendable, Equatable {
        /// Threads that split the work of one operator; 0 lets ONNX Runtime choose (one per
        /// physical core). The default, 1, runs each operator on the calling thread.
        public var intraOpThreads: Int
        /// Threads that run independent operators at once (used only by parallel
        /// execution mode; sessions here run sequentially); 0 lets ONNX Runtime choose.
        public var interOpThreads: Int
        /// How much ONNX Runtime optimises the graph when the session is created.
        public var graphOptimizationLevel: GraphOptimizationLevel

        /// - Parameters:
        ///   - intraOpThreads: threads per operator, ≥ 0 (0: ONNX Runtime's default).
        ///   - interOpThreads: threads across operators, ≥ 0 (0: ONNX Runtime's default).
        ///   - graphOptimizationLevel: graph rewrites applied at creation.
        public init(
            intraOpThreads: Int = 1, interOpThreads: Int = 1, graphOptimizationLevel: GraphOptimizationLevel = .all
        ) {
            self.intraOpThreads = intraOpThreads
            self.interOpThreads = interOpThreads
            self.graphOptimizationLevel = graphOptimizationLevel
        }
    }

    /// The runtime this session lives in.
    public let runtime: ONNXRuntime
    /// The settings the session was created with.
    public let options: Options
    /// The model's input names, in the model's order.
    public let inputNames: [String]
    /// The model's declared input shapes, aligned with ``inputNames``; `nil` marks a
    /// symbolic dimension (such as a batch size) that accepts any size.
    public let inputShapes: [[Int?]]
    /// The model's output names, in the model's order.
    public let outputNames: [String]

    /// ONNX `TensorProto.DataType` of each input (0 for inputs that are not tensors).
    let inputElementTypes: [Int]
    let session: OpaquePointer

    /// Loads a model from an ONNX file.
    ///
    /// - Parameters:
    ///   - url: a file URL of an `.onnx` model.
    ///   - options: thread and optimisation settings.
    ///   - runtime: the runtime to use; `nil` loads it with ``ONNXRuntime/load(path:)``.
    /// - Throws: ``ONNXRuntimeError`` when the runtime cannot be loaded, an option is out
    ///   of range, or ONNX Runtime rejects the model (its message is kept).
    public convenience init(contentsOf url: URL, options: Options = Options(), runtime: ONNXRuntime? = nil) throws {
        precondition(url.isFileURL, "InferenceSession(contentsOf:): \(url) is not a file URL")
        let runtime = try runtime ?? ONNXRuntime.load()
        let path = url.path
        let session = try Self.createSession(runtime: runtime, options: options, source: "the model \(path)") {
            sessionOptions, session in
            runtime.api.CreateSession(runtime.environment, path, sessionOptions, &session)
        }
        try self.init(runtime: runtime, options: options, session: session)
    }

    /// Loads a model from the bytes of a serialized ONNX `ModelProto`.
    ///
    /// - Parameters:
    ///   - modelData: the model, as an `.onnx` file would hold it.
    ///   - options: thread and optimisation settings.
    ///   - runtime: the runtime to use; `nil` loads it with ``ONNXRuntime/load(path:)``.
    /// - Throws: ``ONNXRuntimeError`` when the runtime cannot be loaded, an option is out
    ///   of range, or ONNX Runtime rejects the model (its message is kept).
    public convenience init(modelData: Data, options: Options = Options(), runtime: ONNXRuntime? = nil) throws {
        let runtime = try runtime ?? ONNXRuntime.load()
        let source = "a model of \(modelData.count) bytes in memory"
        let session = try Self.createSession(runtime: runtime, options: options, source: source) {
            sessionOptions, session in
            modelData.withUnsafeBytes { bytes in
                runtime.api.CreateSessionFromArray(
                    runtime.environment, bytes.baseAddress, bytes.count, sessionOptions, &session)
            }
        }
        try self.init(runtime: runtime, options: options, session: session)
    }

    /// Takes ownership of `session`, releasing it if its inputs and outputs cannot be read.
    private init(runtime: ONNXRuntime, options: Options, session: OpaquePointer) throws {
        do {
            let inputs = try Self.describeInputs(of: session, runtime: runtime)
            self.outputNames = try Self.outputNames(of: session, runtime: runtime)
            self.inputNames = inputs.map(\.name)
            self.inputShapes = inputs.map(\.shape)
            self.inputElementTypes = inputs.map(\.elementType)
        } catch {
            runtime.api.ReleaseSession(session)
            throw error
        }
        self.runtime = runtime
        self.options = options
        self.session = session
    }

    deinit {
        runtime.api.ReleaseSession(session)
    }

    /// Runs the model once.
    ///
    /// - Parameter inputs: one float32 tensor per model input, in any order.
    /// - Returns: every model output, in the order of ``outputNames``.
    /// - Throws: ``ONNXRuntimeError`` for an unknown, missing or repeated input, a shape
    ///   the model does not accept, a value count that does not match the shape, a
    ///   non-float32 tensor, or a failure inside ONNX Runtime.
    public func run(inputs: [NamedFloatTensor]) throws -> [NamedFloatTensor] {
        let preparedRun = try prepareRun(inputs: inputs)
        try preparedRun()
        return try preparedRun.outputs()
    }

    /// Copies `inputs` into tensors owned by a ``PreparedRun`` that can run the model
    /// many times with no Swift allocation per run.
    ///
    /// - Parameter inputs: one float32 tensor per model input, in any order.
    /// - Throws: the input errors ``run(inputs:)`` throws, or an ONNX Runtime failure to
    ///   create a tensor.
    public func prepareRun(inputs: [NamedFloatTensor]) throws -> PreparedRun {
        try PreparedRun(session: self, inputs: validated(inputs))
    }

    /// The inputs in the model's order, checked against the model's declared inputs.
    private func validated(_ inputs: [NamedFloatTensor]) throws -> [NamedFloatTensor] {
        var ordered = [NamedFloatTensor?](repeating: nil, count: inputNames.count)
        for input in inputs {
            guard let index = inputNames.firstIndex(of: input.name) else {
                throw ONNXRuntimeError.unknownInput(name: input.name, modelInputNames: inputNames)
            }
            guard ordered[index] == nil else { throw ONNXRuntimeError.duplicateInput(name: input.name) }
            ordered[index] = input
        }
        let missing = inputNames.indices.filter { ordered[$0] == nil }.map { inputNames[$0] }
        guard missing.isEmpty else { throw ONNXRuntimeError.missingInputs(names: missing) }

        return try inputNames.indices.map { index in
            let input = ordered[index]!
            guard inputElementTypes[index] == Int(EdgeNASOrtElementTypeFloat.rawValue) else {
                throw ONNXRuntimeError.unsupportedElementType(
                    tensor: input.name, elementType: inputElementTypes[index])
            }
            guard input.shape.allSatisfy({ $0 >= 0 }) else {
                throw ONNXRuntimeError.negativeDimension(input: input.name, shape: input.shape)
            }
            let expectedShape = inputShapes[index]
            let shapeMatches = expectedShape.count == input.shape.count
                && zip(expectedShape, input.shape).allSatisfy { expected, actual in (expected ?? actual) == actual }
            guard shapeMatches else {
                throw ONNXRuntimeError.shapeMismatch(
                    input: input.name, expectedShape: expectedShape, actualShape: input.shape)
            }
            let count = input.shape.reduce(1, *)
            guard input.values.count == count else {
                throw ONNXRuntimeError.valueCountMismatch(
                    input: input.name, shape: input.shape, expectedCount: count, actualCount: input.values.count)
            }
            return input
        }
    }

    /// Creates session options from `options`, then a session with `create`.
    private static func createSession(
        runtime: ONNXRuntime, options: Options, source: String,
        _ create: (OpaquePointer, inout OpaquePointer?) -> OpaquePointer?
    ) throws -> OpaquePointer {
        for (name, value) in [("intraOpThreads", options.intraOpThreads), ("interOpThreads", options.interOpThreads)]
        where value < 0 {
            throw ONNXRuntimeError.invalidOption(
                name: name, value: value, reason: "use 0 (ONNX Runtime's default) or a positive thread count")
        }
        let api = runtime.api
        var sessionOptions: OpaquePointer?
        try runtime.check(api.CreateSessionOptions(&sessionOptions)) { "create session options" }
        defer { api.ReleaseSessionOptions(sessionOptions) }
        try runtime.check(api.SetIntraOpNumThreads(sessionOptions, Int32(clamping: options.intraOpThreads))) {
            "set intraOpThreads to \(options.intraOpThreads)"
        }
        try runtime.check(api.SetInterOpNumThreads(sessionOptions, Int32(clamping: options.interOpThreads))) {
            "set interOpThreads to \(options.interOpThreads)"
        }
        try runtime.check(
            api.SetSessionGraphOptimizationLevel(sessionOptions, options.graphOptimizationLevel.ortValue)
        ) { "set the graph optimization level to \(options.graphOptimizationLevel)" }
        var session: OpaquePointer?
        try runtime.check(create(sessionOptions!, &session)) { "create a session from \(source)" }
        return session!
    }

    private static func describeInputs(
        of session: OpaquePointer, runtime: ONNXRuntime
    ) throws -> [(name: String, shape: [Int?], elementType: Int)] {
        let api = runtime.api
        var count = 0
        try runtime.check(api.SessionGetInputCount(session, &count)) { "count the model's inputs" }
        return try (0..<count).map { index in
            var name: UnsafeMutablePointer<CChar>?
            try runtime.check(api.SessionGetInputName(session, index, runtime.defaultAllocator, &name)) {
                "read the name of input \(index)"
            }
            let inputName = runtime.takeString(name)
            var typeInfo: OpaquePointer?
            try runtime.check(api.SessionGetInputTypeInfo(session, index, &typeInfo)) {
                "read the type of input '\(inputName)'"
            }
            defer { api.ReleaseTypeInfo(typeInfo) }
            var tensorInfo: OpaquePointer?
            try runtime.check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo)) {
                "read the tensor type of input '\(inputName)'"
            }
            // Not a tensor (a sequence or a map): report element type 0, rejected at run time.
            guard let tensorInfo else { return (inputName, [], 0) }
            let (elementType, dimensions) = try runtime.typeAndDimensions(of: tensorInfo) {
                "read the shape of input '\(inputName)'"
            }
            return (inputName, dimensions.map { $0 >= 0 ? $0 : nil }, elementType)
        }
    }

    private static func outputNames(of session: OpaquePointer, runtime: ONNXRuntime) throws -> [String] {
        let api = runtime.api
        var count = 0
        try runtime.check(api.SessionGetOutputCount(session, &count)) { "count the model's outputs" }
        return try (0..<count).map { index in
            var name: UnsafeMutablePointer<CChar>?
            try runtime.check(api.SessionGetOutputName(session, index, runtime.defaultAllocator, &name)) {
                "read the name of output \(index)"
            }
            return runtime.takeString(name)
        }
    }
}

extension ONNXRuntime {
    /// The ONNX element type and the dimensions (-1 for symbolic ones) of a tensor description.
    func typeAndDimensions(
        of tensorInfo: OpaquePointer, _ operation: () -> String
    ) throws -> (elementType: Int, dimensions: [Int]) {
        var elementType = EdgeNASOrtElementTypeUndefined
        try check(api.GetTensorElementType(tensorInfo, &elementType), operation)
        var rank = 0
        try check(api.GetDimensionsCount(tensorInfo, &rank), operation)
        var dimensions = [Int64](repeating: 0, count: rank)
        try check(api.GetDimensions(tensorInfo, &dimensions, rank), operation)
        return (Int(elementType.rawValue), dimensions.map { Int($0) })
    }
}
