import EdgeNASRuntime
import Foundation
import Testing

/// What the tests need from the machine, checked once: they skip (never fail) without it.
enum Prerequisites {
    /// ONNX Runtime's library, found the way the binding finds it.
    static let libraryFound = (try? ONNXRuntime.locateLibrary()) != nil
    /// Python's `onnx` package, used only to write the test models.
    static let pythonONNXFound = (try? runPython("import onnx")) != nil

    static let libraryMissingMessage: Comment =
        "ONNX Runtime not found: set ORT_LIB to libonnxruntime.so or run scripts/setup.sh"
    static let pythonONNXMissingMessage: Comment =
        "python3 with the onnx package is needed to write the test models: run scripts/setup.sh"
}

/// Small ONNX models written at test time with Python's `onnx.helper`, with the weights
/// (all multiples of 1/8, exact in float32) chosen here so Swift can compute the outputs.
struct TestModels: Sendable {
    /// Gemm (X·W + B) then Relu: input `input` [batch, 4], output `output` [batch, 3].
    let gemmRelu: Data
    /// Conv 3×3, 2 → 3 channels, stride 2, padding 1: input `image` [batch, 2, 5, 5],
    /// output `features` [batch, 3, 3, 3].
    let convolution: Data
    /// Inputs `a`, `b` [2, 3]; outputs `sum` = a + b and `product` = a · b.
    let twoInputs: Data
    /// Input `indices` is int64 [2]; output `as_float` is float32.
    let integerInput: Data
    /// Input `input` is float32 [2]; output `as_integer` is int32.
    let integerOutput: Data

    static let gemmWeights: [Float] = (0..<12).map { Float($0 % 7 - 3) / 8 }  // [4, 3], row-major
    static let gemmBias: [Float] = [0.125, -0.25, 0.5]
    static let convolutionWeights: [Float] = (0..<54).map { Float($0 % 5 - 2) / 8 }  // [3, 2, 3, 3]
    static let convolutionBias: [Float] = [0.25, -0.125, 0]

    /// Written once per test process.
    static let shared: Result<TestModels, any Error> = Result { try TestModels.generate() }

    static func load() throws -> TestModels { try shared.get() }

    private static func generate() throws -> TestModels {
        let script = """
            import base64, json, sys
            import onnx
            from onnx import TensorProto, helper

            weights = json.loads(sys.argv[1])

            def model(nodes, inputs, outputs, initializers=()):
                graph = helper.make_graph(nodes, "test", inputs, outputs, list(initializers))
                m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                m.ir_version = 8
                onnx.checker.check_model(m, full_check=True)
                return base64.b64encode(m.SerializeToString()).decode()

            def info(name, element_type, shape):
                return helper.make_tensor_value_info(name, element_type, shape)

            def constant(name, shape, values):
                return helper.make_tensor(name, TensorProto.FLOAT, shape, values)

            F = TensorProto.FLOAT
            print(json.dumps({
                "gemmRelu": model(
                    [helper.make_node("Gemm", ["input", "W", "B"], ["hidden"]),
                     helper.make_node("Relu", ["hidden"], ["output"])],
                    [info("input", F, ["batch", 4])], [info("output", F, ["batch", 3])],
                    [constant("W", [4, 3], weights["gemmWeights"]), constant("B", [3], weights["gemmBias"])]),
                "convolution": model(
                    [helper.make_node("Conv", ["image", "W", "B"], ["features"],
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])],
                    [info("image", F, ["batch", 2, 5, 5])], [info("features", F, ["batch", 3, 3, 3])],
                    [constant("W", [3, 2, 3, 3], weights["convolutionWeights"]),
                     constant("B", [3], weights["convolutionBias"])]),
                "twoInputs": model(
                    [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Mul", ["a", "b"], ["product"])],
                    [info("a", F, [2, 3]), info("b", F, [2, 3])], [info("sum", F, [2, 3]), info("product", F, [2, 3])]),
                "integerInput": model(
                    [helper.make_node("Cast", ["indices"], ["as_float"], to=TensorProto.FLOAT)],
                    [info("indices", TensorProto.INT64, [2])], [info("as_float", F, [2])]),
                "integerOutput": model(
                    [helper.make_node("Cast", ["input"], ["as_integer"], to=TensorProto.INT32)],
                    [info("input", F, [2])], [info("as_integer", TensorProto.INT32, [2])]),
            }))
            """
        let weights: [String: [Float]] = [
            "gemmWeights": gemmWeights, "gemmBias": gemmBias,
            "convolutionWeights": convolutionWeights, "convolutionBias": convolutionBias,
        ]
        let weightsJSON = String(decoding: try JSONEncoder().encode(weights), as: UTF8.self)
        let output = try runPython(script, arguments: [weightsJSON])
        let encoded = try JSONDecoder().decode([String: String].self, from: Data(output.utf8))
        func model(_ name: String) throws -> Data {
            guard let text = encoded[name], let data = Data(base64Encoded: text) else {
                throw TestSetupError(message: "the model generator did not return '\(name)'")
            }
            return data
        }
        return TestModels(
            gemmRelu: try model("gemmRelu"), convolution: try model("convolution"),
            twoInputs: try model("twoInputs"), integerInput: try model("integerInput"),
            integerOutput: try model("integerOutput"))
    }

