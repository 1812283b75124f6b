import Foundation
import Testing

@testable import EdgeNASRuntime

/// Finding and loading the library; the first tests need no ONNX Runtime at all.
@Suite struct LibraryLoadingTests {
    static let missingPath = "/nonexistent/edgenas/libonnxruntime.so"

    @Test func explicitPathThatDoesNotExistSaysHowToFixIt() {
        let error = #expect(throws: ONNXRuntimeError.self) { try ONNXRuntime.load(path: Self.missingPath) }

        #expect(error == .libraryNotFound(reason: "no file at \(Self.missingPath)"))
        #expect(
            error?.description
                == "ONNX Runtime library not found: no file at \(Self.missingPath); set ORT_LIB to "
                + "libonnxruntime.so or run scripts/setup.sh (installs onnxruntime==1.32.0)")
    }

    @Test func ortLibPointingNowhereSaysHowToFixIt() {
        let error = #expect(throws: ONNXRuntimeError.self) {
            try ONNXRuntime.locateLibrary(environment: ["ORT_LIB": Self.missingPath, "PATH": "/usr/bin:/bin"])
        }

        #expect(
            error?.description
                == "ONNX Runtime library not found: ORT_LIB is \(Self.missingPath) but no file is there; set "
                + "ORT_LIB to libonnxruntime.so or run scripts/setup.sh (installs onnxruntime==1.32.0)")
    }

    @Test func withoutORTLibOrPythonPackageSaysHowToFixIt() {
        // An empty PATH hides python3, as on a board without the wheel.
        let error = #expect(throws: ONNXRuntimeError.self) {
            try ONNXRuntime.locateLibrary(environment: ["PATH": ""])
        }

        #expect(
            error?.description
                == "ONNX Runtime library not found: ORT_LIB is not set and python3 has no onnxruntime package; "
                + "set ORT_LIB to libonnxruntime.so or run scripts/setup.sh (installs onnxruntime==1.32.0)")
    }

    @Test func aFileThatIsNotASharedLibraryIsUnusable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("libonnxruntime.so").path
        try Data("not a library".utf8).write(to: URL(fileURLWithPath: path))

        let error = #expect(throws: ONNXRuntimeError.self) { try ONNXRuntime.openLibrary(atPath: path) }

        guard case .libraryUnusable(let reportedPath, let reason) = error else {
            Issue.record("expected libraryUnusable, got \(String(describing: error))")
            return
        }
        #expect(reportedPath == path)
        #expect(reason.hasPrefix("dlopen failed: "))
        #expect(error?.description.hasSuffix("; set ORT_LIB to libonnxruntime.so or run scripts/setup.sh "
            + "(installs onnxruntime==1.32.0)") == true)
    }

    #if os(Linux)
    @Test func aSharedLibraryThatIsNotONNXRuntimeIsUnusable() {
        // libm is on every Linux system and exports no OrtGetApiBase.
        let error = #expect(throws: ONNXRuntimeError.self) { try ONNXRuntime.openLibrary(atPath: "libm.so.6") }

        guard case .libraryUnusable(_, let reason) = error else {
            Issue.record("expected libraryUnusable, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("the library does not export OrtGetApiBase ("))
        #expect(reason.hasSuffix("); it is not ONNX Runtime"))
    }
    #endif

    @Test(.enabled(if: Prerequisites.libraryFound, Prerequisites.libraryMissingMessage))
    func loadsOnceAndReportsItsVersion() throws {
        let runtime = try ONNXRuntime.load()

        #expect(try ONNXRuntime.load() === runtime)
        #expect(try ONNXRuntime.load(path: runtime.libraryPath) === runtime)
        #expect(runtime.version.split(separator: ".").count == 3)
    }

    @Test(.enabled(if: Prerequisites.libraryFound, Prerequisites.libraryMissingMessage))
    func aLinkToTheLoadedLibraryIsTheSameRuntime() throws {
        let runtime = try ONNXRuntime.load()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let link = directory.file("libonnxruntime.so")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: runtime.libraryPath)

        #expect(try ONNXRuntime.load(path: link.path) === runtime)
    }

    @Test(.enabled(if: Prerequisites.libraryFound, Prerequisites.libraryMissingMessage))
    func anotherLibraryCannotBeLoadedNext() throws {
        let runtime = try ONNXRuntime.load()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let otherPath = directory.file("libonnxruntime.so").path
        try Data("another library".utf8).write(to: URL(fileURLWithPath: otherPath))

        let error = #expect(throws: ONNXRuntimeError.self) { try ONNXRuntime.load(path: otherPath) }

        #expect(error == .differentLibraryAlreadyLoaded(loadedPath: runtime.libraryPath, requestedPath: otherPath))
        #expect(
            error?.description
                == "ONNX Runtime is already loaded from \(runtime.libraryPath) and cannot also be loaded from "
                + "\(otherPath) in the same process; use one library per process (pass the same path, or leave "
                + "the path out to reuse the loaded library)")
    }

    /// ONNX Runtime 1.N serves C API versions 1 to N; EdgeNAS asks for 1 (every slot it
    /// uses exists since then), and an unknown version is refused with a clear reason.
    @Test(.enabled(if: Prerequisites.libraryFound, Prerequisites.libraryMissingMessage))
    func apiVersionsAreCheckedByTheLibrary() throws {
        let runtime = try ONNXRuntime.load()
        let path = runtime.libraryPath
        let version = runtime.version
        let newestVersion = try #require(version.split(separator: ".").dropFirst().first.flatMap { UInt32($0) })
        #expect(ONNXRuntime.apiVersion == 1)
        for apiVersion in [1, newestVersion] {
            #expect(throws: Never.self) { try ONNXRuntime.openLibrary(atPath: path, apiVersion: apiVersion) }
        }

        let error = #expect(throws: ONNXRuntimeError.self) {
            try ONNXRuntime.openLibrary(atPath: path, apiVersion: 1000)
        }

        #expect(
            error == .libraryUnusable(
                path: path, reason: "ONNX Runtime \(version) does not provide C API version 1000"))
    }
}
