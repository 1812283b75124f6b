import Foundation

/// Files written under a temporary name and renamed into place when complete, so that an
/// interrupted write never leaves half a file under the final name; and the clean-up of
/// temporary files that killed writers left behind (they can be hundreds of megabytes).
public enum PartialFile {
    /// `.NAME.partial-PID-RANDOM` next to `url`: hidden, and naming the writing process.
    public static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(
            "\(prefix(for: url))\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
    }

    /// Removes the temporary files of `url` whose writer no longer runs. A writer that is
    /// alive (or a process id that was reused) keeps its file; nothing else is touched.
    ///
    /// - Returns: the names removed.
    @discardableResult
    public static func removeStale(for url: URL) -> [String] {
        let folder = url.deletingLastPathComponent()
        let prefix = prefix(for: url)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix(while: \.isNumber)), pid > 0, pid != getpid() else { continue }
            // kill(pid, 0) probes without signalling; ESRCH: no such process.
            guard kill(pid, 0) == -1 && errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed
    }

    /// Writes `data` to `url` through a temporary file renamed into place, so that readers see
    /// the old file or the complete new one; temporary files of killed earlier writes of `url`
    /// are removed first, and this write's own on failure.
    ///
    /// - Throws: the write's error, or a `CocoaError` naming rename(2)'s reason.
    public static func write(_ data: Data, to url: URL) throws {
        removeStale(for: url)
        let temporary = temporaryURL(for: url)
        do {
            try data.write(to: temporary)
            // rename(2) replaces an existing file atomically.
            guard rename(temporary.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    private static func prefix(for url: URL) -> String { ".\(url.lastPathComponent).partial-" }
}
