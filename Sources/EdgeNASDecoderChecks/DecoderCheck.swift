import EdgeNASCore
import EdgeNASData
import Foundation

/// Every decoder of user files, run on arbitrary bytes with the invariants its result must
/// hold. The fuzz targets in `Fuzz/` call ``run(_:)`` on every input libFuzzer makes up, and
/// the test suite replays the checked-in corpus (`Tests/FuzzCorpusTests/Corpus/<decoder>/`) through it.
///
/// An input either decodes into a value that keeps the invariants, or is refused with the
/// decoder's own error (which names the file and the problem); anything else (another error
/// type, a broken invariant, a trap) is a bug.
public enum DecoderCheck: String, CaseIterable, Sendable {
    case architectureJSON = "architecture-json"
    case spaceJSON = "space-json"
    case spaceYAML = "space-yaml"
    case deviceYAML = "device-yaml"
    case idx
    case rankJSONLines = "rank-jsonl"
    /// A PNG or JPEG file of an image folder (libpng, libjpeg-turbo), decoded and resized.
    case image
    /// A CIFAR binary batch file (one label byte per record).
    case cifar

    /// What an input did.
    public enum Outcome: Equatable, Sendable {
        case decoded
        /// Refused with the decoder's error, whose text is this.
        case refused(String)
    }

    /// A result that breaks an invariant, or an error of a type the decoder does not document.
    public struct Violation: Error, CustomStringConvertible {
        public var description: String
    }

    /// Decodes `data` and checks the result.
    ///
    /// - Throws: ``Violation`` for a bug.
    public func run(_ data: Data) throws -> Outcome {
        do {
            try decodeAndCheck(data)
            return .decoded
        } catch let error as Violation {
            throw error
        } catch let error as ArchitectureError where self != .idx && self != .rankJSONLines {
            return .refused(error.description)
        } catch let error as DatasetError where self == .idx || self == .image || self == .cifar {
            return .refused(error.description)
        } catch let error as RankEntryError where self == .rankJSONLines {
            return .refused(error.description)
        } catch {
            throw Violation(description: "\(rawValue): undocumented error \(type(of: error)): \(error)")
        }
    }

    private func decodeAndCheck(_ data: Data) throws {
        switch self {
        case .architectureJSON:
            try Self.check(try Architecture(jsonData: data, file: "fuzz.json"))
        case .spaceJSON:
            try Self.check(try SearchSpace(jsonData: data, file: "fuzz.json"))
        case .spaceYAML:
            guard let text = String(data: data, encoding: .utf8) else { return }
            try Self.check(try SearchSpace(yamlString: text, file: "fuzz.yaml"))
        case .deviceYAML:
            guard let text = String(data: data, encoding: .utf8) else { return }
            let device = try DeviceProfile(yamlString: text, file: "fuzz.yaml")
            try Self.require(DeviceProfile.threadRange.contains(device.threads)
                && DeviceProfile.warmupRunRange.contains(device.warmupRuns)
                && DeviceProfile.timedRunRange.contains(device.timedRuns), "device out of its bounds: \(device)")
        case .idx:
            for rank in [1, 3] {
                let array: IDXArray
                do { array = try Self.readIDX(data, rank: rank) } catch let error as DatasetError {
                    if rank == 3 { throw error } else { continue }
                }
                try Self.require(array.dimensions.count == rank && array.dimensions.reduce(1, *) == array.bytes.count,
                                 "IDX dimensions \(array.dimensions) vs \(array.bytes.count) bytes")
            }
        case .image:
            for channels in [1, 3] {
                let image = try ImageCodec.decode(data, channels: channels, path: "fuzz.png")
                try Self.require(image.width > 0 && image.height > 0 && image.width * image.height <= ImageCodec.maximumPixels
                                 && image.pixels.count == image.width * image.height * channels,
                                 "decoded \(image.width)×\(image.height)×\(image.channels) with \(image.pixels.count) bytes")
                // Resizing stays within the input's range of values, at the requested size.
                let resized = ImageResizing.resizedPlanar(image, height: 7, width: 5)
                let (low, high) = (image.pixels.min() ?? 0, image.pixels.max() ?? 0)
                try Self.require(resized.count == 35 * channels && resized.allSatisfy { $0 >= low && $0 <= high },
                                 "resized out of the input's range \(low)…\(high)")
            }
        case .cifar:
            let (pixels, labels) = try CIFARFormat.records(data, labelBytes: 1, path: "fuzz.bin")
            let dataset = CIFARFormat.dataset(pixels: pixels, labels: labels, names: nil)
            try Self.require(dataset.count * 3073 == data.count && dataset.classCount > Int(labels.max() ?? 0),
                             "\(dataset.count) records from \(data.count) bytes")
        case .rankJSONLines:
            let entries = try RankEntry.parse(data, file: "fuzz.jsonl")
            try Self.require(Set(entries.map(\.id)).count == entries.count, "repeated ids decoded")
            for entry in entries {
                try Self.require(entry.testAccuracy.map { (0...1).contains($0) } ?? true, "test_acc \(entry.testAccuracy!) decoded")
                try Self.check(entry.architecture)
            }
        }
    }

    /// A decoded architecture is valid, within the limits, and its canonical JSON decodes to itself.
    private static func check(_ architecture: Architecture) throws {
        try require(architecture.isValid, "decoded an invalid architecture")
        let cost = architecture.cost
        try require(cost.params <= ArchitectureLimits.maxParams && cost.macs >= 0, "cost \(cost) beyond the limits")
        try require(architecture.activationsPerSample <= ArchitectureLimits.maxActivationsPerSample, "activations beyond the limit")
        let again = try Architecture(jsonData: architecture.canonicalJSONData, file: "canonical")
        try require(again == architecture, "canonical JSON does not round-trip: \(architecture.canonicalJSON)")
    }

    /// A decoded space round-trips through its canonical JSON, and what it samples and
    /// mutates are valid members.
    private static func check(_ space: SearchSpace) throws {
        let again = try SearchSpace(jsonData: Data(space.canonicalJSON.utf8), file: "canonical")
        try require(again == space, "canonical JSON does not round-trip: \(space.canonicalJSON)")
        var generator = SeededGenerator(seed: 1)
        for _ in 0..<3 {
            let sampled = space.sample(using: &generator)
            try check(sampled)
            try require(space.contains(sampled), "sampled a non-member: \(sampled.canonicalJSON)")
            let mutated = space.mutate(sampled, using: &generator)
            try check(mutated)
            try require(space.contains(mutated), "mutated into a non-member: \(mutated.canonicalJSON)")
        }
    }

    private static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Violation(description: message()) }
    }

    /// The IDX reader reads files (it streams them through zlib): one scratch file per process.
    private static func readIDX(_ data: Data, rank: Int) throws -> IDXArray {
        let url = scratchURL
        try data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try IDXFile.read(contentsOf: url, rank: rank)
    }

    /// In memory (/dev/shm) where there is one: a file per input on a disk would be most of the time.
    private static let scratchURL = (FileManager.default.fileExists(atPath: "/dev/shm")
        ? URL(fileURLWithPath: "/dev/shm", isDirectory: true) : FileManager.default.temporaryDirectory)
        .appendingPathComponent("edgenas-decoder-check-\(ProcessInfo.processInfo.processIdentifier).idx")
}
