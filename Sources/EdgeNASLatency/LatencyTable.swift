import EdgeNASCore
import Foundation
import GRDB

/// A table's description of the device it was measured on.
public struct LatencyTableMetadata: Sendable, Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "edgenas_table"
    var id = 1
    public var schemaVersion: Int
    public var deviceID: String
    public var deviceDescription: String
    public var runtime: String
    public var runtimeVersion: String
    public var threads: Int
    /// Untimed and timed runs per block, as the device file said when the table was created.
    public var warmupRuns: Int
    public var timedRuns: Int
    public var hostCPUModel: String
    /// ISO 8601, UTC.
    public var createdAt: String
    public var updatedAt: String
    /// Fixed cost of one runtime call (median of a one-node graph), subtracted from every
    /// block and added once per model; nil until the first profile run measures it.
    public var runOverheadMicroseconds: Double?
    /// The reference graph's nominal time, fixed by the table's first profile run: every
    /// block and calibration model is stored at this speed of the machine (see
    /// ``DriftControl``). Nil in tables measured before reference timing (schema 1), whose
    /// latencies are raw medians.
    public var referenceNominalMicroseconds: Double?
    /// The reference's median and slowest burst when the nominal time was fixed.
    public var referenceMedianMicroseconds: Double?
    public var referenceSlowestMicroseconds: Double?

    enum CodingKeys: String, CodingKey {
        case id, threads, runtime
        case schemaVersion = "schema_version", deviceID = "device_id", deviceDescription = "device_description"
        case warmupRuns = "warmup_runs", timedRuns = "timed_runs"
        case runtimeVersion = "runtime_version", hostCPUModel = "host_cpu_model", createdAt = "created_at"
        case updatedAt = "updated_at", runOverheadMicroseconds = "run_overhead_us"
        case referenceNominalMicroseconds = "reference_nominal_us", referenceMedianMicroseconds = "reference_median_us"
        case referenceSlowestMicroseconds = "reference_slowest_us"
    }

    /// The reference's speed when the table's nominal time was fixed; nil before.
    public var referenceSpeed: ReferenceSpeed? {
        guard let nominal = referenceNominalMicroseconds else { return nil }
        return ReferenceSpeed(nominalMicroseconds: nominal, medianMicroseconds: referenceMedianMicroseconds ?? nominal,
                              slowestMicroseconds: referenceSlowestMicroseconds ?? nominal)
    }
}

/// One measured block as stored, in microseconds.
public struct StoredBlockLatency: Sendable, Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "block_latency"
    public var signature: String
    public var count: Int
    public var medianMicroseconds: Double
    public var p90Microseconds: Double
    public var meanMicroseconds: Double
    public var standardDeviationMicroseconds: Double
    public var runtime: String
    public var runtimeVersion: String
    public var threads: Int
    public var measuredAt: String
    /// Timed against the reference: the median as the machine ran, the reference's median
    /// meanwhile, and the bursts re-timed (all nil for raw timings; `median_us` is then raw).
    public var typicalMedianMicroseconds: Double?
    public var referenceMedianMicroseconds: Double?
    public var driftRetries: Int?

    enum CodingKeys: String, CodingKey {
        case signature, count, runtime, threads
        case medianMicroseconds = "median_us", p90Microseconds = "p90_us", meanMicroseconds = "mean_us"
        case standardDeviationMicroseconds = "std_us", runtimeVersion = "runtime_version", measuredAt = "measured_at"
        case typicalMedianMicroseconds = "typical_median_us", referenceMedianMicroseconds = "reference_median_us"
        case driftRetries = "drift_retries"
    }
}

