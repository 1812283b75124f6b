import Foundation
import Testing

/// The README's job on a tiny space, end to end through the built binary: profile a device
/// in ONNX Runtime, search under Params and latency limits, export and time the winner.
@Suite(.serialized) struct SearchCommandTests {
    /// 28×28 input (the probe and proxy images are Fashion-MNIST-sized) with few, small blocks.
    static let space = """
        {"format": "edgenas.space/1", "name": "test-search-tiny", "family": "mbconv",
         "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, "activation": "relu6",
         "stem": {"channels": 4, "kernel": 3, "stride": 2},
         "stages": [
           {"channels": [8, 12], "stride": 2, "depth": [1, 2], "kernel": [3, 5], "expand": [1, 2], "se": [false, true]},
           {"channels": [12, 16], "stride": 2, "depth": [1], "kernel": [3], "expand": [2, 4], "se": [false]}],
         "head": {"channels": [0, 32]}}
        """

    struct Inputs {
        var folder: URL
        var space: String
        var device: String
        var table: String
        var images: String
    }

    /// Writes the space, an ONNX Runtime device with few runs, and a tiny MNIST-format dataset.
    static func inputs() throws -> Inputs {
        let folder = try makeTemporaryDirectory("search")
        let space = folder.appendingPathComponent("space.json")
        try Data(Self.space.utf8).write(to: space)
        let device = folder.appendingPathComponent("device.yaml")
        try Data("id: test-ort-t1\nruntime: onnxruntime\nthreads: 1\nwarmup_runs: 3\ntimed_runs: 15\n".utf8).write(to: device)
        let images = try FakeMNIST.write(into: folder.appendingPathComponent("images"))
        return Inputs(folder: folder, space: space.path, device: device.path,
                      table: folder.appendingPathComponent("table.sqlite").path, images: images.path)
    }

    @Test func profileSearchAndExportAWinnerThatMeetsTheLimits() throws {
        let inputs = try Self.inputs()
        let profile = try runEdgenas(["profile", "--space", inputs.space, "--device", inputs.device, "--table", inputs.table,
                                      "--calibrate", "3"])
        #expect(profile.status == 0, "\(profile.standardError)")

        let run = inputs.folder.appendingPathComponent("runs/tiny").path
        let export = inputs.folder.appendingPathComponent("exports/tiny.onnx").path
        let maxParams = 6000
        let search = try runEdgenas([
            "search", "--space", inputs.space, "--device", inputs.device, "--table", inputs.table,
            "--max-latency-quantile", "0.7", "--max-params", String(maxParams), "--scorer", "synflow",
            "--candidates", "5", "--budget", "30s", "--train-epochs", "1", "--images", inputs.images,
            "--out", run, "--export", export, "--json"])
        #expect(search.status == 0, "\(search.standardError)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(search.standardOutput.utf8)) as? [String: Any],
                                  "stdout should be one JSON object: \(search.standardOutput)")
        let limitLine = try #require(search.standardError.split(separator: "\n").first { $0.hasPrefix("latency limit ") })
        let limit = try #require(Double(limitLine.split(separator: " ")[2]))
        #expect(try #require(result["params"] as? Int) <= maxParams)
        #expect(try #require(result["predicted_latency_ms"] as? Double) <= limit)
        // The exported winner ran in ONNX Runtime: that is where its measured latency comes from.
        #expect(try #require(result["measured_latency_ms"] as? Double) > 0)
        #expect(result["test_accuracy_percent"] is Double)
        #expect(FileManager.default.fileExists(atPath: export))
        for name in ["winner.json", "leaderboard.csv", "leaderboard.jsonl", "pareto.svg", "report.md", "search.sqlite"] {
            #expect(FileManager.default.fileExists(atPath: "\(run)/\(name)"), "\(name) missing")
        }
        let leaderboard = try String(contentsOfFile: "\(run)/leaderboard.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(leaderboard.count == 5)
        for line in leaderboard {
            let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(try #require(entry["params"] as? Int) <= maxParams)
            #expect(try #require(entry["predicted_latency_ms"] as? Double) <= limit)
        }
        let report = try String(contentsOfFile: "\(run)/report.md", encoding: .utf8)
        #expect(report.contains("Measured latency in the deployment runtime"))

        // A finished run resumes to the same leaderboard without scoring anything again; it
        // finds its device and table where the first run found them.
        let again = try runEdgenas(["search", "--out", run, "--resume", "--images", inputs.images, "--export", export, "--json"])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains("5 of 5 candidates already scored"))
        #expect(try String(contentsOfFile: "\(run)/leaderboard.jsonl", encoding: .utf8).split(separator: "\n") == leaderboard)
        let resumed = try #require(try JSONSerialization.jsonObject(with: Data(again.standardOutput.utf8)) as? [String: Any])
        #expect(resumed["winner"] as? String == result["winner"] as? String)
        #expect(resumed["measured_latency_ms"] is Double)
    }

