import EdgeNASCore
import EdgeNASModels
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// One exported model for Python to check with `onnx.checker.check_model(full_check=True)`
/// and run in ONNX Runtime on the first `batch` items of `input`, `chunk` items at a time.
struct RuntimeJob {
    struct Run {
        var batch: Int
        var chunk: Int
    }

    var id: String
    var model: URL
    var input: [Float]
    /// Shape of `input`, batch first.
    var inputShape: [Int]
    var inputName = "input"
    var runs: [Run]
}

/// What Python reported for one ``RuntimeJob``: errors, or one output per run.
struct RuntimeResult {
    var id: String
    var checkerError: String?
    var runError: String?
    var outputs: [[Float]]
    var outputShapes: [[Int]]
}

/// Why the Python side could not run at all.
struct PythonHarnessError: Error, CustomStringConvertible {
    var description: String
}

/// Runs Python's ONNX checker and ONNX Runtime on exported models, in one `python3`
/// process per call (its start-up costs about a second).
enum PythonONNXRuntime {
    static let script = Bundle.module.url(forResource: "run_onnx_models", withExtension: "py", subdirectory: "Fixtures")!

    /// - Throws: ``PythonHarnessError`` when python3, onnx or onnxruntime is missing (the
    ///   message says to run scripts/setup.sh) or the script fails.
    static func run(_ jobs: [RuntimeJob], workingDirectory: URL) throws -> [RuntimeResult] {
        var manifestModels: [[String: Any]] = []
        var outputFiles: [[URL]] = []
        for (index, job) in jobs.enumerated() {
            let inputURL = workingDirectory.appendingPathComponent("job\(index)-input.f32")
            try writeFloats(job.input, to: inputURL)
            var runs: [[String: Any]] = []
            var outputs: [URL] = []
            for (runIndex, run) in job.runs.enumerated() {
                let outputURL = workingDirectory.appendingPathComponent("job\(index)-output\(runIndex).f32")
                outputs.append(outputURL)
                runs.append(["batch": run.batch, "chunk": run.chunk, "output": outputURL.path])
            }
            outputFiles.append(outputs)
            manifestModels.append(["id": job.id, "model": job.model.path, "input": inputURL.path,
                                   "input_shape": job.inputShape, "input_name": job.inputName, "runs": runs])
        }
        let manifestURL = workingDirectory.appendingPathComponent("manifest.json")
        try JSONSerialization.data(withJSONObject: ["models": manifestModels]).write(to: manifestURL)

        let stdoutURL = workingDirectory.appendingPathComponent("python-stdout.json")
        let stderrURL = workingDirectory.appendingPathComponent("python-stderr.txt")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, manifestURL.path]
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        do { try process.run() } catch {
            throw PythonHarnessError(description: "cannot start python3 (\(error)): run scripts/setup.sh")
        }
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        switch process.terminationStatus {
        case 0: break
        case 3:
            throw PythonHarnessError(description: "\(errorText.trimmingCharacters(in: .whitespacesAndNewlines)) — " +
                                     "the ONNX tests need python3 with numpy, onnx and onnxruntime: run scripts/setup.sh")
        case 127:
            throw PythonHarnessError(description: "python3 not found: run scripts/setup.sh")
        default:
            throw PythonHarnessError(description: "python3 \(script.lastPathComponent) exited with " +
                                     "\(process.terminationStatus): \(errorText.suffix(2000))")
        }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: stdoutURL)) as? [String: Any]
        guard let results = report?["results"] as? [[String: Any]], results.count == jobs.count else {
            throw PythonHarnessError(description: "python3 printed no result list for \(jobs.count) models")
        }
        return try zip(results, outputFiles).map { result, files in
            let checkerError = result["checker_error"] as? String
            let runError = result["run_error"] as? String
            let finished = checkerError == nil && runError == nil
            return RuntimeResult(
                id: result["id"] as? String ?? "?", checkerError: checkerError, runError: runError,
                outputs: finished ? try files.map(readFloats) : [],
                outputShapes: (result["output_shapes"] as? [[Int]]) ?? [])
        }
    }

    static func writeFloats(_ values: [Float], to url: URL) throws {
        let data = values.withUnsafeBufferPointer { Data(buffer: $0) }  // little-endian hosts only, as the engine
        try data.write(to: url)
    }

    static func readFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// A fresh temporary directory, removed by the caller.
func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("edgenas-onnx-tests-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The brief's agreement rule: |onnx − engine| ≤ 1e-4, or ≤ 1e-3 where |engine| > 10.
func firstDisagreement(_ actual: [Float], _ expected: [Float], label: String) -> String? {
    guard actual.count == expected.count else { return "\(label): \(actual.count) values vs \(expected.count) expected" }
    var worst: (index: Int, excess: Float)? = nil
    for index in expected.indices {
        let tolerance: Float = abs(expected[index]) > 10 ? 1e-3 : 1e-4
        let excess = abs(actual[index] - expected[index]) - tolerance
        if !(excess <= 0) && (worst == nil || !(excess <= worst!.excess)) { worst = (index, excess) }
    }
    guard let worst else { return nil }
    return "\(label): index \(worst.index) ONNX Runtime \(actual[worst.index]), engine \(expected[worst.index])"
}

/// Replaces the BatchNorm running statistics, the norm scales and shifts with seeded values
/// away from their initial 0/1, so that folding and normalisation are really exercised.
func perturbNormalization(of module: any Module, seed: UInt64) {
    var generator = SeededGenerator(seed: seed)
    for (name, tensor) in module.namedState() {
        let parts = name.split(separator: ".")
        guard parts.count >= 2, parts[parts.count - 2] == "bn" || parts[parts.count - 2].hasPrefix("ln") else { continue }
        let (low, high): (Float, Float)
        switch parts.last! {
        case "running_mean", "bias": (low, high) = (-0.3, 0.3)
        case "running_var", "weight": (low, high) = (0.5, 1.5)
        default: continue
        }
        tensor.storage = Initializer.uniform(tensor.shape, low: low, high: high, using: &generator)
    }
}

/// The engine's inference-mode output of `module`'s forward `body`.
func inferenceOutput(of module: any Module, _ body: () -> Tensor) -> [Float] {
    module.setTrainingMode(false)
    return withoutGradients { body().storage }
}