/// One whole model timed for calibration: its uncalibrated block sum and its measurement.
public struct CalibrationSample: Sendable, Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "calibration_sample"
    public var architectureID: String
    /// `mbconv` or `vit`: each family gets its own line.
    public var family: String
    public var architecture: String
    public var blockSumMicroseconds: Double
    /// At the table's nominal speed when the table has a reference, raw otherwise.
    public var measuredMedianMicroseconds: Double
    public var measuredAt: String
    /// The median as the machine ran (nil for raw timings).
    public var typicalMedianMicroseconds: Double?

    public init(architectureID: String, family: String, architecture: String, blockSumMicroseconds: Double,
                measuredMedianMicroseconds: Double, measuredAt: String, typicalMedianMicroseconds: Double? = nil) {
        self.architectureID = architectureID
        self.family = family
        self.architecture = architecture
        self.blockSumMicroseconds = blockSumMicroseconds
        self.measuredMedianMicroseconds = measuredMedianMicroseconds
        self.measuredAt = measuredAt
        self.typicalMedianMicroseconds = typicalMedianMicroseconds
    }

    enum CodingKeys: String, CodingKey {
        case architecture, family
        case architectureID = "architecture_id", blockSumMicroseconds = "block_sum_us"
        case measuredMedianMicroseconds = "measured_median_us", measuredAt = "measured_at"
        case typicalMedianMicroseconds = "typical_median_us"
    }
}

/// The per-device, per-family correction `measured = slope · sum + intercept`, a robust
/// line through the family's calibration samples.
public struct LatencyCalibration: Sendable, Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "calibration"
    /// The family the line was fitted on (CNN and transformer blocks fuse differently).
    public var family: String
    public var slope: Double
    public var interceptMicroseconds: Double
    public var sampleCount: Int
    /// Coefficient of determination of the fit on its own samples.
    public var rSquared: Double
    public var fittedAt: String

    public init(family: String, slope: Double, interceptMicroseconds: Double, sampleCount: Int, rSquared: Double,
                fittedAt: String) {
        self.family = family
        self.slope = slope
        self.interceptMicroseconds = interceptMicroseconds
        self.sampleCount = sampleCount
        self.rSquared = rSquared
        self.fittedAt = fittedAt
    }

    enum CodingKeys: String, CodingKey {
        case family, slope
        case interceptMicroseconds = "intercept_us", sampleCount = "sample_count", rSquared = "r_squared"
        case fittedAt = "fitted_at"
    }

    /// The Theil–Sen line through (sum, measured): slope = median of the pairwise slopes,
    /// intercept = median of measured − slope · sum.
    ///
    /// Robust rather than least squares: on a shared machine one model timed while another
    /// job ran can read several times too slow, and least squares would tilt the line for
    /// every prediction; Theil–Sen ignores up to about 29 % of such points.
    /// `rSquared` is 1 − SS_residual / SS_total of this line over all samples.
    ///
    /// - Throws: ``LatencyError/tooFewCalibrationModels(_:)`` with fewer than 2 samples.
    public static func fit(_ samples: [CalibrationSample], family: String, fittedAt: String) throws -> LatencyCalibration {
        guard samples.count >= 2 else { throw LatencyError.tooFewCalibrationModels(samples.count) }
        let x = samples.map(\.blockSumMicroseconds), y = samples.map(\.measuredMedianMicroseconds)
        var slopes: [Double] = []
        for i in x.indices {
            for j in x.indices where j > i && x[j] != x[i] { slopes.append((y[j] - y[i]) / (x[j] - x[i])) }
        }
        // All sums equal: no slope to fit, keep the sums' scale and correct the offset.
        let slope = slopes.isEmpty ? 1 : SampleStatistics.median(slopes)
        let intercept = SampleStatistics.median(zip(x, y).map { $1 - slope * $0 })
        let meanY = SampleStatistics.mean(y)
        var residual = 0.0, total = 0.0
        for (xi, yi) in zip(x, y) {
            residual += (yi - (slope * xi + intercept)) * (yi - (slope * xi + intercept))
            total += (yi - meanY) * (yi - meanY)
        }
        let rSquared = total > 0 ? 1 - residual / total : 1
        return LatencyCalibration(family: family, slope: slope, interceptMicroseconds: intercept,
                                  sampleCount: samples.count, rSquared: rSquared, fittedAt: fittedAt)
    }
}

