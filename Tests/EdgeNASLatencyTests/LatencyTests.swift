import EdgeNASCore
import EdgeNASModels
import EdgeNASONNX
import EdgeNASRuntime
import EdgeNASTensor
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import EdgeNASLatency

/// The repository's `spaces/` directory.
private let spacesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("spaces")

private func space(_ name: String) throws -> SearchSpace {
    try SearchSpace(contentsOf: spacesDirectory.appendingPathComponent(name))
}

/// A space of 2 stages with few choices: 14 signatures, measured in well under a second.
private let tinySpaceJSON = """
    {"format": "edgenas.space/1", "name": "test-tiny", "family": "mbconv",
     "input": {"channels": 1, "height": 12, "width": 12}, "classes": 10, "activation": "relu6",
     "stem": {"channels": 4, "kernel": 3, "stride": 2},
     "stages": [
       {"channels": [8], "stride": 1, "depth": [1, 2], "kernel": [3], "expand": [1, 2], "se": [false]},
       {"channels": [8, 12], "stride": 2, "depth": [1], "kernel": [3], "expand": [2], "se": [false, true]}],
     "head": {"channels": [0, 16]}}
    """

private func tinySpace() throws -> SearchSpace { try SearchSpace(jsonData: Data(tinySpaceJSON.utf8)) }

/// Few runs: tests check behaviour, never speed.
private func testDevice(_ id: String = "test-ort-t1", runtime: LatencyRuntimeKind = .onnxruntime) -> DeviceProfile {
    DeviceProfile(id: id, description: "test device", runtime: runtime, threads: 1, warmupRuns: 1, timedRuns: 3)
}

private let runtimeFound = (try? ONNXRuntime.locateLibrary()) != nil

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-latency-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func measurement(microseconds: Double) -> LatencyMeasurement {
    LatencyMeasurement(runMicroseconds: [microseconds, microseconds, microseconds])
}

// MARK: - Signatures

@Suite struct SignatureTests {
    @Test(arguments: ["fmnist-mbconv-tiny.json", "fmnist-vit.json", "fmnist-mamba.json"])
    func spaceSignaturesAreExactlyThoseOfItsArchitectures(file: String) throws {
        let searchSpace = try space(file)
        let enumerated = Set(searchSpace.blockSignatures())
        var generator = SeededGenerator(seed: 11)
        var sampled: Set<BlockSignature> = []
        for index in 0..<3000 {
            let architecture = searchSpace.sample(using: &generator)
            let signatures = architecture.blockSignatures()
            let outside = signatures.filter { !enumerated.contains($0) }
            #expect(outside.isEmpty, "seed 11 draw \(index): \(outside.map(\.key)) not in the space's set")
            sampled.formUnion(signatures)
        }
        #expect(sampled == enumerated, "never sampled: \(enumerated.subtracting(sampled).map(\.key).sorted().prefix(5))")
    }

