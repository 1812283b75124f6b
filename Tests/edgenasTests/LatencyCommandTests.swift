import Foundation
import TestSupport
import Testing

private let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A two-stage space with 14 block signatures and a native-engine device with few runs.
private func writeTinyInputs(into directory: URL) throws -> (space: String, device: String) {
    let space = directory.appendingPathComponent("tiny.json")
    try Data("""
        {"format": "edgenas.space/1", "name": "test-tiny", "family": "mbconv",
         "input": {"channels": 1, "height": 12, "width": 12}, "classes": 10, "activation": "relu6",
         "stem": {"channels": 4, "kernel": 3, "stride": 2},
         "stages": [
           {"channels": [8], "stride": 1, "depth": [1, 2], "kernel": [3], "expand": [1, 2], "se": [false]},
           {"channels": [8, 12], "stride": 2, "depth": [1], "kernel": [3], "expand": [2], "se": [false, true]}],
         "head": {"channels": [0, 16]}}
        """.utf8).write(to: space)
    let device = directory.appendingPathComponent("device.yaml")
    try Data("id: test-native-t1\nruntime: native\nthreads: 1\nwarmup_runs: 1\ntimed_runs: 3\n".utf8).write(to: device)
    return (space.path, device.path)
}

@Suite(.serialized) struct LatencyCommandTests {
    @Test func dryRunCountsSignaturesAndWritesNothing() throws {
        let directory = try makeTemporaryDirectory("latency-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let table = directory.appendingPathComponent("t.sqlite").path
        let result = try runEdgenas(["profile", "--space", repository.appendingPathComponent("spaces/fmnist-vit.json").path,
                                  "--device", repository.appendingPathComponent("devices/local.yaml").path,
                                  "--table", table, "--dry-run"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("fmnist-vit: 64 block signatures, 64 to measure on host-x86_64-ort-t1"))
        #expect(!FileManager.default.fileExists(atPath: table))
    }

    @Test func profilePredictValidateAndResume() throws {
        let directory = try makeTemporaryDirectory("latency-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (space, device) = try writeTinyInputs(into: directory)
        let table = directory.appendingPathComponent("t.sqlite").path

        let profiled = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table, "--calibrate", "3"])
        #expect(profiled.status == 0, "\(profiled.standardError)")
        #expect(profiled.standardOutput.contains("test-tiny on test-native-t1: 14 block signatures, 14 measured now, 0 already"))
        #expect(profiled.standardOutput.contains("over 3 mbconv models"))
        #expect(profiled.standardError.contains("profile: 14/14 blocks"))

        let again = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table])
        #expect(again.standardOutput.contains("14 block signatures, 0 measured now, 14 already"), "\(again.standardError)")

        let sampled = try runEdgenas(["sample", "--space", space, "--seed", "4"])
        let architecture = directory.appendingPathComponent("arch.json")
        try Data(sampled.standardOutput.utf8).write(to: architecture)
        let predicted = try runEdgenas(["latency", architecture.path, "--table", table, "--json"])
        #expect(predicted.status == 0, "\(predicted.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(predicted.standardOutput.utf8)) as? [String: Any])
        let milliseconds = try #require(json["predicted_ms"] as? Double)
        let blocks = try #require(json["blocks"] as? [[String: Any]])
        #expect(milliseconds > 0 && json["calibrated"] as? Bool == true)
        #expect(blocks.first?["signature"] as? String == "mbconv_stem/in=12x12x1/out=4/k=3/s=2/act=relu6")

