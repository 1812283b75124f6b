import Foundation
import TestSupport
import Testing

/// What a user who makes a mistake reads: the file and the fix, exit 64, never exit 1.
@Suite(.serialized) struct MessageTests {
    static let arch = #"{"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, "patch": 7, "embed": 16, "layers": [{"heads": 2, "mlp_ratio": 2.0}]}"#

    @Test func rankRefusesBadAccuraciesIdsThreadsAndWeights() throws {
        let directory = try makeTemporaryDirectory("messages")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = directory.appendingPathComponent("pool.jsonl")
        let good = (0..<3).map { "{\"id\": \"a\($0)\", \"arch\": \(Self.arch), \"test_acc\": 0.\($0 + 1)}" }
        try Data(good.joined(separator: "\n").utf8).write(to: pool)
        let cases: [([String], String)] = [
            (["--threads", "0"], "--threads must be at least 1, got 0"),
            (["--weights", "lgj=0,oip=0,rm=0,csb=0,mf=0,vm=0"], "--weights: every probe weighs 0"),
            (["--weights", "lgj=nan"], #"--weights: "lgj=nan" is not PROBE=WEIGHT"#),
        ]
        for (options, message) in cases {
            let result = try runEdgenas(["rank", "--archs", pool.path, "--scorer", "params"] + options)
            #expect(result.status == 64, "\(options): \(result.standardError)")
            #expect(result.standardError.contains(message), "\(options): \(result.standardError)")
        }
        let lines: [(String, String)] = [
            ("{\"id\": \"b\", \"arch\": \(Self.arch), \"test_acc\": 1.5}", #"pool.jsonl:4: "test_acc" must be a fraction in [0, 1], got 1.5"#),
            ("{\"id\": 7, \"arch\": \(Self.arch)}", #"pool.jsonl:4: "id" must be a string, got the number 7; write "id": "7""#),
        ]
        for (line, message) in lines {
            try Data((good + [line]).joined(separator: "\n").utf8).write(to: pool)
            let result = try runEdgenas(["rank", "--archs", pool.path, "--scorer", "params"])
            #expect(result.status == 64, "\(result.standardError)")
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
    }

    @Test func directoriesAndDevicesGivenAsFilesAreNamedForWhatTheyAre() throws {
        let directory = try makeTemporaryDirectory("messages")
        defer { try? FileManager.default.removeItem(at: directory) }
        for command in [["count", directory.path], ["rank", "--archs", directory.path, "--scorer", "params"],
                        ["sample", "--space", directory.path]] {
            let result = try runEdgenas(command)
            #expect(result.status == 64, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("\(directory.path): is a directory, not a file"), "\(command): \(result.standardError)")
            #expect(!result.standardError.contains("NSCocoaErrorDomain"))
        }
        for command in [["count", "/dev/null"], ["sample", "--space", "/dev/null"]] {
            let result = try runEdgenas(command)
            #expect(result.status == 64, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("/dev/null: the file is empty"), "\(command): \(result.standardError)")
        }
    }
}