    @Test func keysAreCanonical() throws {
        let block = ProfiledBlock.mbconvBlock(input: ImageShape(channels: 24, height: 14, width: 14), outputChannels: 40,
                                              kernel: 5, expand: 6, stride: 2, se: true, activation: .hswish)
        #expect(block.key == "mbconv_block/in=14x14x24/out=40/k=5/e=6/s=2/se=1/act=hswish/res=0")
        let residual = ProfiledBlock.mbconvBlock(input: ImageShape(channels: 16, height: 7, width: 7), outputChannels: 16,
                                                 kernel: 3, expand: 1, stride: 1, se: false, activation: .relu6)
        #expect(residual.key == "mbconv_block/in=7x7x16/out=16/k=3/e=1/s=1/se=0/act=relu6/res=1")
        #expect(ProfiledBlock.vitLayer(tokens: 49, embed: 64, heads: 2, mlpHidden: 128).key
                == "vit_layer/tokens=49/embed=64/heads=2/mlp=128")
    }

    @Test func mambaLayerKeyNamesEveryChoice() {
        #expect(ProfiledBlock.mambaLayer(tokens: 49, embed: 64, layer: MambaLayer(state: 8, expand: 2, conv: 4)).key
                == "mamba_layer/tokens=49/embed=64/state=8/e=2/conv=4")
    }

    /// Each block's input is the shape the whole engine network has at that point, and each
    /// block graph runs in ONNX Runtime with exactly those shapes.
    @Test(arguments: ["fmnist-mbconv-tiny.json", "fmnist-vit.json", "fmnist-mamba.json"])
    func blockShapesMatchTheWholeNetwork(file: String) throws {
        let searchSpace = try space(file)
        var generator = SeededGenerator(seed: 5)
        let architecture = searchSpace.sample(using: &generator)
        let signatures = architecture.blockSignatures()
        let network = NetworkBuilder.network(for: architecture, seed: 0)
        network.setTrainingMode(false)
        let input = architecture.input
        var x = Tensor(shape: [1, input.channels, input.height, input.width],
                       storage: BlockModels.sampleInput(count: input.channels * input.height * input.width))
        var shapes: [[Int]] = [x.shape]
        withoutGradients {
            switch network {
            case let network as MBConvNetwork:
                x = network.stemForward(x); shapes.append(x.shape)
                for index in 0..<architecture.blockCountForTest {
                    x = network.blockForward(index, x); shapes.append(x.shape)
                }
                if case let .mbconv(body) = architecture.body, body.headChannels > 0 {
                    x = network.headForward(x); shapes.append(x.shape)
                }
                x = network.pooledClassifierForward(x); shapes.append(x.shape)
            case let network as ViTNetwork:
                x = network.embeddingForward(x); shapes.append(x.shape)
                for index in 0..<(signatures.count - 2) { x = network.layerForward(index, x); shapes.append(x.shape) }
                x = network.tokenClassifierForward(x); shapes.append(x.shape)
            case let network as MambaNetwork:
                x = network.embeddingForward(x); shapes.append(x.shape)
                for index in 0..<(signatures.count - 2) { x = network.layerForward(index, x); shapes.append(x.shape) }
                x = network.tokenClassifierForward(x); shapes.append(x.shape)
            default:
                Issue.record("unexpected network \(type(of: network))")
            }
        }
        #expect(signatures.map(\.block.inputShape) == Array(shapes.dropLast()))
        #expect(signatures.map(\.block.outputShape) == Array(shapes.dropFirst()))

        guard runtimeFound else { return }
        for signature in signatures {
            let model = try BlockModels.onnxModel(for: signature.block)
            let session = try InferenceSession(modelData: try model.serializedData())
            let count = signature.block.inputShape.reduce(1, *)
            let outputs = try session.run(inputs: [(name: BlockModels.inputName, shape: signature.block.inputShape,
                                                    values: BlockModels.sampleInput(count: count))])
            #expect(outputs.map(\.shape) == [signature.block.outputShape], "\(signature.key)")
        }
    }
}

extension Architecture {
    /// Number of MBConv blocks (0 for other families).
    fileprivate var blockCountForTest: Int {
        if case let .mbconv(body) = body { return body.stages.reduce(0) { $0 + $1.blocks.count } }
        return 0
    }
}

// MARK: - Device files

