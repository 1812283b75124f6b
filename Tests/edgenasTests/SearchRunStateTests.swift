import EdgeNASTensor
import Foundation
import Testing

/// A run folder remembers every option that shapes its outputs: --resume goes on with
/// exactly those or refuses, naming each difference; a failed start leaves nothing behind;
/// exports are named after the run and a finished export is never replaced by a lesser one.
@Suite(.serialized) struct SearchRunStateTests {
    typealias Inputs = SearchCommandTests.Inputs

    static func search(_ inputs: Inputs, _ run: String, _ extra: [String], in directory: URL? = nil) throws
        -> (status: Int32, standardOutput: String, standardError: String) {
        try runEdgenas(["search", "--out", run, "--images", inputs.images] + extra, workingDirectory: directory ?? inputs.folder)
    }

    @Test func resumingAFinishedTrainedRunKeepsItsExportAndItsExportPath() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let run = inputs.folder.appendingPathComponent("runs/trained").path
        let export = inputs.folder.appendingPathComponent("chosen/trained.onnx").path
        let first = try Self.search(inputs, run, ["--space", inputs.space, "--scorer", "params", "--candidates", "3",
                                                  "--train-epochs", "1", "--export", export])
        #expect(first.status == 0, "\(first.standardError)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: export))
        let report = try String(contentsOfFile: "\(run)/report.md", encoding: .utf8)
        #expect(report.contains("Trained 1 epoch(s) before export"), "\(report)")

        // Neither --train-epochs nor --export given: the run's own are used, and the finished
        // export is kept as it is.
        let resumed = try Self.search(inputs, run, ["--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("is already exported to \(export) (trained 1 epoch(s)); kept"), "\(resumed.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: export)) == bytes)
        #expect(try String(contentsOfFile: "\(run)/report.md", encoding: .utf8).contains("Trained 1 epoch(s) before export"))
        #expect(!FileManager.default.fileExists(atPath: inputs.folder.appendingPathComponent("exports").path))

