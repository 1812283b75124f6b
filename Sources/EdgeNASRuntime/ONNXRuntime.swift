import CONNXRuntime
import Foundation
import Synchronization

/// ONNX Runtime, loaded from its shared library at run time through the C API.
///
/// The library is found in this order: the `path` given to ``load(path:)``, the
/// `ORT_LIB` environment variable, then the `onnxruntime` Python package
/// (`site-packages/onnxruntime/capi/libonnxruntime.so*`). It is loaded once per process
/// and never unloaded; every ``InferenceSession`` shares its environment.
///
/// ```swift
/// let runtime = try ONNXRuntime.load()
/// let session = try InferenceSession(contentsOf: modelURL, runtime: runtime)
/// ```
public final class ONNXRuntime: @unchecked Sendable {
    // Sharing across threads is safe: every stored property is a `let` set in `init`, the
    // function table is immutable, and ONNX Runtime documents the environment, the
    // default allocator and a CPU memory description as usable from any thread.

    /// The shared library this runtime was loaded from.
    public let libraryPath: String
    /// ONNX Runtime's version, e.g. `1.32.0`.
    public let version: String

    let api: EdgeNASOrtApi
    let environment: OpaquePointer
    /// Describes CPU memory owned by the caller, for tensors that wrap Swift buffers.
    let cpuMemoryInfo: OpaquePointer
    /// ONNX Runtime's default CPU allocator; owned by ONNX Runtime, never freed.
    let defaultAllocator: OpaquePointer

    private static let loaded = Mutex<ONNXRuntime?>(nil)

    /// Loads ONNX Runtime, or returns the runtime this process already loaded.
    ///
    /// - Parameter path: the shared library to load. Without it, an already loaded
    ///   runtime is returned as is; otherwise the library is found as
    ///   ``locateLibrary(environment:)`` does.
    /// - Throws: ``ONNXRuntimeError/libraryNotFound(reason:)`` when no library is found,
    ///   ``ONNXRuntimeError/libraryUnusable(path:reason:)`` when it cannot be loaded,
    ///   ``ONNXRuntimeError/differentLibraryAlreadyLoaded(loadedPath:requestedPath:)`` when
    ///   `path` names another file than the loaded one, and
    ///   ``ONNXRuntimeError/runtimeFailure(operation:code:message:)`` when ONNX Runtime
    ///   cannot create its environment.
    public static func load(path: String? = nil) throws -> ONNXRuntime {
        if path == nil, let runtime = loaded.withLock({ $0 }) { return runtime }
        let libraryPath = try path.map(Self.existingLibrary(atPath:)) ?? locateLibrary()
        return try loaded.withLock { runtime throws -> ONNXRuntime in
            if let runtime {
                guard Self.sameFile(runtime.libraryPath, libraryPath) else {
                    throw ONNXRuntimeError.differentLibraryAlreadyLoaded(
                        loadedPath: runtime.libraryPath, requestedPath: libraryPath)
                }
                return runtime
            }
            let newRuntime = try ONNXRuntime(libraryPath: libraryPath)
            runtime = newRuntime
            return newRuntime
        }
    }

