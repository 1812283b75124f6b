import Foundation

/// Makes a file or folder that this process cannot write, for tests of read-only tables and
/// unwritable output paths. Permission bits are not enough for root (which tests often run
/// as), so for root the item is also made immutable with `chattr +i` where the file system
/// allows it.
public enum ReadOnlyPaths {
    /// Makes `url` unwritable; returns false when that is not possible here (the caller skips).
    /// Undo with ``makeWritable(_:)`` before deleting it.
    public static func makeReadOnly(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return false }
        chmod(url.path, isDirectory.boolValue ? 0o555 : 0o444)
        if !isWritable(url, isDirectory: isDirectory.boolValue) { return true }
        _ = run("/usr/bin/chattr", ["+i", url.path])
        return !isWritable(url, isDirectory: isDirectory.boolValue)
    }

    /// Undoes ``makeReadOnly(_:)``.
    public static func makeWritable(_ url: URL) {
        _ = run("/usr/bin/chattr", ["-i", url.path])
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        chmod(url.path, isDirectory.boolValue ? 0o755 : 0o644)
    }

    /// Whether something can really be written: a new file in a folder, an append to a file.
    private static func isWritable(_ url: URL, isDirectory: Bool) -> Bool {
        if isDirectory {
            let probe = url.appendingPathComponent(".write-probe-\(UUID().uuidString)")
            guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else { return false }
            try? FileManager.default.removeItem(at: probe)
            return true
        }
        let descriptor = open(url.path, O_WRONLY | O_APPEND)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        guard FileManager.default.isExecutableFile(atPath: executable) else { return -1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
