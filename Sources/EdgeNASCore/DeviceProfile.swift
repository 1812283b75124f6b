import Foundation

/// The runtime a device profile measures latencies in.
public enum LatencyRuntimeKind: String, CaseIterable, Hashable, Sendable, Codable {
    /// ONNX Runtime's CPU execution provider through its C API: what deployed models run in.
    case onnxruntime
    /// EdgeNAS's own engine in inference mode (no ONNX Runtime needed).
    case native
}

/// A target board (or this machine) as a `devices/*.yaml` file describes it: which runtime
/// models are timed in, with how many threads and how many runs.
///
/// ```yaml
/// id: host-x86_64-ort-t1
/// description: This machine, ONNX Runtime 1.32 CPU, 1 intra-op thread
/// runtime: onnxruntime
/// threads: 1
/// warmup_runs: 10
/// timed_runs: 50
/// cpu_affinity: [0]
/// ```
///
/// Only `id` is required. Latency tables are keyed by `id`, so it should say what the
/// numbers depend on (board, runtime, threads).
public struct DeviceProfile: Hashable, Sendable {
    /// The smallest default of warm-up runs before timing starts.
    public static let defaultWarmupRuns = 10
    /// The default number of timed runs whose median is stored.
    public static let defaultTimedRuns = 50
    /// Bounds a device file is checked against: more threads than any board has, or run
    /// counts that would take days per block, are mistakes, not settings.
    public static let threadRange = 1...256
    public static let warmupRunRange = 0...10_000
    public static let timedRunRange = 1...100_000
    /// Highest CPU number `cpu_affinity` may name.
    public static let maximumCPU = 4_095

    /// Stable identifier, e.g. `host-x86_64-ort-t1`: letters, digits, `.`, `_`, `-`.
    public var id: String
    /// One line for people.
    public var description: String
    /// Where models are timed.
    public var runtime: LatencyRuntimeKind
    /// Intra-op threads of ONNX Runtime, or the engine's worker threads for `native`.
    public var threads: Int
    /// Untimed runs before timing, so caches, allocators and thread pools settle.
    public var warmupRuns: Int
    /// Timed runs per block or model; their median is the latency.
    public var timedRuns: Int
    /// CPU cores the profiler pins itself to, or nil to leave scheduling to the kernel.
    public var cpuAffinity: [Int]?

    /// Creates a profile without reading a file.
    public init(id: String, description: String = "", runtime: LatencyRuntimeKind = .onnxruntime, threads: Int = 1,
                warmupRuns: Int = DeviceProfile.defaultWarmupRuns, timedRuns: Int = DeviceProfile.defaultTimedRuns,
                cpuAffinity: [Int]? = nil) {
        self.id = id
        self.description = description
        self.runtime = runtime
        self.threads = threads
        self.warmupRuns = warmupRuns
        self.timedRuns = timedRuns
        self.cpuAffinity = cpuAffinity
    }

    /// Reads a device file: YAML when the name ends in `.yaml` or `.yml`, JSON otherwise.
    ///
    /// - Throws: ``ArchitectureError`` naming the file, the field path and the reason, e.g.
    ///   `devices/pi4.yaml: threads: must be at least 1, got 0`.
    public static func load(contentsOf url: URL) throws -> DeviceProfile {
        let data = try readDocument(at: url)
        let file = url.relativePath
        do {
            let value: DocumentValue
            switch url.pathExtension.lowercased() {
            case "yaml", "yml":
                guard let text = String(data: data, encoding: .utf8) else {
                    throw ArchitectureError(at: .root, "invalid YAML: the file is not UTF-8 text")
                }
                value = try DocumentValue.parseYAML(text)
            default:
                value = try DocumentValue.parseJSON(data)
            }
            return try DeviceProfile(document: DocumentNode(value))
        } catch let error as ArchitectureError {
            throw error.attributed(to: file)
        }
    }

    /// Decodes a device document that is already in memory; `file` names it in errors.
    public init(yamlString: String, file: String? = nil) throws {
        do {
            self = try DeviceProfile(document: DocumentNode(DocumentValue.parseYAML(yamlString)))
        } catch let error as ArchitectureError {
            throw error.attributed(to: file)
        }
    }

    static let documentKeys = ["id", "description", "runtime", "threads", "warmup_runs", "timed_runs", "cpu_affinity"]

    init(document: DocumentNode) throws {
        let object = try document.object(allowedKeys: Self.documentKeys)
        let idNode = try object.required("id")
        id = try idNode.string()
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !id.isEmpty, id.unicodeScalars.allSatisfy(allowed.contains) else {
            throw ArchitectureError(at: idNode.path, "must be letters, digits, '.', '_' or '-', e.g. host-x86_64-ort-t1, got \(idNode.value.summary)")
        }
        description = try object.optional("description")?.string() ?? ""
        runtime = try object.optional("runtime")?.enumeration(LatencyRuntimeKind.self) ?? .onnxruntime
        threads = try Self.within(Self.threadRange, object.optional("threads"), default: 1)
        warmupRuns = try Self.within(Self.warmupRunRange, object.optional("warmup_runs"), default: Self.defaultWarmupRuns)
        timedRuns = try Self.within(Self.timedRunRange, object.optional("timed_runs"), default: Self.defaultTimedRuns)
        if let affinityNode = try object.optional("cpu_affinity") {
            let cores = try affinityNode.list { node -> Int in
                let core = try node.integer()
                guard core >= 0 else { throw ArchitectureError(at: node.path, "must be a CPU number ≥ 0, got \(core)") }
                guard core <= Self.maximumCPU else {
                    throw ArchitectureError(at: node.path, "must be a CPU number ≤ \(Self.maximumCPU), got \(core)")
                }
                return core
            }
            cpuAffinity = cores
        } else {
            cpuAffinity = nil
        }
    }

    private static func within(_ range: ClosedRange<Int>, _ node: DocumentNode?, default value: Int) throws -> Int {
        guard let node else { return value }
        let number = try node.integer()
        guard number >= range.lowerBound else {
            throw ArchitectureError(at: node.path, "must be at least \(range.lowerBound), got \(number)")
        }
        guard number <= range.upperBound else {
            throw ArchitectureError(at: node.path, "must be at most \(range.upperBound), got \(number)")
        }
        return number
    }
}

extension DocumentObject {
    /// The member `key`, or nil when absent or null.
    func optional(_ key: String) throws -> DocumentNode? {
        guard let member = members[key] else { return nil }
        if case .null = member { return nil }
        return DocumentNode(member, at: path.key(key))
    }
}