@Suite struct DeviceProfileTests {
    @Test func defaultsAndFields() throws {
        let device = try DeviceProfile(yamlString: "id: pi4-ort-t4\nthreads: 4\ncpu_affinity: [0, 1]\n", file: "pi.yaml")
        #expect(device == DeviceProfile(id: "pi4-ort-t4", runtime: .onnxruntime, threads: 4, warmupRuns: 10,
                                        timedRuns: 50, cpuAffinity: [0, 1]))
    }

    @Test(arguments: [
        ("threads: 2\n", "dev.yaml: id: missing required field"),
        ("id: a\nthreads: 0\n", "dev.yaml: threads: must be at least 1, got 0"),
        ("id: a\ntimed_runs: 0\n", "dev.yaml: timed_runs: must be at least 1, got 0"),
        ("id: a\nruntime: tflite\n", #"dev.yaml: runtime: expected one of "onnxruntime", "native", got "tflite""#),
        ("id: a\nthread: 2\n", "dev.yaml: thread: unknown key (allowed: id, description, runtime, threads, warmup_runs, "
            + "timed_runs, cpu_affinity)"),
        ("id: a b\n", #"dev.yaml: id: must be letters, digits, '.', '_' or '-', e.g. host-x86_64-ort-t1, got "a b""#),
        ("id: a\ncpu_affinity: [0, -1]\n", "dev.yaml: cpu_affinity[1]: must be a CPU number ≥ 0, got -1"),
        ("id: a\nthreads: 1000\n", "dev.yaml: threads: must be at most 256, got 1000"),
        ("id: a\nwarmup_runs: 1000000000000\n", "dev.yaml: warmup_runs: must be at most 10000, got 1000000000000"),
        ("id: a\ntimed_runs: 1000000\n", "dev.yaml: timed_runs: must be at most 100000, got 1000000"),
        ("id: a\ncpu_affinity: [100000]\n", "dev.yaml: cpu_affinity[0]: must be a CPU number ≤ 4095, got 100000"),
    ])
    func errorsNameTheFileAndField(yaml: String, message: String) {
        #expect { try DeviceProfile(yamlString: yaml, file: "dev.yaml") } throws: { "\($0)" == message }
    }

    @Test func shippedDeviceFilesLoad() throws {
        let devices = spacesDirectory.deletingLastPathComponent().appendingPathComponent("devices")
        for name in try FileManager.default.contentsOfDirectory(atPath: devices.path) where name.hasSuffix(".yaml") {
            let device = try DeviceProfile.load(contentsOf: devices.appendingPathComponent(name))
            #expect(device.warmupRuns >= 10 && device.timedRuns >= 50, "\(name)")
        }
    }
}

// MARK: - Tables

@Suite struct LatencyTableTests {
    @Test func roundTripAndMetadata() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let device = testDevice()
        let signatures = try tinySpace().blockSignatures()
        do {
            let table = try LatencyTable(path: path, device: device, createIfMissing: true)
            let stored = try table.record(signatures[0], measurement(microseconds: 42.5), runtime: .onnxruntime,
                                          runtimeVersion: "9.9", threads: 1)
            #expect(stored)
            // A second measurement of the same block (another profiler) keeps the first.
            let again = try table.record(signatures[0], measurement(microseconds: 1), runtime: .onnxruntime,
                                         runtimeVersion: "9.9", threads: 1)
            #expect(!again)
        }
        let reopened = try LatencyTable(path: path, device: nil, createIfMissing: false)
        let row = try #require(try reopened.latencies(for: [signatures[0].key])[signatures[0].key])
        #expect(row.medianMicroseconds == 42.5 && row.count == 3 && row.runtimeVersion == "9.9")
        #expect(try reopened.missingSignatures(signatures) == Array(signatures.dropFirst()))
        let metadata = try reopened.metadata()
        #expect(metadata.deviceID == device.id && metadata.threads == 1 && metadata.schemaVersion == LatencyTable.schemaVersion)
        #expect(try reopened.recordedDevice() == DeviceProfile(id: device.id, description: device.description,
                                                                 threads: 1, warmupRuns: 1, timedRuns: 3))
        #expect(throws: LatencyError.tableNotFound(path: path + "x")) {
            try LatencyTable(path: path + "x", device: device, createIfMissing: false)
        }
    }

    /// A table written before reference timing (schema 1, raw medians) is migrated in place,
    /// keeps its rows, and goes on timing raw, so it never holds two scales.
    @Test func aTableMeasuredBeforeReferenceTimingIsMigratedAndStaysRaw() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("v1.sqlite").path
        let device = testDevice("test-native-t1", runtime: .native)
        let signatures = try tinySpace().blockSignatures()
        // The released schema 1, as GRDB's migrator left it.
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript(\"\"\"
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1: device, block latencies, calibration, profile runs');
            CREATE TABLE edgenas_table (id INTEGER PRIMARY KEY CHECK (id = 1), schema_version INTEGER NOT NULL,
              device_id TEXT NOT NULL, device_description TEXT NOT NULL, runtime TEXT NOT NULL, runtime_version TEXT NOT NULL,
              threads INTEGER NOT NULL, warmup_runs INTEGER NOT NULL, timed_runs INTEGER NOT NULL, host_cpu_model TEXT NOT NULL,
              created_at TEXT NOT NULL, updated_at TEXT NOT NULL, run_overhead_us REAL);
            CREATE TABLE block_latency (signature TEXT PRIMARY KEY NOT NULL, count INTEGER NOT NULL, median_us REAL NOT NULL,
              p90_us REAL NOT NULL, mean_us REAL NOT NULL, std_us REAL NOT NULL, runtime TEXT NOT NULL,
              runtime_version TEXT NOT NULL, threads INTEGER NOT NULL, measured_at TEXT NOT NULL);
            CREATE TABLE calibration_sample (architecture_id TEXT PRIMARY KEY NOT NULL, family TEXT NOT NULL,
              architecture TEXT NOT NULL, block_sum_us REAL NOT NULL, measured_median_us REAL NOT NULL, measured_at TEXT NOT NULL);
            CREATE TABLE calibration (family TEXT PRIMARY KEY NOT NULL, slope REAL NOT NULL, intercept_us REAL NOT NULL,
              sample_count INTEGER NOT NULL, r_squared REAL NOT NULL, fitted_at TEXT NOT NULL);
            CREATE TABLE profile_run (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, cpu_model TEXT NOT NULL,
              governor TEXT NOT NULL, load_average_1m REAL NOT NULL, core_count INTEGER NOT NULL, runtime_version TEXT NOT NULL);
            INSERT INTO edgenas_table VALUES (1, 1, 'test-native-t1', 'test', 'native', 'edgenas-engine', 1, 1, 3, 'cpu',
              '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 0);
            \"\"\")
            c.execute("INSERT INTO block_latency VALUES (?, 3, 42.5, 50, 44, 2, 'native', 'edgenas-engine', 1, 'then')", (sys.argv[2],))
            c.commit()
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, path, signatures[0].key]
        try python.run()
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)

        let table = try LatencyTable(path: path, device: device, createIfMissing: false)
        let metadata = try table.metadata()
        #expect(metadata.schemaVersion == LatencyTable.schemaVersion && metadata.referenceNominalMicroseconds == nil)
        let outcome = try LatencyProfiler(device: device, table: table).profile(signatures)
        #expect(outcome.nominalReferenceMicroseconds == nil && outcome.measured == signatures.count - 1)
        let rows = try table.latencies(for: signatures.map(\.key))
        #expect(rows[signatures[0].key]?.medianMicroseconds == 42.5, "the old row is kept")
        #expect(rows.values.allSatisfy { $0.typicalMedianMicroseconds == nil }, "new rows are raw like the old ones")
        #expect(try table.metadata().referenceNominalMicroseconds == nil)
    }

    @Test func foreignCorruptAndOtherDatabasesAreRefusedUntouched() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let foreign = directory.appendingPathComponent("foreign.sqlite").path
        _ = try LatencyTable(path: foreign, device: testDevice("board-a"), createIfMissing: true)
        let corrupt = directory.appendingPathComponent("corrupt.sqlite").path
        try Data("this is a text file, not SQLite\n".utf8).write(to: URL(fileURLWithPath: corrupt))
        let other = directory.appendingPathComponent("other.sqlite").path
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
            + "c.execute('create table notes(x)'); c.commit()", other]
        try sqlite.run()
        sqlite.waitUntilExit()

        let cases: [(String, LatencyError)] = [
            (foreign, .foreignDevice(path: foreign, tableDevice: "board-a", requestedDevice: "board-b")),
            (corrupt, .notADatabase(path: corrupt, reason: "file is not a database")),
            (other, .notALatencyTable(path: other)),
        ]
        for (path, expected) in cases {
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(throws: expected) { try LatencyTable(path: path, device: testDevice("board-b"), createIfMissing: true) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(path) changed")
        }
        #expect("\(LatencyError.foreignDevice(path: "t.sqlite", tableDevice: "board-a", requestedDevice: "board-b"))"
                == "t.sqlite: the table belongs to device 'board-a', not 'board-b'; it was left untouched. "
                + "Use latency-tables/board-b.sqlite or that device's file")
        // Same id, other threads: the numbers would not be comparable.
        var changed = testDevice("board-a")
        changed.threads = 2
        #expect(throws: LatencyError.deviceChanged(path: foreign, field: "threads", table: "1", device: "2")) {
            try LatencyTable(path: foreign, device: changed, createIfMissing: true)
        }
    }

    /// Boards and shared folders often hold read-only copies of a table.
    @Test(arguments: ["folder", "file"])
    func readOnlyTablesAreReadWithoutWritingAnything(readOnlyPart: String) throws {
        let directory = try temporaryDirectory()
        let folder = directory.appendingPathComponent("tables")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("t.sqlite").path
        let signatures = try tinySpace().blockSignatures()
        do {
            let table = try LatencyTable(path: path, device: testDevice(), createIfMissing: true)
            try table.record(signatures[0], measurement(microseconds: 7), runtime: .onnxruntime, runtimeVersion: "9.9", threads: 1)
        }
        let locked = readOnlyPart == "folder" ? folder : URL(fileURLWithPath: path)
        defer {
            ReadOnlyPaths.makeWritable(locked)
            try? FileManager.default.removeItem(at: directory)
        }
        guard ReadOnlyPaths.makeReadOnly(locked) else { return }
        let listing = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))

        let table = try LatencyTable(path: path, device: testDevice(), createIfMissing: false, readOnly: true)
        #expect(try table.metadata().deviceID == "test-ort-t1")
        #expect(try table.latencies(for: [signatures[0].key])[signatures[0].key]?.medianMicroseconds == 7)
        #expect(throws: LatencyError.notWritable(path: path)) {
            try table.record(signatures[1], measurement(microseconds: 1), runtime: .onnxruntime, runtimeVersion: "9.9", threads: 1)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        if readOnlyPart == "folder" {
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == listing)
        }
        // A command that writes (profile) says why it cannot, in the user's terms.
        #expect(throws: LatencyError.notWritable(path: path)) {
            try LatencyTable(path: path, device: testDevice(), createIfMissing: true)
        }
    }

    @Test func zeroLengthFilesAreNeverWrittenByReaders() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("empty.sqlite").path
        FileManager.default.createFile(atPath: path, contents: Data())
        #expect(throws: LatencyError.emptyTable(path: path)) {
            try LatencyTable(path: path, device: nil, createIfMissing: false, readOnly: true)
        }
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["empty.sqlite"])
        // The profiler can still make it a table.
        let table = try LatencyTable(path: path, device: testDevice(), createIfMissing: true)
        #expect(try table.metadata().deviceID == "test-ort-t1")
    }

    @Test func readersAndTwoWritersShareATable() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let device = testDevice()
        _ = try LatencyTable(path: path, device: device, createIfMissing: true)
        let keys = (0..<150).map { BlockSignature(.vitLayer(tokens: $0 + 1, embed: 8, heads: 1, mlpHidden: 8)) }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            do {
                // Each worker opens its own connection pool, as separate processes would.
                let table = try LatencyTable(path: path, device: worker == 2 ? nil : device, createIfMissing: false)
                if worker < 2 {
                    // Two writers over the same keys, in opposite orders.
                    for key in worker == 0 ? keys : keys.reversed() {
                        try table.record(key, measurement(microseconds: 10), runtime: .onnxruntime,
                                         runtimeVersion: "t", threads: 1)
                    }
                } else {
                    var last = 0
                    while last < keys.count {
                        let count = try table.blockCount()
                        if count < last { failures.withLock { $0.append("count went back from \(last) to \(count)") } }
                        last = count
                    }
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let table = try LatencyTable(path: path, device: device, createIfMissing: false)
        #expect(try table.missingSignatures(keys).isEmpty && table.blockCount() == keys.count)
    }
}