    @Test func anInterruptedSearchResumesWhereItStopped() throws {
        let inputs = try Self.inputs()
        let run = inputs.folder.appendingPathComponent("runs/interrupted").path
        let arguments = ["search", "--space", inputs.space, "--scorer", "snip", "--candidates", "40", "--budget", "60s",
                         "--images", inputs.images, "--out", run, "--export", inputs.folder.appendingPathComponent("i.onnx").path]
        // Ctrl-C as soon as the first progress line shows that scoring has begun.
        let first = try runEdgenas(arguments, interruptWhen: { $0.contains("search: ") })
        #expect(first.status == 130, "\(first.standardError)")
        #expect(first.standardError.contains("--resume"))
        let scoredBefore = try #require(first.standardError.split(separator: "\n").last { $0.hasPrefix("error: interrupted: ") })
        #expect(!scoredBefore.contains("interrupted: 40 of 40"))
        let second = try runEdgenas(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.standardError)")
        let resumedFrom = try #require(second.standardError.split(separator: "\n").first { $0.hasPrefix("resuming: ") })
        // What the interrupted run saved is exactly what the resumed run did not score again.
        #expect(scoredBefore.dropFirst("error: interrupted: ".count).prefix(while: { $0 != " " })
                == resumedFrom.dropFirst("resuming: ".count).prefix(while: { $0 != " " }))
        let rows = try String(contentsOfFile: "\(run)/leaderboard.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 41)
        // Resuming with other terms is refused rather than mixing two searches.
        let changed = try runEdgenas(["search", "--space", inputs.space, "--scorer", "snip", "--candidates", "50",
                                      "--images", inputs.images, "--out", run, "--resume"])
        #expect(changed.status == 64)
        #expect(changed.standardError.contains("--candidates (the run has 40, given 50)"), "\(changed.standardError)")
    }

