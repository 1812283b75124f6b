/// Everything that can go wrong while loading ONNX Runtime, creating a session or running it.
///
/// Each case says what failed and, in ``description``, how to fix it. Errors that come
/// from ONNX Runtime itself keep its message and status code verbatim.
public enum ONNXRuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No ONNX Runtime shared library was found; `reason` says where it was looked for.
    case libraryNotFound(reason: String)
    /// A file was found but cannot be used as ONNX Runtime (not a shared library, not
    /// ONNX Runtime, or too old for the C API version EdgeNAS requests).
    case libraryUnusable(path: String, reason: String)
    /// ONNX Runtime is already loaded in this process from another file.
    case differentLibraryAlreadyLoaded(loadedPath: String, requestedPath: String)
    /// An ONNX Runtime call returned an error status. `operation` completes the phrase
    /// "ONNX Runtime failed to …"; `message` is ONNX Runtime's own text.
    case runtimeFailure(operation: String, code: ONNXRuntimeStatusCode, message: String)
    /// A session option is out of range.
    case invalidOption(name: String, value: Int, reason: String)
    /// A run was given a tensor for an input the model does not have.
    case unknownInput(name: String, modelInputNames: [String])
    /// A run was given two tensors for the same input.
    case duplicateInput(name: String)
    /// A run was given no tensor for these inputs of the model.
    case missingInputs(names: [String])
    /// A run was given a tensor whose shape the model does not accept. In
    /// `expectedShape`, `nil` is a symbolic dimension that accepts any size.
    case shapeMismatch(input: String, expectedShape: [Int?], actualShape: [Int])
    /// A shape has a negative dimension.
    case negativeDimension(input: String, shape: [Int])
    /// A tensor's shape and its number of values disagree.
    case valueCountMismatch(input: String, shape: [Int], expectedCount: Int, actualCount: Int)
    /// A model input or output is not a float32 tensor. `elementType` is the ONNX
    /// `TensorProto.DataType` number (0 when the value is not a tensor at all).
    case unsupportedElementType(tensor: String, elementType: Int)

    public var description: String {
        switch self {
        case .libraryNotFound(let reason):
            return "ONNX Runtime library not found: \(reason); " + Self.installHint
        case .libraryUnusable(let path, let reason):
            return "cannot use \(path) as ONNX Runtime: \(reason); " + Self.installHint
        case .differentLibraryAlreadyLoaded(let loadedPath, let requestedPath):
            return "ONNX Runtime is already loaded from \(loadedPath) and cannot also be loaded from "
                + "\(requestedPath) in the same process; use one library per process (pass the same path, "
                + "or leave the path out to reuse the loaded library)"
        case .runtimeFailure(let operation, let code, let message):
            return "ONNX Runtime failed to \(operation): \(message) [\(code.name)]" + Self.hint(for: code)
        case .invalidOption(let name, let value, let reason):
            return "\(name) is \(value): \(reason)"
        case .unknownInput(let name, let modelInputNames):
            return "the model has no input named '\(name)'; its inputs are \(Self.quoted(modelInputNames))"
        case .duplicateInput(let name):
            return "input '\(name)' is given more than once; give each model input exactly one tensor"
        case .missingInputs(let names):
            return "no tensor given for model input\(names.count == 1 ? "" : "s") \(Self.quoted(names)); "
                + "give each model input exactly one tensor"
        case .shapeMismatch(let input, let expectedShape, let actualShape):
            let expected = "[" + expectedShape.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
            return "input '\(input)' has shape \(actualShape) but the model expects \(expected) "
                + "(? is a dimension of any size); pass a tensor of that shape"
        case .negativeDimension(let input, let shape):
            return "input '\(input)' has shape \(shape) with a negative dimension; dimensions must be ≥ 0"
        case .valueCountMismatch(let input, let shape, let expectedCount, let actualCount):
            return "input '\(input)' has shape \(shape), which holds \(expectedCount) values, but "
                + "\(actualCount) values were given; pass exactly one value per element, in row-major order"
        case .unsupportedElementType(let tensor, let elementType):
            return "tensor '\(tensor)' is \(Self.elementTypeName(elementType)), but EdgeNASRuntime runs "
                + "float32 tensors only; export the model with float32 inputs and outputs"
        }
    }

    private static let installHint =
        "set ORT_LIB to libonnxruntime.so or run scripts/setup.sh (installs onnxruntime==1.32.0)"

    private static func hint(for code: ONNXRuntimeStatusCode) -> String {
        switch code {
        case .noSuchFile:
            return "; check that the model file exists"
        case .invalidProtobuf:
            return "; the bytes are not a serialized ONNX ModelProto: export the model again"
        case .invalidGraph:
            return "; check the model with onnx.checker.check_model(model, full_check=True)"
        default:
            return ""
        }
    }

    private static func quoted(_ names: [String]) -> String {
        "[" + names.map { "'\($0)'" }.joined(separator: ", ") + "]"
    }

    /// ONNX `TensorProto.DataType` names, indexed by their number.
    private static let elementTypeNames = [
        "not a tensor", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "string",
        "bool", "float16", "float64", "uint32", "uint64", "complex64", "complex128", "bfloat16",
    ]

    private static func elementTypeName(_ elementType: Int) -> String {
        guard elementTypeNames.indices.contains(elementType) else { return "ONNX element type \(elementType)" }
        return elementType == 0 ? "not a tensor" : "a \(elementTypeNames[elementType]) tensor"
    }
}