/// The machine's state when a profile run started, kept with the table.
public struct ProfileRunRecord: Sendable, Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "profile_run"
    public var startedAt: String
    public var cpuModel: String
    public var governor: String
    public var loadAverage1m: Double
    public var coreCount: Int
    public var runtimeVersion: String
    /// What the kernel exposes of the CPU frequency and temperatures, e.g. `cpu0 2400 MHz`,
    /// or `not exposed` (this VM exposes neither).
    public var cpuFrequency: String?
    public var thermal: String?
    /// The reference's speed at the start of this run (its nominal quantile, median and slowest burst).
    public var referenceNominalMicroseconds: Double?
    public var referenceMedianMicroseconds: Double?
    public var referenceSlowestMicroseconds: Double?

    public init(startedAt: String, cpuModel: String, governor: String, loadAverage1m: Double, coreCount: Int,
                runtimeVersion: String, cpuFrequency: String? = nil, thermal: String? = nil, referenceSpeed: ReferenceSpeed? = nil) {
        self.startedAt = startedAt
        self.cpuModel = cpuModel
        self.governor = governor
        self.loadAverage1m = loadAverage1m
        self.coreCount = coreCount
        self.runtimeVersion = runtimeVersion
        self.cpuFrequency = cpuFrequency
        self.thermal = thermal
        referenceNominalMicroseconds = referenceSpeed?.nominalMicroseconds
        referenceMedianMicroseconds = referenceSpeed?.medianMicroseconds
        referenceSlowestMicroseconds = referenceSpeed?.slowestMicroseconds
    }

    enum CodingKeys: String, CodingKey {
        case governor, thermal
        case startedAt = "started_at", cpuModel = "cpu_model", loadAverage1m = "load_average_1m"
        case coreCount = "core_count", runtimeVersion = "runtime_version", cpuFrequency = "cpu_frequency"
        case referenceNominalMicroseconds = "reference_nominal_us", referenceMedianMicroseconds = "reference_median_us"
        case referenceSlowestMicroseconds = "reference_slowest_us"
    }
}

/// A per-device latency table in SQLite (WAL): block latencies by signature, the run
/// overhead, calibration samples and fit, and the device it belongs to.
///
/// Opening checks the file before anything writes to it: a file that is not SQLite, an
/// SQLite file that is not an EdgeNAS table, or a table of another device is refused with
/// a message naming the file, and its bytes are left as they were. Every write is its own
/// transaction, so a profile run that is interrupted keeps everything it finished; readers
/// see a consistent table while a profiler writes, and two profilers on one file take turns.
///
/// ```swift
/// let table = try LatencyTable(path: "latency-tables/host.sqlite", device: device, createIfMissing: true)
/// let missing = try table.missingSignatures(space.blockSignatures())
/// ```
public final class LatencyTable: Sendable {
    /// The schema this EdgeNAS writes; also the number of the newest migration.
    public static let schemaVersion = 2

    /// The file, as given.
    public let path: String
    /// Whether the table was opened for reading only (nothing can write through it).
    public let isReadOnly: Bool
    private let reader: any DatabaseReader
    private let writer: (any DatabaseWriter)?