// MARK: - Prediction

@Suite struct PredictionTests {
    @Test func predictionIsTheCalibratedSumOfBlockMedians() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let table = try LatencyTable(path: path, device: testDevice(), createIfMissing: true)
        var generator = SeededGenerator(seed: 3)
        let architecture = try tinySpace().sample(using: &generator)
        let signatures = architecture.blockSignatures()
        var medians: [String: Double] = [:]
        for (index, signature) in Set(signatures).sorted().enumerated() {
            medians[signature.key] = Double(20 + 7 * index)
            try table.record(signature, measurement(microseconds: Double(20 + 7 * index)), runtime: .onnxruntime,
                             runtimeVersion: "t", threads: 1)
        }
        try table.recordRuntime(version: "t", runOverheadMicroseconds: 5)
        let overhead = 5.0
        let sum = signatures.reduce(overhead) { $0 + medians[$1.key]! - overhead }

        let plain = try LatencyPredictor(table: table).predict(architecture)
        #expect(abs(plain.predictedMilliseconds - sum / 1000) < 1e-12)
        #expect(plain.blocks.map(\.signature) == signatures.map(\.key))
        #expect(!plain.calibrated)

        try table.saveCalibration(LatencyCalibration(family: "mbconv", slope: 1.25, interceptMicroseconds: -3,
                                                     sampleCount: 2, rSquared: 1, fittedAt: "now"))
        try table.saveCalibration(LatencyCalibration(family: "vit", slope: 9, interceptMicroseconds: 9,
                                                     sampleCount: 2, rSquared: 1, fittedAt: "now"))
        let calibrated = try LatencyPredictor(table: table).predict(architecture)
        #expect(abs(calibrated.predictedMilliseconds - (1.25 * sum - 3) / 1000) < 1e-12)
        #expect(calibrated.calibrated && abs(calibrated.uncalibratedMilliseconds - sum / 1000) < 1e-12)
    }

    /// Calibration models correct the line for the architectures that share their blocks,
    /// weighted by the share of block time in common; the others keep the line.
    @Test func calibrationModelsCorrectTheLineForTheBlocksTheyShare() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let table = try LatencyTable(path: directory.appendingPathComponent("t.sqlite").path, device: testDevice(),
                                     createIfMissing: true)
        func vit(patch: Int, embed: Int, layers: Int) -> Architecture {
            Architecture(input: ImageShape(channels: 1, height: 28, width: 28), classes: 10,
                         body: .vit(ViTBody(patch: patch, embed: embed,
                                            layers: Array(repeating: ViTLayer(heads: 2, mlpRatio: 2), count: layers))))
        }
        // Patch embedding, layers, classifier: every block 10 µs, no run overhead.
        let two = vit(patch: 7, embed: 16, layers: 2), three = vit(patch: 7, embed: 16, layers: 3)
        let four = vit(patch: 7, embed: 16, layers: 4), stranger = vit(patch: 4, embed: 32, layers: 2)
        for architecture in [two, three, four, stranger] {
            for signature in architecture.blockSignatures() {
                try table.record(signature, measurement(microseconds: 10), runtime: .onnxruntime, runtimeVersion: "t", threads: 1)
            }
        }
        try table.recordRuntime(version: "t", runOverheadMicroseconds: 0)
        try table.saveCalibration(LatencyCalibration(family: "vit", slope: 1, interceptMicroseconds: 0, sampleCount: 2,
                                                     rSquared: 1, fittedAt: "now"))
        func sample(_ architecture: Architecture, sum: Double, ratio: Double) throws {
            try table.recordCalibrationSample(CalibrationSample(
                architectureID: architecture.id, family: "vit", architecture: architecture.canonicalJSON,
                blockSumMicroseconds: sum, measuredMedianMicroseconds: ratio * sum, measuredAt: "now"))
        }
        try sample(two, sum: 40, ratio: 1.2)
        // A sample whose JSON no longer decodes is left out.
        try table.recordCalibrationSample(CalibrationSample(
            architectureID: "gone", family: "vit", architecture: "{}", blockSumMicroseconds: 40,
            measuredMedianMicroseconds: 400, measuredAt: "now"))
        // One model alone never outweighs the line.
        #expect(try LatencyPredictor(table: table).predict(four).localCorrection == 1)
        try sample(three, sum: 50, ratio: 1.3)
        let predictor = try LatencyPredictor(table: table)

        // Four layers: the line (1.0, weight 1), `two` (1.2, 40 of 60 µs shared) and `three`
        // (1.3, 50 of 60): the weighted median is 1.2.
        let corrected = try predictor.predict(four)
        #expect(abs(corrected.localCorrection - 1.2) < 1e-12 && abs(corrected.predictedMilliseconds - 0.072) < 1e-12)
        #expect(abs(corrected.lineMilliseconds - 0.060) < 1e-12)
        // Other tokens and width: no block in common, so the line alone.
        let alone = try predictor.predict(stranger)
        #expect(alone.localCorrection == 1 && alone.predictedMilliseconds == alone.lineMilliseconds)
    }

    @Test func calibrationFitsALine() throws {
        let samples = [(100.0, 130.0), (200.0, 250.0), (400.0, 490.0)].enumerated().map { index, pair in
            CalibrationSample(architectureID: "a\(index)", family: "vit", architecture: "{}", blockSumMicroseconds: pair.0,
                              measuredMedianMicroseconds: pair.1, measuredAt: "now")
        }
        let fit = try LatencyCalibration.fit(samples, family: "vit", fittedAt: "now")
        #expect(abs(fit.slope - 1.2) < 1e-12 && abs(fit.interceptMicroseconds - 10) < 1e-9 && abs(fit.rSquared - 1) < 1e-12)
        // One model timed while the machine was busy (6× too slow) must not tilt the line.
        let busy = samples + [CalibrationSample(architectureID: "busy", family: "vit", architecture: "{}",
                                                blockSumMicroseconds: 300, measuredMedianMicroseconds: 2220, measuredAt: "now"),
                              CalibrationSample(architectureID: "a3", family: "vit", architecture: "{}",
                                                blockSumMicroseconds: 500, measuredMedianMicroseconds: 610, measuredAt: "now")]
        let robust = try LatencyCalibration.fit(busy, family: "vit", fittedAt: "now")
        #expect(abs(robust.slope - 1.2) < 1e-9 && abs(robust.interceptMicroseconds - 10) < 1e-9 && robust.rSquared < 0.5)
        #expect(throws: LatencyError.tooFewCalibrationModels(1)) {
            try LatencyCalibration.fit(Array(samples.prefix(1)), family: "vit", fittedAt: "now")
        }
    }

    @Test func missingSignaturesAreNamedWithTheCommandThatFillsThem() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let table = try LatencyTable(path: path, device: testDevice(), createIfMissing: true)
        let architecture = Architecture(
            input: ImageShape(channels: 1, height: 28, width: 28), classes: 10,
            body: .vit(ViTBody(patch: 7, embed: 16, layers: [ViTLayer(heads: 2, mlpRatio: 2), ViTLayer(heads: 2, mlpRatio: 2),
                                                             ViTLayer(heads: 4, mlpRatio: 2)])))
        let error = #expect(throws: LatencyError.self) { try LatencyPredictor(table: table).predict(architecture) }
        #expect(error?.description == "\(path): 4 block(s) not measured: vit_patch_embed/in=28x28x1/patch=7/embed=16, "
                + "vit_layer/tokens=16/embed=16/heads=2/mlp=32, vit_layer/tokens=16/embed=16/heads=4/mlp=32 and 1 more. "
                + "Fill them with `edgenas profile --space SPACE --device DEVICE.yaml --table \(path)` (the space this "
                + "architecture comes from and the device file with id 'test-ort-t1')")
    }
}