    // MARK: Reference outputs computed in Swift

    /// relu(x·W + b) for `x` of shape [batch, 4].
    static func gemmReluReference(_ input: [Float], batch: Int) -> [Float] {
        (0..<batch).flatMap { row in
            (0..<3).map { column in
                let sum = (0..<4).reduce(gemmBias[column]) { $0 + input[row * 4 + $1] * gemmWeights[$1 * 3 + column] }
                return max(0, sum)
            }
        }
    }

    /// NCHW convolution of `image` [batch, 2, 5, 5] with the 3×3 weights, stride 2, padding 1:
    /// y[n, o, i, j] = b[o] + Σ_{c, u, v} w[o, c, u, v] · x[n, c, 2i + u − 1, 2j + v − 1].
    static func convolutionReference(_ image: [Float], batch: Int) -> [Float] {
        var output: [Float] = []
        for sample in 0..<batch {
            for outputChannel in 0..<3 {
                for row in 0..<3 {
                    for column in 0..<3 {
                        var sum = convolutionBias[outputChannel]
                        for inputChannel in 0..<2 {
                            for kernelRow in 0..<3 {
                                for kernelColumn in 0..<3 {
                                    let y = 2 * row + kernelRow - 1
                                    let x = 2 * column + kernelColumn - 1
                                    guard (0..<5).contains(y), (0..<5).contains(x) else { continue }
                                    let weight = convolutionWeights[
                                        ((outputChannel * 2 + inputChannel) * 3 + kernelRow) * 3 + kernelColumn]
                                    sum += weight * image[((sample * 2 + inputChannel) * 5 + y) * 5 + x]
                                }
                            }
                        }
                        output.append(sum)
                    }
                }
            }
        }
        return output
    }

    /// `count` inputs in [−1.25, 1.25], multiples of 1/4, that vary with the index and a seed.
    static func inputValues(count: Int, seed: Int = 0) -> [Float] {
        (0..<count).map { Float(($0 * 7 + seed * 3) % 11 - 5) / 4 }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs `python3 -c script arguments…` and returns its standard output.
func runPython(_ script: String, arguments: [String] = []) throws -> String {
    // Standard error goes to a file so that a long traceback cannot fill a pipe and block
    // the child while this process reads standard output.
    let errorURL = FileManager.default.temporaryDirectory
        .appendingPathComponent("edgenas-runtime-tests-python-\(UUID().uuidString).txt")
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errorURL) }
    let errorHandle = try FileHandle(forWritingTo: errorURL)
    defer { try? errorHandle.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = errorHandle
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let errorText = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
        throw TestSetupError(message: "python3 exited with status \(process.terminationStatus): \(errorText)")
    }
    return String(decoding: outputData, as: UTF8.self)
}

/// A directory under the system's temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("edgenas-runtime-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Whether every |actual − expected| ≤ absoluteTolerance + relativeTolerance·|expected|.
func allClose(
    _ actual: [Float], _ expected: [Float], absoluteTolerance: Float = 1e-5, relativeTolerance: Float = 1e-5
) -> Bool {
    actual.count == expected.count
        && zip(actual, expected).allSatisfy { abs($0 - $1) <= absoluteTolerance + relativeTolerance * abs($1) }
}
