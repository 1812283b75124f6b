import EdgeNASCore
import Foundation
import Testing

@Suite("Temporary files of killed writers")
struct PartialFileTests {
    /// The id of a process that has exited.
    static func deadProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test("a killed writer's file is removed, a live writer's and other files are kept")
    func staleFilesAreRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-partial-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("model.onnx")
        let dead = try Self.deadProcessID()
        let names = [".model.onnx.partial-\(dead)-1a2b", ".model.onnx.partial-\(dead)", ".model.onnx.partial-1-ffff",
                     ".model.onnx.partial-\(getpid())-beef", ".other.onnx.partial-\(dead)-1a2b", "model.onnx"]
        for name in names { FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data([1])) }
        let removed = PartialFile.removeStale(for: target)
        #expect(Set(removed) == [".model.onnx.partial-\(dead)-1a2b", ".model.onnx.partial-\(dead)"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
                == [".model.onnx.partial-1-ffff", ".model.onnx.partial-\(getpid())-beef", ".other.onnx.partial-\(dead)-1a2b", "model.onnx"])
        #expect(PartialFile.temporaryURL(for: target).lastPathComponent.hasPrefix(".model.onnx.partial-\(getpid())-"))
    }
}