/// An ONNX Runtime status code (`OrtErrorCode`), kept as its number so that codes added
/// by later ONNX Runtime releases still round-trip.
public struct ONNXRuntimeStatusCode: RawRepresentable, Hashable, Sendable {
    /// The `OrtErrorCode` number.
    public let rawValue: Int32

    /// Wraps an `OrtErrorCode` number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Generic failure (`ORT_FAIL`).
    public static let fail = Self(rawValue: 1)
    /// An argument ONNX Runtime refused (`ORT_INVALID_ARGUMENT`).
    public static let invalidArgument = Self(rawValue: 2)
    /// The model file does not exist (`ORT_NO_SUCHFILE`).
    public static let noSuchFile = Self(rawValue: 3)
    /// No model loaded (`ORT_NO_MODEL`).
    public static let noModel = Self(rawValue: 4)
    /// An execution provider failed (`ORT_ENGINE_ERROR`).
    public static let engineError = Self(rawValue: 5)
    /// An exception inside ONNX Runtime (`ORT_RUNTIME_EXCEPTION`).
    public static let runtimeException = Self(rawValue: 6)
    /// The bytes are not a valid ONNX protobuf (`ORT_INVALID_PROTOBUF`).
    public static let invalidProtobuf = Self(rawValue: 7)
    /// A model is already loaded (`ORT_MODEL_LOADED`).
    public static let modelLoaded = Self(rawValue: 8)
    /// An operator or type without a kernel (`ORT_NOT_IMPLEMENTED`).
    public static let notImplemented = Self(rawValue: 9)
    /// The graph is malformed (`ORT_INVALID_GRAPH`).
    public static let invalidGraph = Self(rawValue: 10)
    /// An execution provider failed (`ORT_EP_FAIL`).
    public static let executionProviderFailure = Self(rawValue: 11)

    /// ONNX Runtime's own spelling, e.g. `ORT_INVALID_PROTOBUF`.
    public var name: String {
        let names = [
            "ORT_OK", "ORT_FAIL", "ORT_INVALID_ARGUMENT", "ORT_NO_SUCHFILE", "ORT_NO_MODEL", "ORT_ENGINE_ERROR",
            "ORT_RUNTIME_EXCEPTION", "ORT_INVALID_PROTOBUF", "ORT_MODEL_LOADED", "ORT_NOT_IMPLEMENTED",
            "ORT_INVALID_GRAPH", "ORT_EP_FAIL",
        ]
        return names.indices.contains(Int(rawValue)) ? names[Int(rawValue)] : "ORT error code \(rawValue)"
    }
}