    @Test func infeasibleLimitsAndMissingTablesExitWithTheirOwnCodes() throws {
        let inputs = try Self.inputs()
        let infeasible = try runEdgenas(["search", "--space", inputs.space, "--max-params", "100", "--scorer", "params",
                                         "--candidates", "3", "--attempts", "200", "--images", inputs.images,
                                         "--out", inputs.folder.appendingPathComponent("runs/none").path])
        #expect(infeasible.status == 65)
        #expect(infeasible.standardError.contains("--max-params broken by 200 of 200"))
        #expect(infeasible.standardError.contains("Loosest limits that would have admitted it: --max-params "))

        let noTable = try runEdgenas(["search", "--space", inputs.space, "--device", inputs.device, "--table", inputs.table,
                                      "--max-latency-ms", "1", "--scorer", "params", "--candidates", "3", "--images", inputs.images,
                                      "--out", inputs.folder.appendingPathComponent("runs/notable").path])
        #expect(noTable.status == 64)
        #expect(noTable.standardError.contains("edgenas profile --space \(inputs.space) --device \(inputs.device)"))

        // Spaces searched together must share their input; a Mamba space joins an MBConv one.
        let rgb = inputs.folder.appendingPathComponent("rgb-mamba.json")
        try Data("""
            {"format": "edgenas.space/1", "name": "rgb", "family": "mamba", "input": {"channels": 3, "height": 28, "width": 28},
             "classes": 10, "patch": [7], "embed": [32], "depth": [1], "state": [4], "expand": [2], "conv": [4]}
            """.utf8).write(to: rgb)
        let mixedInputs = try runEdgenas(["search", "--space", inputs.space, "--space", rgb.path, "--scorer", "params",
                                          "--candidates", "3", "--out", inputs.folder.appendingPathComponent("runs/mixed").path])
        #expect(mixedInputs.status == 64)
        #expect(mixedInputs.standardError.contains("spaces searched together must share both"), "\(mixedInputs.standardError)")
        #expect(!FileManager.default.fileExists(atPath: inputs.folder.appendingPathComponent("runs/mixed").path))

        let mamba = inputs.folder.appendingPathComponent("mamba.json")
        try Data("""
            {"format": "edgenas.space/1", "name": "m", "family": "mamba", "input": {"channels": 1, "height": 28, "width": 28},
             "classes": 10, "patch": [7], "embed": [32], "depth": [1], "state": [4], "expand": [2], "conv": [4]}
            """.utf8).write(to: mamba)
        let families = inputs.folder.appendingPathComponent("runs/families")
        let searched = try runEdgenas(["search", "--space", inputs.space, "--space", mamba.path, "--scorer", "params",
                                       "--candidates", "6", "--images", inputs.images, "--train-epochs", "0",
                                       "--export", inputs.folder.appendingPathComponent("families.onnx").path,
                                       "--out", families.path])
        #expect(searched.status == 0, "\(searched.standardError)")
        let leaderboard = try String(contentsOf: families.appendingPathComponent("leaderboard.jsonl"), encoding: .utf8)
        #expect(leaderboard.contains("\"family\":\"mamba\"") || leaderboard.contains("\"family\": \"mamba\""), "\(leaderboard)")
        #expect(FileManager.default.fileExists(atPath: inputs.folder.appendingPathComponent("families.onnx").path))
    }

    /// The final stage alone: successive halving on the task's training split, validated on a
    /// split held out of it, within the budget, every unit stored so a resume retrains nothing.
    @Test func theTaskStageTrainsRungsWithinTheBudgetAndResumesWithoutRetraining() throws {
        let inputs = try Self.inputs()
        let images = try FakeMNIST.write(into: inputs.folder.appendingPathComponent("task-images"), trainCount: 600)
        let run = inputs.folder.appendingPathComponent("runs/task").path
        let started = Date()
        let search = try runEdgenas(["search", "--space", inputs.space, "--scorer", "task", "--candidates", "4", "--budget", "20s",
                                     "--images", images.path, "--out", run,
                                     "--export", inputs.folder.appendingPathComponent("exports/task.onnx").path])
        let seconds = Date().timeIntervalSince(started)
        #expect(search.status == 0, "\(search.standardError)")
        #expect(search.standardError.contains("final stage rung 0: 4 candidates"), "\(search.standardError)")
        #expect(seconds < 90, "a 20 s budget took \(seconds) s")
        let report = try String(contentsOfFile: "\(run)/report.md", encoding: .utf8)
        #expect(report.contains("## Final stage: successive halving on the task"))
        #expect(report.contains("| 0 | 4 |"), "\(report)")
        #expect(report.contains("validation accuracy"))
        let csv = try String(contentsOfFile: "\(run)/leaderboard.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv[0].hasSuffix(",last_rung,validation_acc"))
        #expect(!csv[1].hasSuffix(","), "the winner was trained in the final stage: \(csv[1])")

        let again = try runEdgenas(["search", "--out", run, "--resume", "--images", images.path,
                                    "--export", inputs.folder.appendingPathComponent("exports/task.onnx").path])
        #expect(again.status == 0, "\(again.standardError)")
        let units = again.standardError.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).filter { $0.contains(" val ") }
        #expect(!units.isEmpty && units.allSatisfy { $0.hasSuffix("(stored)") }, "a finished final stage trains nothing again: \(again.standardError)")
        let resumedCSV = try String(contentsOfFile: "\(run)/leaderboard.csv", encoding: .utf8).split(separator: "\n")
        #expect(resumedCSV.map { $0.split(separator: ",").prefix(2) } == csv.map { $0.split(separator: ",").prefix(2) })
    }
}
