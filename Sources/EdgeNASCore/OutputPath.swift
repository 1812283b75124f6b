import Foundation

/// Checks where a command is to write, before it spends any time, so that an unwritable
/// `--out` is refused up front with the path and the reason instead of failing at the end
/// with the system's text.
public enum OutputPath {
    /// Why a path cannot be written: `--out PATH: reason`.
    public struct Problem: Error, CustomStringConvertible, Equatable, Sendable {
        public var option: String
        public var path: String
        public var reason: String

        public var description: String { "\(option) \(path): \(reason)" }
    }

    /// Checks that a file can be written at `path` (by writing a finished file next to it and
    /// renaming it into place): the path is not a folder or a device, and its folder exists
    /// and takes new files.
    ///
    /// - Throws: ``Problem`` naming `option`.
    public static func checkFile(_ path: String, option: String) throws {
        func problem(_ reason: String) -> Problem { Problem(option: option, path: path, reason: reason) }
        guard !path.isEmpty else { throw problem("the path is empty; name a file") }
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                throw problem("is a folder; name a file, e.g. \(url.appendingPathComponent("model").path)")
            }
            let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
            if type != .typeRegular {
                throw problem("is not a regular file (a device or a pipe); EdgeNAS writes a finished file and renames "
                    + "it into place, so name a file path")
            }
        }
        let folder = url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            var ancestor = folder.deletingLastPathComponent()
            while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), ancestor.path != "/" {
                ancestor = ancestor.deletingLastPathComponent()
            }
            if !isDirectory.boolValue { throw problem("\(ancestor.path) is a file, so it holds no folder \(folder.path)") }
            throw problem("folder \(folder.path) does not exist; create it first")
        }
        guard isDirectory.boolValue else { throw problem("\(folder.path) is not a folder") }
        if let reason = cannotCreateFiles(in: folder) {
            throw problem("cannot write into folder \(folder.path) (\(reason)); choose a writable place")
        }
    }

    /// Checks that `path` is a folder that takes new files, or can be created as one; with
    /// `create`, creates it (and its missing parents).
    ///
    /// - Throws: ``Problem`` naming `option`.
    public static func checkFolder(_ path: String, option: String, create: Bool) throws {
        func problem(_ reason: String) -> Problem { Problem(option: option, path: path, reason: reason) }
        guard !path.isEmpty else { throw problem("the path is empty; name a folder") }
        var url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw problem("is a file, not a folder; name a folder for the run") }
            if let reason = cannotCreateFiles(in: url) {
                throw problem("cannot write into it (\(reason)); choose a writable folder")
            }
            return
        }
        // The nearest existing ancestor must be a folder that takes new entries.
        while !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { break }
            url = parent
        }
        guard isDirectory.boolValue else { throw problem("\(url.path) is a file, so no folder can be created under it") }
        if let reason = cannotCreateFiles(in: url) {
            throw problem("cannot create it in \(url.path) (\(reason)); choose a writable place")
        }
        guard create else { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw problem("cannot create the folder (\(systemReason(of: error)))")
        }
    }

    /// Why no file can be created in `folder`, found by creating (and removing) one; nil when
    /// one can. Permission bits alone would not tell a read-only file system or an immutable
    /// folder, and mean nothing to root.
    static func cannotCreateFiles(in folder: URL) -> String? {
        let probe = folder.appendingPathComponent(".edgenas-write-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let descriptor = open(probe.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { return String(cString: strerror(errno)).lowercased() }
        close(descriptor)
        unlink(probe.path)
        return nil
    }

    /// Whether the file system that holds `path` has (almost) no room left. SQLite reports a
    /// full disk met while it grows its WAL index as a plain I/O error; this tells them apart.
    public static func isOutOfSpace(at path: String) -> Bool {
        var status = statvfs()
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard statvfs(folder, &status) == 0 else { return false }
        return UInt64(status.f_bavail) * UInt64(status.f_frsize) < 64 * 1024
    }

    /// The POSIX reason inside a Foundation file error, e.g. "no space left on device".
    public static func systemReason(of error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code))).lowercased()
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))).lowercased() }
        return nsError.localizedDescription
    }
}