        // A deleted export is written again, trained as the run says.
        try FileManager.default.removeItem(atPath: export)
        let again = try Self.search(inputs, run, ["--resume"])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains("training the winner"), "\(again.standardError)")
        #expect(FileManager.default.fileExists(atPath: export))
    }

    @Test func resumeRefusesEveryChangedOptionInOneListAndIgnoresDefaults() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let run = inputs.folder.appendingPathComponent("runs/r").path
        let first = try Self.search(inputs, run, ["--space", inputs.space, "--scorer", "params", "--candidates", "4", "--seed", "3"])
        #expect(first.status == 0, "\(first.standardError)")
        // The same options again, or none, are no change; nor is an option left at its default.
        for extra in [["--resume"], ["--resume", "--scorer", "params", "--candidates", "4", "--seed", "3", "--space", inputs.space]] {
            let same = try Self.search(inputs, run, extra)
            #expect(same.status == 0, "\(extra): \(same.standardError)")
        }
        let changed = try Self.search(inputs, run, ["--resume", "--scorer", "flops", "--candidates", "6", "--train-epochs", "2",
                                                    "--budget", "20m"])
        #expect(changed.status == 64)
        let line = try #require(changed.standardError.split(separator: "\n").last.map(String.init))
        // --budget 20m is the run's own (default) budget, so it is not listed.
        #expect(line == "error: --resume: the run in \(run) was started with other options: --candidates (the run has 4, "
                + "given 6); --scorer (the run has params, given flops); --train-epochs (the run has 0, given 2). Resume with "
                + "the run's own options (or leave them out), or start a new run with another --out")
    }

    /// A run's scores share one precision: a resume without the option keeps the run's, one
    /// with another is refused. Where bf16 cannot run, asking for it is refused up front and
    /// creates no run.
    @Test func aRunKeepsTheMatrixPrecisionItStartedWith() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let run = inputs.folder.appendingPathComponent("runs/bf16").path
        let first = try Self.search(inputs, run, ["--space", inputs.space, "--scorer", "params", "--candidates", "3",
                                                  "--matmul-precision", "bf16"])
        if let reason = MatrixPrecision.bfloat16Unavailability {
            #expect(first.status == 64 && first.standardError.contains(reason.description), "\(first.standardError)")
            #expect(!FileManager.default.fileExists(atPath: run))
            return
        }
        #expect(first.status == 0, "\(first.standardError)")
        #expect(try String(contentsOfFile: "\(run)/report.md", encoding: .utf8).contains("| matrix products | bf16 |"))
        #expect(try Self.search(inputs, run, ["--resume"]).status == 0)
        let changed = try Self.search(inputs, run, ["--resume", "--matmul-precision", "fp32"])
        #expect(changed.status == 64)
        #expect(changed.standardError.contains("--matmul-precision (the run has bf16, given fp32)"), "\(changed.standardError)")
        // Where bf16 cannot run (here: without its library), the run says it needs bf16.
        let elsewhere = try runEdgenas(["search", "--out", run, "--images", inputs.images, "--resume"],
                                       workingDirectory: inputs.folder,
                                       environment: ["EDGENAS_ONEDNN_LIB": inputs.folder.appendingPathComponent("missing.so").path])
        #expect(elsewhere.status == 64)
        #expect(elsewhere.standardError.contains("scores with bf16 matrix products: \(MatrixPrecisionError.oneDNNMissing.reason)"),
                "\(elsewhere.standardError)")
    }

    @Test func aSearchThatFailedBeforeScoringLeavesNothingThatBlocksTheCorrectedCommand() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let run = inputs.folder.appendingPathComponent("runs/fixed").path
        let failures: [([String], Int32)] = [
            (["--scorer", "bogus"], 64),
            (["--scorer", "params", "--max-params", "10", "--attempts", "50"], 65),
            (["--scorer", "params", "--device", inputs.device, "--table", inputs.table, "--max-latency-ms", "1"], 64),
        ]
        for (options, status) in failures {
            let failed = try Self.search(inputs, run, ["--space", inputs.space, "--candidates", "3"] + options)
            #expect(failed.status == status, "\(options): \(failed.standardError)")
            #expect(!FileManager.default.fileExists(atPath: "\(run)/search.sqlite"), "\(options) left a run behind")
        }
        let corrected = try Self.search(inputs, run, ["--space", inputs.space, "--candidates", "3", "--scorer", "params"])
        #expect(corrected.status == 0, "\(corrected.standardError)")
        #expect(!corrected.standardError.contains("already holds a search"))
    }

    @Test func exportsOfRunsWithTheSameFolderNameDoNotOverwriteEachOther() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        var exports: [String] = []
        for parent in ["runs", "other"] {
            let run = inputs.folder.appendingPathComponent("\(parent)/p1").path
            let result = try Self.search(inputs, run, ["--space", inputs.space, "--scorer", "params", "--candidates", "3", "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            let export = try #require(object["export"] as? String)
            #expect(URL(fileURLWithPath: export).lastPathComponent.hasPrefix("p1-"), "\(export)")
            #expect(export.hasPrefix(inputs.folder.appendingPathComponent("exports").path), "\(export)")
            exports.append(export)
        }
        #expect(exports[0] != exports[1])
        #expect(exports.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }

    /// The proxies only worked on 1×28×28 inputs: an RGB 32×32 space exited 1 in search and 64 in rank.
    @Test func zeroCostProxiesScoreAnRGB32x32SpaceInSearchAndRank() throws {
        let inputs = try SearchCommandTests.inputs()
        defer { try? FileManager.default.removeItem(at: inputs.folder) }
        let rgb = inputs.folder.appendingPathComponent("rgb32.json")
        try Data(SearchCommandTests.space.replacingOccurrences(of: #""channels": 1, "height": 28, "width": 28"#,
                                                               with: #""channels": 3, "height": 32, "width": 32"#).utf8).write(to: rgb)
        for scorer in ["synflow", "snip", "grad_norm", "naswot"] {
            let run = inputs.folder.appendingPathComponent("runs/rgb-\(scorer)").path
            let result = try Self.search(inputs, run, ["--space", rgb.path, "--scorer", scorer, "--candidates", "3"])
            #expect(result.status == 0, "\(scorer): \(result.standardError)")
        }
        let sampled = try runEdgenas(["sample", "--space", rgb.path, "--count", "3"])
        let lines = sampled.standardOutput.split(separator: "\n").enumerated().map { index, arch in "{\"id\": \"a\(index)\", \"arch\": \(arch)}" }
        let pool = inputs.folder.appendingPathComponent("rgb.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: pool)
        for scorer in ["synflow", "snip", "grad_norm", "naswot"] {
            let ranked = try runEdgenas(["rank", "--archs", pool.path, "--scorer", scorer, "--images", inputs.images])
            #expect(ranked.status == 0, "\(scorer): \(ranked.standardError)")
        }
    }
}