    /// Finds the ONNX Runtime shared library without loading it.
    ///
    /// Looks at `ORT_LIB` first (a set but wrong `ORT_LIB` is an error, not a reason to
    /// look elsewhere), then asks `python3` where the `onnxruntime` package is and globs
    /// its `capi/libonnxruntime.so*`: the wheel ships only a versioned file such as
    /// `libonnxruntime.so.1.32.0`.
    ///
    /// - Parameter environment: the variables to read `ORT_LIB` and `PATH` from.
    /// - Returns: the path of the library.
    /// - Throws: ``ONNXRuntimeError/libraryNotFound(reason:)`` saying where it looked.
    public static func locateLibrary(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        if let configuredPath = environment["ORT_LIB"], !configuredPath.isEmpty {
            guard FileManager.default.fileExists(atPath: configuredPath) else {
                throw ONNXRuntimeError.libraryNotFound(reason: "ORT_LIB is \(configuredPath) but no file is there")
            }
            return configuredPath
        }
        guard let packageDirectory = pythonPackageDirectory(environment: environment) else {
            throw ONNXRuntimeError.libraryNotFound(
                reason: "ORT_LIB is not set and python3 has no onnxruntime package")
        }
        let libraryDirectory = packageDirectory + "/capi"
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: libraryDirectory)) ?? [])
            .filter { $0 == "libonnxruntime.so" || $0.hasPrefix("libonnxruntime.so.") }
        // The unversioned name when present, else the shortest versioned one; a wheel ships
        // a single file, and where several exist they are links to the same library.
        guard let fileName = candidates.min(by: { ($0.count, $0) < ($1.count, $1) }) else {
            throw ONNXRuntimeError.libraryNotFound(
                reason: "ORT_LIB is not set and \(libraryDirectory) has no libonnxruntime.so*")
        }
        return libraryDirectory + "/" + fileName
    }

    /// The C API version requested from the library.
    static let apiVersion = EDGENAS_ORT_API_VERSION

    /// dlopens `path` and returns ONNX Runtime's function table and version string.
    static func openLibrary(
        atPath path: String, apiVersion: UInt32 = apiVersion
    ) throws -> (api: EdgeNASOrtApi, version: String) {
        var errorText = [CChar](repeating: 0, count: 1024)
        let library = edgenas_ort_load(path, apiVersion, &errorText, errorText.count)
        guard let api = library.api?.pointee, let version = library.version else {
            let reason = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw ONNXRuntimeError.libraryUnusable(path: path, reason: reason)
        }
        return (api, String(cString: version))
    }

    private init(libraryPath: String) throws {
        let (api, version) = try Self.openLibrary(atPath: libraryPath)
        var environment: OpaquePointer?
        try Self.check(api.CreateEnv(EdgeNASOrtLoggingLevelWarning, "EdgeNAS", &environment), api: api) {
            "create its environment"
        }
        var cpuMemoryInfo: OpaquePointer?
        var defaultAllocator: OpaquePointer?
        do {
            try Self.check(
                api.CreateCpuMemoryInfo(EdgeNASOrtAllocatorArena, EdgeNASOrtMemoryTypeDefault, &cpuMemoryInfo),
                api: api
            ) { "describe CPU memory" }
            try Self.check(api.GetAllocatorWithDefaultOptions(&defaultAllocator), api: api) {
                "get its default allocator"
            }
        } catch {
            api.ReleaseMemoryInfo(cpuMemoryInfo)
            api.ReleaseEnv(environment)
            throw error
        }
        self.libraryPath = libraryPath
        self.version = version
        self.api = api
        self.environment = environment!
        self.cpuMemoryInfo = cpuMemoryInfo!
        self.defaultAllocator = defaultAllocator!
    }

    deinit {
        api.ReleaseMemoryInfo(cpuMemoryInfo)
        api.ReleaseEnv(environment)
    }

    /// Throws the error an ONNX Runtime status describes and releases the status;
    /// does nothing for a `nil` (success) status.
    func check(_ status: OpaquePointer?, _ operation: () -> String) throws {
        try Self.check(status, api: api, operation)
    }

    static func check(_ status: OpaquePointer?, api: EdgeNASOrtApi, _ operation: () -> String) throws {
        guard let status else { return }
        defer { api.ReleaseStatus(status) }
        let code = ONNXRuntimeStatusCode(rawValue: api.GetErrorCode(status))
        let message = api.GetErrorMessage(status).map { String(cString: $0) } ?? "(no message)"
        throw ONNXRuntimeError.runtimeFailure(operation: operation(), code: code, message: message)
    }

    /// Copies a string ONNX Runtime allocated with the default allocator and frees it.
    func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        let string = String(cString: pointer)
        // Freeing with the allocator that made the string cannot fail in practice; a
        // status would only describe a bug, so it is released without being thrown.
        if let status = api.AllocatorFree(defaultAllocator, pointer) { api.ReleaseStatus(status) }
        return string
    }

    private static func existingLibrary(atPath path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ONNXRuntimeError.libraryNotFound(reason: "no file at \(path)")
        }
        return path
    }

    private static func sameFile(_ first: String, _ second: String) -> Bool {
        URL(fileURLWithPath: first).resolvingSymlinksInPath().path
            == URL(fileURLWithPath: second).resolvingSymlinksInPath().path
    }

    /// The `onnxruntime` package directory as `python3` on `PATH` sees it, or `nil`.
    ///
    /// `find_spec` locates the package without importing it, which would take a second.
    private static func pythonPackageDirectory(environment: [String: String]) -> String? {
        let script = """
            import importlib.util, os
            spec = importlib.util.find_spec("onnxruntime")
            print(os.path.dirname(spec.origin) if spec is not None and spec.origin else "")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let directory = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return directory.isEmpty ? nil : directory
    }
}
