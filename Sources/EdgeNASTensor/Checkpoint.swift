import EdgeNASCore
import Foundation

/// Named tensors saved to and loaded from a checkpoint file.
///
/// Format (little-endian): the magic `EDGENAS-CKPT` and a UInt32 version, a UInt32 tensor
/// count, then per tensor a UInt32 name length, the UTF-8 name, a UInt32 rank, rank Int64
/// sizes and the float32 values; last, a UInt64 FNV-1a checksum of everything before it.
/// Files are written to a temporary name and renamed, so an interrupted save never leaves
/// a half-written checkpoint under the final name.
public enum Checkpoint {
    static let magic = Array("EDGENAS-CKPT".utf8)
    static let version: UInt32 = 1

    /// One stored tensor.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Writes `tensors` atomically to `url`.
    /// - Throws: `CheckpointError.writeFailed` when the directory is not writable.
    public static func save(_ tensors: [(name: String, tensor: Tensor)], to url: URL) throws {
        var bytes: [UInt8] = magic
        append(version, to: &bytes)
        append(UInt32(tensors.count), to: &bytes)
        for (name, tensor) in tensors {
            let nameBytes = Array(name.utf8)
            append(UInt32(nameBytes.count), to: &bytes)
            bytes += nameBytes
            append(UInt32(tensor.rank), to: &bytes)
            for size in tensor.shape { append(UInt64(size), to: &bytes) }
            tensor.storage.withUnsafeBytes { raw in
                // Float32 bit patterns; this engine only targets little-endian machines.
                bytes += raw
            }
        }
        append(fnv1a(bytes), to: &bytes)
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError.writeFailed(path: url.path, reason: "directory \(directory.path) does not exist")
        }
        // A killed save leaves its temporary file; the next save next to it cleans up.
        do { try PartialFile.write(Data(bytes), to: url) } catch {
            throw CheckpointError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }

    /// Reads every tensor of the checkpoint at `url`.
    /// - Throws: `CheckpointError` when the file is missing, not a checkpoint, truncated or corrupt.
    public static func load(from url: URL) throws -> [Entry] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let bytes = [UInt8](data)
        let path = url.path
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw CheckpointError.notACheckpoint(path: path)
        }
        guard bytes.count >= magic.count + 16 else {
            throw CheckpointError.corrupt(path: path, reason: "truncated at byte \(bytes.count)")
        }
        let body = bytes[0..<(bytes.count - 8)]
        var reader = ByteReader(bytes: bytes, offset: bytes.count - 8, path: path)
        guard try reader.uint64() == fnv1a(Array(body)) else { throw CheckpointError.corrupt(path: path, reason: "checksum mismatch") }
        reader = ByteReader(bytes: Array(body), offset: magic.count, path: path)
        let fileVersion = try reader.uint32()
        guard fileVersion == version else {
            throw CheckpointError.corrupt(path: path, reason: "version \(fileVersion), this build reads version \(version)")
        }
        let count = Int(try reader.uint32())
        var entries: [Entry] = []
        for _ in 0..<count {
            let nameLength = Int(try reader.uint32())
            guard let name = String(bytes: try reader.bytes(nameLength), encoding: .utf8) else {
                throw CheckpointError.corrupt(path: path, reason: "a tensor name is not UTF-8")
            }
            let rank = Int(try reader.uint32())
            guard rank <= 8 else { throw CheckpointError.corrupt(path: path, reason: "tensor \(name) has rank \(rank)") }
            var shape: [Int] = []
            var valueCount = 1
            for _ in 0..<rank {
                // Sizes come from the file: bound them by what the file can hold before multiplying.
                let size = try reader.uint64()
                guard size <= UInt64(body.count), valueCount <= body.count, Int(size) * valueCount <= body.count / 4 else {
                    throw CheckpointError.corrupt(path: path, reason: "tensor \(name) claims more values than the file holds")
                }
                shape.append(Int(size))
                valueCount *= Int(size)
            }
            let raw = try reader.bytes(valueCount * 4)
            let values = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            entries.append(Entry(name: name, shape: shape, values: values))
        }
        guard reader.offset == body.count else {
            throw CheckpointError.corrupt(path: path, reason: "\(body.count - reader.offset) unexpected trailing bytes")
        }
        return entries
    }

    /// Loads `url` into the tensors of `module` (parameters and buffers), by name.
    ///
    /// Nothing is changed unless every tensor matches: the error lists the missing,
    /// unexpected and mis-shaped names.
    public static func restore(_ module: any Module, from url: URL) throws {
        try restore(module, entries: try load(from: url), path: url.path)
    }

    /// Loads `entries` (read from the checkpoint at `path`) into the tensors of `module`, as
    /// ``restore(_:from:)`` does.
    public static func restore(_ module: any Module, entries: [Entry], path: String) throws {
        let state = module.namedState()
        let stored = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let expected = Set(state.map(\.name))
        let missing = state.map(\.name).filter { stored[$0] == nil }
        let unexpected = entries.map(\.name).filter { !expected.contains($0) }
        let misshaped = state.compactMap { entry -> String? in
            guard let found = stored[entry.name], found.shape != entry.tensor.shape else { return nil }
            return "\(entry.name) (checkpoint \(found.shape), model \(entry.tensor.shape))"
        }
        guard missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty else {
            throw CheckpointError.mismatch(path: path, missing: missing, unexpected: unexpected, misshaped: misshaped)
        }
        for entry in state { entry.tensor.storage = stored[entry.name]!.values }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Why a checkpoint could not be written or read.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notACheckpoint(path: String)
    case corrupt(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case mismatch(path: String, missing: [String], unexpected: [String], misshaped: [String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read checkpoint: \(reason)"
        case let .notACheckpoint(path):
            return "\(path): not an EdgeNAS checkpoint (no EDGENAS-CKPT header)"
        case let .corrupt(path, reason):
            return "\(path): corrupt checkpoint: \(reason); re-create it with `edgenas train`"
        case let .writeFailed(path, reason):
            return "\(path): cannot write checkpoint: \(reason)"
        case let .mismatch(path, missing, unexpected, misshaped):
            // A checkpoint of another architecture mismatches in hundreds of names: show the first few.
            func listed(_ names: [String]) -> String {
                let shown = names.prefix(8).joined(separator: ", ")
                return names.count > 8 ? "\(shown) … (\(names.count - 8) more)" : shown
            }
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(listed(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected \(listed(unexpected))") }
            if !misshaped.isEmpty { parts.append("mis-shaped \(listed(misshaped))") }
            return "\(path): checkpoint does not fit the architecture: \(parts.joined(separator: "; "))"
        }
    }
}

/// Sequential little-endian reads with truncation errors.
private struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    let path: String

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else {
            throw CheckpointError.corrupt(path: path, reason: "truncated at byte \(offset)")
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func uint32() throws -> UInt32 {
        try bytes(4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    mutating func uint64() throws -> UInt64 {
        try bytes(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
}