        let validated = try runEdgenas(["validate", "--space", space, "--table", table, "--samples", "3", "--json"])
        #expect(validated.status == 0, "\(validated.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(validated.standardOutput.utf8)) as? [String: Any])
        #expect((report["samples"] as? [Any])?.count == 3)
        for key in ["within_5_percent", "within_10_percent", "mape_percent", "kendall_tau", "spearman_rho"] {
            #expect(report[key] != nil, "\(key) missing from \(validated.standardOutput)")
        }
    }

    @Test func badTablesAndSpacesExitWith64() throws {
        let directory = try makeTemporaryDirectory("latency-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (space, device) = try writeTinyInputs(into: directory)
        let corrupt = directory.appendingPathComponent("corrupt.sqlite")
        let bytes = Data("not a database at all\n".utf8)
        try bytes.write(to: corrupt)
        let refused = try runEdgenas(["profile", "--space", space, "--device", device, "--table", corrupt.path])
        #expect(refused.status == 64)
        #expect(refused.standardError.split(separator: "\n").last.map(String.init) == "error: \(corrupt.path): not a latency table (file is "
                + "not a database); it was left untouched. Move it away or pass another --table path")
        #expect(try Data(contentsOf: corrupt) == bytes)

        let mamba = try runEdgenas(["profile", "--space", repository.appendingPathComponent("spaces/fmnist-mamba.json").path,
                                 "--device", device, "--dry-run"])
        #expect(mamba.status == 0, "\(mamba.standardError)")
        #expect(mamba.standardOutput.contains("fmnist-mamba: 112 block signatures"), "\(mamba.standardOutput)")

        let table = directory.appendingPathComponent("t.sqlite").path
        _ = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table])
        let vit = directory.appendingPathComponent("vit.json")
        let sampled = try runEdgenas(["sample", "--space", repository.appendingPathComponent("spaces/fmnist-vit.json").path])
        try Data(sampled.standardOutput.utf8).write(to: vit)
        let missing = try runEdgenas(["latency", vit.path, "--table", table])
        #expect(missing.status == 64)
        #expect(missing.standardError.contains("block(s) not measured: vit_patch_embed/"), "\(missing.standardError)")
        #expect(missing.standardError.contains("`edgenas profile --space SPACE --device DEVICE.yaml --table \(table)`"))
    }

    @Test func readOnlyTablesServeLatencyAndValidateAndEmptyFilesStayEmpty() throws {
        let directory = try makeTemporaryDirectory("latency-cli")
        let (space, device) = try writeTinyInputs(into: directory)
        let shared = directory.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        let table = shared.appendingPathComponent("t.sqlite").path
        defer {
            ReadOnlyPaths.makeWritable(shared)
            try? FileManager.default.removeItem(at: directory)
        }
        let profiled = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table, "--calibrate", "3"])
        #expect(profiled.status == 0, "\(profiled.standardError)")
        let architecture = directory.appendingPathComponent("arch.json")
        try Data(try runEdgenas(["sample", "--space", space, "--seed", "4"]).standardOutput.utf8).write(to: architecture)
        let empty = directory.appendingPathComponent("empty.sqlite").path
        FileManager.default.createFile(atPath: empty, contents: Data())

        if ReadOnlyPaths.makeReadOnly(shared) {
            let listing = try FileManager.default.contentsOfDirectory(atPath: shared.path).sorted()
            let predicted = try runEdgenas(["latency", architecture.path, "--table", table])
            #expect(predicted.status == 0, "\(predicted.standardError)")
            #expect(predicted.standardOutput.contains("ms predicted on test-native-t1"))
            let validated = try runEdgenas(["validate", "--space", space, "--table", table, "--samples", "2"])
            #expect(validated.status == 0, "\(validated.standardError)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: shared.path).sorted() == listing)
            let images = try FakeMNIST.write(into: directory.appendingPathComponent("images"))
            let searched = try runEdgenas(["search", "--space", space, "--device", device, "--table", table, "--max-latency-ms", "100",
                                           "--scorer", "params", "--candidates", "3", "--images", images.path,
                                           "--out", directory.appendingPathComponent("run").path,
                                           "--export", directory.appendingPathComponent("w.onnx").path])
            #expect(searched.status == 0, "\(searched.standardError)")
            let refused = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table, "--calibrate", "4"])
            #expect(refused.status == 64)
            #expect(refused.standardError.contains("--table \(table): cannot write into folder \(shared.path)"), "\(refused.standardError)")
        }

        for command in [["latency", architecture.path, "--table", empty], ["validate", "--space", space, "--table", empty]] {
            let result = try runEdgenas(command)
            #expect(result.status == 64, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("\(empty): an empty file, not a latency table yet; it was left untouched"),
                    "\(result.standardError)")
            #expect(try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int == 0)
        }
        // profile can still fill it.
        let filled = try runEdgenas(["profile", "--space", space, "--device", device, "--table", empty])
        #expect(filled.status == 0, "\(filled.standardError)")
    }

    @Test func interruptedProfileKeepsWhatItMeasuredAndResumes() throws {
        let directory = try makeTemporaryDirectory("latency-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Enough runs per block that the whole space takes far longer than the wait.
        let device = directory.appendingPathComponent("slow.yaml").path
        try Data("id: test-native-t1\nruntime: native\nwarmup_runs: 10\ntimed_runs: 200\n".utf8)
            .write(to: URL(fileURLWithPath: device))
        let space = repository.appendingPathComponent("spaces/fmnist-mbconv-tiny.json").path
        let table = directory.appendingPathComponent("t.sqlite").path
        // A new table first fixes its nominal reference time (80 bursts over about 4 s).
        let stopped = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table], interruptAfter: 8)
        #expect(stopped.status == 130, "\(stopped.standardError)")
        let saved = try #require(stopped.standardError.split(separator: "\n").last { $0.hasPrefix("interrupted: ") })
        let count = try #require(Int(saved.dropFirst("interrupted: ".count).prefix { $0.isNumber }))
        #expect(saved.hasSuffix("Run the same command again to resume"), "\(saved)")
        #expect(count > 0 && count < 548, "\(saved)")

        let dryRun = try runEdgenas(["profile", "--space", space, "--device", device, "--table", table, "--dry-run"])
        #expect(dryRun.standardOutput.hasPrefix("fmnist-mbconv-tiny: 548 block signatures, \(548 - count) to measure"),
                "\(dryRun.standardOutput)")
    }
}