    /// Opens (and with `createIfMissing`, creates) the table at `path`.
    ///
    /// - Parameters:
    ///   - device: the device the table must belong to; nil accepts any EdgeNAS table (for
    ///   prediction). A new table needs one.
    ///   - createIfMissing: create the file (its directory must exist) when it is absent.
    ///   - readOnly: open it for reading only: nothing is ever written to the file or its
    ///   folder, so a table in a read-only folder or file can be read (``createIfMissing``
    ///   must then be false). Commands that only predict open tables this way.
    /// - Throws: ``LatencyError`` for a missing, empty (when reading only), foreign, corrupt or
    ///   non-EdgeNAS file, or a read-only one that is to be written; none of them is modified.
    public init(path: String, device: DeviceProfile?, createIfMissing: Bool, readOnly: Bool = false) throws {
        precondition(!(readOnly && createIfMissing), "LatencyTable: a read-only table cannot be created (\(path))")
        self.path = path
        isReadOnly = readOnly
        let fileManager = FileManager.default
        let exists = fileManager.fileExists(atPath: path)
        var wasEmpty = false
        if exists {
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw LatencyError.notADatabase(path: path, reason: "it is a directory")
            }
            if let inspected = try Self.inspectExistingFile(path: path, device: device, keepOpen: readOnly) {
                reader = inspected
                writer = nil
                return
            }
            if readOnly { throw LatencyError.emptyTable(path: path) }
            wasEmpty = true
        } else {
            guard createIfMissing else { throw LatencyError.tableNotFound(path: path) }
            guard device != nil else { throw LatencyError.deviceRequired(path: path) }
        }
        var configuration = Configuration()
        // Two profilers, or a profiler and readers, wait for each other instead of failing.
        configuration.busyMode = .timeout(30)
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            do {
                try Self.migrator.migrate(pool)
            } catch {
                // Two profilers creating one new file: the other may have applied the
                // migration between our check and our write; then there is nothing left to do.
                try Self.migrator.migrate(pool)
            }
            try pool.write { db in
                let now = Self.timestamp()
                if try LatencyTableMetadata.fetchOne(db) == nil {
                    guard let device else { throw LatencyError.deviceRequired(path: path) }
                    try LatencyTableMetadata(
                        schemaVersion: Self.schemaVersion, deviceID: device.id, deviceDescription: device.description,
                        runtime: device.runtime.rawValue, runtimeVersion: "", threads: device.threads,
                        warmupRuns: device.warmupRuns, timedRuns: device.timedRuns,
                        hostCPUModel: HostState.cpuModel(), createdAt: now, updatedAt: now,
                        runOverheadMicroseconds: nil
                    ).insert(db)
                }
                if let device, let existing = try LatencyTableMetadata.fetchOne(db) {
                    try Self.check(existing, against: device, path: path)
                }
            }
            reader = pool
            writer = pool
        } catch {
            // A table this call was creating is not left half-made (a later profile would
            // refuse it as "not a latency table"): it goes back to what it was.
            if !exists || wasEmpty { Self.undoCreation(path: path, keepEmptyFile: wasEmpty) }
            if let error = error as? DatabaseError { throw Self.openingError(error, path: path) }
            throw error
        }
    }

    private static func undoCreation(path: String, keepEmptyFile: Bool) {
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        if keepEmptyFile { truncate(path, 0) } else { try? FileManager.default.removeItem(atPath: path) }
    }


    /// A database error while opening for writing, in the user's terms.
    private static func openingError(_ error: DatabaseError, path: String) -> LatencyError {
        switch error.resultCode {
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
            return .notWritable(path: path)
        case .SQLITE_FULL:
            return .diskFull(path: path)
        case .SQLITE_IOERR:
            return OutputPath.isOutOfSpace(at: path) ? .diskFull(path: path) : .writeFailed(path: path, reason: error.message ?? "\(error)")
        default:
            return .notADatabase(path: path, reason: error.message ?? "\(error)")
        }
    }

    // MARK: - Opening checks

    /// A read-only connection to `path`. A WAL table needs its `-shm` index: when it cannot
    /// be created (a read-only folder), the file is opened as immutable, which needs none.
    private static func readOnlyQueue(path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        } catch let error as DatabaseError where [.SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM].contains(error.resultCode) {
            var components = URLComponents()
            components.scheme = "file"
            components.path = URL(fileURLWithPath: path).path
            components.queryItems = [URLQueryItem(name: "immutable", value: "1")]
            guard let uri = components.string else { throw error }
            let queue = try DatabaseQueue(path: uri, configuration: configuration)
            try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        }
    }

    /// Checks an existing file without writing to it; returns the open read-only connection
    /// when `keepOpen`, nil for an empty file (or when not keeping it open).
    private static func inspectExistingFile(path: String, device: DeviceProfile?, keepOpen: Bool) throws -> DatabaseQueue? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LatencyError.notADatabase(path: path, reason: "cannot read the file")
        }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        try? handle.close()
        // An empty file holds nothing to lose: SQLite treats it as a new database.
        guard !header.isEmpty else { return nil }
        guard header == Data("SQLite format 3\u{0}".utf8) else {
            throw LatencyError.notADatabase(path: path, reason: "file is not a database")
        }
        // Read-only connection: a refused file must keep its bytes (a read-write pool would
        // switch a foreign database to WAL).
        do {
            let queue = try readOnlyQueue(path: path)
            var keep = false
            defer { if !keep { try? queue.close() } }
            try queue.read { db in
                let integrity = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
                guard integrity == "ok" else {
                    throw LatencyError.notADatabase(path: path, reason: "damaged: \(integrity)")
                }
                guard try db.tableExists(LatencyTableMetadata.databaseTableName),
                      try db.tableExists("grdb_migrations") else {
                    throw LatencyError.notALatencyTable(path: path)
                }
                guard let metadata = try LatencyTableMetadata.fetchOne(db) else {
                    throw LatencyError.notALatencyTable(path: path)
                }
                if metadata.schemaVersion > schemaVersion {
                    throw LatencyError.newerSchema(path: path, version: metadata.schemaVersion, supported: schemaVersion)
                }
                if let device { try check(metadata, against: device, path: path) }
            }
            keep = keepOpen
            return keepOpen ? queue : nil
        } catch let error as LatencyError {
            throw error
        } catch let error as DatabaseError {
            throw LatencyError.notADatabase(path: path, reason: error.message ?? "\(error)")
        }
    }

    private static func check(_ metadata: LatencyTableMetadata, against device: DeviceProfile, path: String) throws {
        guard metadata.deviceID == device.id else {
            throw LatencyError.foreignDevice(path: path, tableDevice: metadata.deviceID, requestedDevice: device.id)
        }
        guard metadata.runtime == device.runtime.rawValue else {
            throw LatencyError.deviceChanged(path: path, field: "runtime", table: metadata.runtime,
                                             device: device.runtime.rawValue)
        }
        guard metadata.threads == device.threads else {
            throw LatencyError.deviceChanged(path: path, field: "threads", table: String(metadata.threads),
                                             device: String(device.threads))
        }
    }

    /// Named migrations: never edited once released, only appended.
    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: device, block latencies, calibration, profile runs") { db in
            try db.execute(sql: """
                CREATE TABLE edgenas_table (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    schema_version INTEGER NOT NULL,
                    device_id TEXT NOT NULL,
                    device_description TEXT NOT NULL,
                    runtime TEXT NOT NULL,
                    runtime_version TEXT NOT NULL,
                    threads INTEGER NOT NULL CHECK (threads >= 1),
                    warmup_runs INTEGER NOT NULL CHECK (warmup_runs >= 0),
                    timed_runs INTEGER NOT NULL CHECK (timed_runs >= 1),
                    host_cpu_model TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    run_overhead_us REAL CHECK (run_overhead_us >= 0));
                CREATE TABLE block_latency (
                    signature TEXT PRIMARY KEY NOT NULL,
                    count INTEGER NOT NULL CHECK (count >= 1),
                    median_us REAL NOT NULL CHECK (median_us >= 0),
                    p90_us REAL NOT NULL,
                    mean_us REAL NOT NULL,
                    std_us REAL NOT NULL,
                    runtime TEXT NOT NULL,
                    runtime_version TEXT NOT NULL,
                    threads INTEGER NOT NULL,
                    measured_at TEXT NOT NULL);
                CREATE TABLE calibration_sample (
                    architecture_id TEXT PRIMARY KEY NOT NULL,
                    family TEXT NOT NULL,
                    architecture TEXT NOT NULL,
                    block_sum_us REAL NOT NULL,
                    measured_median_us REAL NOT NULL,
                    measured_at TEXT NOT NULL);
                CREATE TABLE calibration (
                    family TEXT PRIMARY KEY NOT NULL,
                    slope REAL NOT NULL,
                    intercept_us REAL NOT NULL,
                    sample_count INTEGER NOT NULL CHECK (sample_count >= 2),
                    r_squared REAL NOT NULL,
                    fitted_at TEXT NOT NULL);
                CREATE TABLE profile_run (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at TEXT NOT NULL,
                    cpu_model TEXT NOT NULL,
                    governor TEXT NOT NULL,
                    load_average_1m REAL NOT NULL,
                    core_count INTEGER NOT NULL,
                    runtime_version TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v2: reference timing against drift, host frequency and temperature") { db in
            try db.execute(sql: """
                ALTER TABLE edgenas_table ADD COLUMN reference_nominal_us REAL CHECK (reference_nominal_us > 0);
                ALTER TABLE edgenas_table ADD COLUMN reference_median_us REAL;
                ALTER TABLE edgenas_table ADD COLUMN reference_slowest_us REAL;
                ALTER TABLE block_latency ADD COLUMN typical_median_us REAL;
                ALTER TABLE block_latency ADD COLUMN reference_median_us REAL;
                ALTER TABLE block_latency ADD COLUMN drift_retries INTEGER;
                ALTER TABLE calibration_sample ADD COLUMN typical_median_us REAL;
                ALTER TABLE profile_run ADD COLUMN cpu_frequency TEXT;
                ALTER TABLE profile_run ADD COLUMN thermal TEXT;
                ALTER TABLE profile_run ADD COLUMN reference_nominal_us REAL;
                ALTER TABLE profile_run ADD COLUMN reference_median_us REAL;
                ALTER TABLE profile_run ADD COLUMN reference_slowest_us REAL;
                UPDATE edgenas_table SET schema_version = 2;
                """)
        }
        return migrator
    }

    // MARK: - Reading

    /// The device and runtime the table describes.
    public func metadata() throws -> LatencyTableMetadata {
        try reader.read { db in
            guard let metadata = try LatencyTableMetadata.fetchOne(db) else {
                throw LatencyError.notALatencyTable(path: path)
            }
            return metadata
        }
    }

    /// `signatures` (deduplicated, in their first order) that have no measurement yet.
    public func missingSignatures(_ signatures: [BlockSignature]) throws -> [BlockSignature] {
        let stored = try storedKeys()
        var seen: Set<String> = []
        return signatures.filter { !stored.contains($0.key) && seen.insert($0.key).inserted }
    }

    /// Every measured signature key.
    public func storedKeys() throws -> Set<String> {
        try reader.read { db in Set(try String.fetchAll(db, sql: "SELECT signature FROM block_latency")) }
    }

    /// The stored measurements of `keys` that exist, by key.
    public func latencies(for keys: [String]) throws -> [String: StoredBlockLatency] {
        let unique = Array(Set(keys))
        return try reader.read { db in
            var result: [String: StoredBlockLatency] = [:]
            for record in try StoredBlockLatency.filter(keys: unique).fetchAll(db) { result[record.signature] = record }
            return result
        }
    }

    /// Whether `signature` has a measurement (another profiler may have stored it meanwhile).
    public func contains(_ signature: BlockSignature) throws -> Bool {
        try reader.read { db in try StoredBlockLatency.exists(db, key: signature.key) }
    }

    /// Number of measured blocks.
    public func blockCount() throws -> Int {
        try reader.read { db in try StoredBlockLatency.fetchCount(db) }
    }

    /// The calibration fits by family (`mbconv`, `vit`); empty before `profile --calibrate`.
    public func calibrations() throws -> [String: LatencyCalibration] {
        try reader.read { db in
            Dictionary(uniqueKeysWithValues: try LatencyCalibration.fetchAll(db).map { ($0.family, $0) })
        }
    }

    /// The whole models timed for calibration, of every family.
    public func calibrationSamples() throws -> [CalibrationSample] {
        try reader.read { db in try CalibrationSample.order(Column("measured_at")).fetchAll(db) }
    }

    /// The machine states recorded at the start of each profile run, oldest first.
    public func profileRuns() throws -> [ProfileRunRecord] {
        try reader.read { db in try ProfileRunRecord.order(Column("id")).fetchAll(db) }
    }

    /// The device this table was measured on, as far as the table records it (no CPU affinity).
    public func recordedDevice() throws -> DeviceProfile {
        let metadata = try metadata()
        return DeviceProfile(id: metadata.deviceID, description: metadata.deviceDescription,
                             runtime: LatencyRuntimeKind(rawValue: metadata.runtime) ?? .onnxruntime,
                             threads: metadata.threads, warmupRuns: metadata.warmupRuns, timedRuns: metadata.timedRuns)
    }

    // MARK: - Writing (each call is one transaction)

    /// Stores one block's measurement; a signature already stored (by a concurrent
    /// profiler) keeps its first measurement.
    ///
    /// - Returns: whether this measurement was stored.
    @discardableResult
    public func record(_ signature: BlockSignature, _ measurement: LatencyMeasurement, runtime: LatencyRuntimeKind,
                       runtimeVersion: String, threads: Int) throws -> Bool {
        let row = StoredBlockLatency(
            signature: signature.key, count: measurement.count,
            medianMicroseconds: measurement.medianMilliseconds * 1000, p90Microseconds: measurement.p90Milliseconds * 1000,
            meanMicroseconds: measurement.meanMilliseconds * 1000,
            standardDeviationMicroseconds: measurement.standardDeviationMilliseconds * 1000,
            runtime: runtime.rawValue, runtimeVersion: runtimeVersion, threads: threads, measuredAt: Self.timestamp(),
            typicalMedianMicroseconds: measurement.drift.map { $0.typicalMedianMilliseconds * 1000 },
            referenceMedianMicroseconds: measurement.drift?.referenceMedianMicroseconds, driftRetries: measurement.drift?.retries)
        return try write { db in
            try row.insert(db, onConflict: .ignore)
            let stored = db.changesCount > 0
            try db.execute(sql: "UPDATE edgenas_table SET updated_at = ?", arguments: [row.measuredAt])
            return stored
        }
    }

    /// Records the runtime version and, the first time, the run overhead.
    public func recordRuntime(version: String, runOverheadMicroseconds: Double?) throws {
        try write { db in
            try db.execute(sql: "UPDATE edgenas_table SET runtime_version = ?, updated_at = ?",
                           arguments: [version, Self.timestamp()])
            if let runOverheadMicroseconds {
                try db.execute(sql: "UPDATE edgenas_table SET run_overhead_us = ? WHERE run_overhead_us IS NULL",
                               arguments: [runOverheadMicroseconds])
            }
        }
    }

    /// Fixes the table's nominal reference time, unless it has one.
    ///
    /// - Returns: the table's nominal reference time afterwards.
    @discardableResult
    public func recordReferenceSpeed(_ speed: ReferenceSpeed) throws -> Double {
        try write { db in
            try db.execute(sql: """
                UPDATE edgenas_table SET reference_nominal_us = ?, reference_median_us = ?, reference_slowest_us = ?
                WHERE reference_nominal_us IS NULL
                """, arguments: [speed.nominalMicroseconds, speed.medianMicroseconds, speed.slowestMicroseconds])
            return try Double.fetchOne(db, sql: "SELECT reference_nominal_us FROM edgenas_table") ?? speed.nominalMicroseconds
        }
    }

    /// Stores the machine state at the start of a profile run.
    public func recordProfileRun(_ run: ProfileRunRecord) throws {
        try write { db in try run.insert(db) }
    }

    /// Stores one calibration model (replacing an earlier timing of the same architecture).
    public func recordCalibrationSample(_ sample: CalibrationSample) throws {
        try write { db in try sample.save(db) }
    }

    /// Stores a family's calibration fit, replacing any earlier one of that family.
    public func saveCalibration(_ calibration: LatencyCalibration) throws {
        try write { db in
            try calibration.save(db)
            try db.execute(sql: "UPDATE edgenas_table SET updated_at = ?", arguments: [calibration.fittedAt])
        }
    }

    /// One write transaction; a table opened read-only, a full disk or a file that became
    /// unwritable is a ``LatencyError`` naming the file.
    private func write<Result>(_ updates: (Database) throws -> Result) throws -> Result {
        guard let writer else { throw LatencyError.notWritable(path: path) }
        do {
            return try writer.write(updates)
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_FULL: throw LatencyError.diskFull(path: path)
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM: throw LatencyError.notWritable(path: path)
            case .SQLITE_IOERR:
                throw OutputPath.isOutOfSpace(at: path) ? LatencyError.diskFull(path: path)
                    : LatencyError.writeFailed(path: path, reason: error.message ?? "\(error)")
            default: throw error
            }
        }
    }

    /// UTC now in ISO 8601 with seconds.
    static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