// MARK: - Profiling

/// Whether a measurement of the test device (3 timed runs, one burst) counts the runs it
/// stands on: its 3 at nominal speed, or, on a machine that stayed off nominal through every
/// re-timing (CI's two cores under the whole suite), all 3 × (retries + 1) of them.
private func countsItsTimedRuns(_ count: Int, retries: Int?) -> Bool {
    let bound = DriftControl().maximumRetries
    return count == 3 || (retries == bound && count == 3 * (bound + 1))
}

@Suite struct ProfilingTests {
    @Test(arguments: [LatencyRuntimeKind.native, .onnxruntime])
    func interruptedProfilingResumesWithWhatIsMissing(runtime: LatencyRuntimeKind) throws {
        if runtime == .onnxruntime && !runtimeFound { return }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let device = testDevice(runtime == .native ? "test-native-t1" : "test-ort-t1", runtime: runtime)
        let signatures = try tinySpace().blockSignatures()
        // stem 1, stage 0: 2 + 2 (expand 1/2 at two positions), stage 1: 4 (8/12 channels × SE),
        // heads 2 (on 8 or 12 channels), classifiers 3 (8, 12, 16 features).
        #expect(signatures.count == 14)

        var asked = 0
        let first = try LatencyProfiler(device: device, table: LatencyTable(path: path, device: device, createIfMissing: true))
            .profile(signatures, shouldStop: { asked += 1; return asked > 5 })
        #expect((first.measured, first.alreadyStored, first.remaining, first.interrupted) == (5, 0, 9, true))
        // A new table fixes its nominal reference time in its first run.
        #expect(first.nominalReferenceMicroseconds.map { $0 > 0 } == true && first.referenceSpeed != nil)

        let table = try LatencyTable(path: path, device: device, createIfMissing: false)
        let before = try table.latencies(for: signatures.map(\.key))
        var progress: [Int] = []
        let second = try LatencyProfiler(device: device, table: table).profile(signatures, progress: { done, _ in progress.append(done) })
        #expect((second.measured, second.alreadyStored, second.remaining, second.interrupted) == (9, 5, 0, false))
        #expect(second.nominalReferenceMicroseconds == first.nominalReferenceMicroseconds, "the nominal time is fixed once per table")
        #expect(progress == Array(0...9))
        // The first run's rows are untouched.
        let after = try table.latencies(for: signatures.map(\.key))
        #expect(before.allSatisfy { after[$0.key] == $0.value } && after.count == 14)
        #expect(after.values.allSatisfy {
            countsItsTimedRuns($0.count, retries: $0.driftRetries) && $0.medianMicroseconds > 0 && $0.runtime == runtime.rawValue
        })
        #expect(after.values.allSatisfy { $0.typicalMedianMicroseconds.map { $0 > 0 } == true && $0.referenceMedianMicroseconds != nil })
        let metadata = try table.metadata()
        #expect(metadata.runOverheadMicroseconds.map { runtime == .native ? $0 == 0 : $0 > 0 } == true)
        #expect(try table.profileRuns().count == 2)

        // Calibration on top, then every sampled architecture of the space predicts.
        var generator = SeededGenerator(seed: 9)
        let architectures = (0..<3).map { _ in (try? tinySpace())!.sample(using: &generator) }
        let fit = try #require(try LatencyProfiler(device: device, table: table).calibrate(architectures))
        #expect(fit.family == "mbconv" && fit.sampleCount == Set(architectures.map(\.id)).count)
        let prediction = try LatencyPredictor(table: table).predict(architectures[0])
        #expect(prediction.calibrated && prediction.predictedMilliseconds.isFinite)
    }

    @Test func moreThreadsThanCoresAreRefusedBeforeAnythingRuns() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let device = DeviceProfile(id: "test-native-t8", runtime: .native, threads: 8, warmupRuns: 1, timedRuns: 3)
        let table = try LatencyTable(path: directory.appendingPathComponent("t.sqlite").path, device: device, createIfMissing: true)
        #expect(throws: LatencyError.tooManyThreads(deviceID: device.id, threads: 8, available: 2)) {
            try LatencyProfiler(device: device, table: table, availableCores: 2)
        }
        #expect(try table.profileRuns().isEmpty)
    }

    @Test func twoProfilersOnOneTableShareTheWork() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let device = testDevice("test-native-t1", runtime: .native)
        let signatures = try tinySpace().blockSignatures()
        let outcomes = Mutex<[LatencyProfiler.Outcome]>([])
        let failures = Mutex<[String]>([])
        _ = try LatencyTable(path: path, device: device, createIfMissing: true)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            do {
                let table = try LatencyTable(path: path, device: device, createIfMissing: false)
                let outcome = try LatencyProfiler(device: device, table: table).profile(signatures)
                outcomes.withLock { $0.append(outcome) }
            } catch {
                failures.withLock { $0.append("profiler \(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let results = outcomes.withLock { $0 }
        #expect(results.count == 2 && results.allSatisfy { $0.measured + $0.alreadyStored == signatures.count })
        #expect(results.map(\.measured).reduce(0, +) == signatures.count, "\(results)")
        #expect(try LatencyTable(path: path, device: nil, createIfMissing: false).blockCount() == signatures.count)
    }

    @Test func modelMeterTimesArchitecturesAndFiles() throws {
        guard runtimeFound else { return }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededGenerator(seed: 1)
        let architecture = try space("fmnist-vit.json").sample(using: &generator)
        let meter = try ModelLatencyMeter(device: testDevice())
        let measured = try meter.measure(architecture)
        #expect(countsItsTimedRuns(measured.count, retries: measured.drift?.retries) && measured.medianMilliseconds > 0)
        #expect(measured.p90Milliseconds >= measured.medianMilliseconds)
        let file = directory.appendingPathComponent("m.onnx")
        try ONNXExporter.export(architecture, to: file)
        let fromFile = try meter.measure(modelAt: file)
        #expect(countsItsTimedRuns(fromFile.count, retries: fromFile.drift?.retries))
        var pinned = testDevice()
        pinned.cpuAffinity = [100_000]
        #expect(throws: LatencyError.affinityRefused(deviceID: pinned.id, cores: [100_000],
                                                     available: ProcessInfo.processInfo.activeProcessorCount)) {
            try ModelLatencyMeter(device: pinned)
        }
        let missing = directory.appendingPathComponent("none.onnx")
        #expect(throws: LatencyError.self) { try meter.measure(modelAt: missing) }
    }
}
