import EdgeNASTensor
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct CommandLineTests {
    @Test func countPrintsTheGoldenCostsAsJSON() throws {
        let record = try ReferenceData.jsonLines("cost-golden.jsonl")[3]
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("arch.json")
        try ReferenceData.architectureData(of: record).write(to: file)
        let result = try runEdgenas(["count", file.path, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let printed = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Int]
        #expect(printed == ["params": record["params"] as! Int, "macs": record["macs"] as! Int, "flops": record["flops"] as! Int])
    }

    @Test func sampleIsDeterministicPerSeed() throws {
        let space = ReferenceData.directory.appendingPathComponent("spaces/fmnist-vit.json").path
        let first = try runEdgenas(["sample", "--space", space, "--seed", "4", "--count", "3"])
        let again = try runEdgenas(["sample", "--space", space, "--seed", "4", "--count", "3"])
        let other = try runEdgenas(["sample", "--space", space, "--seed", "5", "--count", "3"])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.split(separator: "\n").count == 3)
        #expect(first.standardOutput == again.standardOutput)
        #expect(first.standardOutput != other.standardOutput)
    }

    @Test func badArchitectureExitsWith64AndNamesThePath() throws {
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        var arch = try JSONSerialization.jsonObject(with: ReferenceData.architectureData(
            of: ReferenceData.jsonLines("cost-golden.jsonl")[0])) as! [String: Any]
        var stages = arch["stages"] as! [[String: Any]]
        var blocks = stages[0]["blocks"] as! [[String: Any]]
        blocks[0]["kernel"] = 4
        stages[0]["blocks"] = blocks
        arch["stages"] = stages
        let file = directory.appendingPathComponent("bad.json")
        try JSONSerialization.data(withJSONObject: arch).write(to: file)
        for command in [["count", file.path], ["train", file.path, "--out", directory.appendingPathComponent("m.ckpt").path]] {
            let result = try runEdgenas(command)
            #expect(result.status == 64, "\(command[0]): \(result.standardError)")
            #expect(result.standardError.contains("stages[0].blocks[0].kernel: expected one of 1, 3, 5, 7, got 4"),
                    "\(command[0]): \(result.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("m.ckpt").path))
    }

    @Test func trainWritesACheckpointAndReportsAccuracy() throws {
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try FakeMNIST.write(into: directory.appendingPathComponent("data"))
        let file = directory.appendingPathComponent("arch.json")
        try Data(FakeMNIST.tinyArchitecture.utf8).write(to: file)
        let checkpoint = directory.appendingPathComponent("model.ckpt")
        let result = try runEdgenas(["train", file.path, "--epochs", "1", "--batch-size", "32", "--data", data.path,
                                  "--out", checkpoint.path, "--threads", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("test accuracy:"), "\(result.standardOutput)")
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))
    }

    @Test func trainRefusesAMissingDatasetWithTheFix() throws {
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("arch.json")
        try Data(FakeMNIST.tinyArchitecture.utf8).write(to: file)
        let result = try runEdgenas(["train", file.path, "--data", directory.appendingPathComponent("nowhere").path,
                                  "--out", directory.appendingPathComponent("m.ckpt").path])
        #expect(result.status == 64)
        #expect(result.standardError.contains("nowhere"), "\(result.standardError)")
    }

    @Test func exportWritesACheckedModelAndRefusesAForeignCheckpoint() throws {
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("arch.json")
        try Data(FakeMNIST.tinyArchitecture.utf8).write(to: file)
        let model = directory.appendingPathComponent("model.onnx")
        let exported = try runEdgenas(["export", file.path, "--out", model.path])
        #expect(exported.status == 0, "\(exported.standardError)")
        #expect(exported.standardOutput.contains("checker passed"), "\(exported.standardOutput)")
        #expect(FileManager.default.fileExists(atPath: model.path))

        let foreign = directory.appendingPathComponent("foreign.ckpt")
        try Data("not a checkpoint".utf8).write(to: foreign)
        let refused = try runEdgenas(["export", file.path, "--weights", foreign.path,
                                   "--out", directory.appendingPathComponent("other.onnx").path])
        #expect(refused.status == 64)
        #expect(refused.standardError.contains("not an EdgeNAS checkpoint"), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("other.onnx").path))
    }

    @Test func invalidOptionsAreRejectedBeforeAnyWork() throws {
        let result = try runEdgenas(["bench", "train", "--arch", "x.json", "--batch", "1"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--batch must be at least 2, got 1"), "\(result.standardError)")
        for command in [["demo"], ["train", "x.json", "--out", "m.ckpt"], ["bench", "ops"], ["bench", "train", "--arch", "x.json"]] {
            let threads = try runEdgenas(command + ["--threads", "0"])
            #expect(threads.status == 64, "\(command)")
            #expect(threads.standardError.contains("--threads must be at least 1, got 0"), "\(command): \(threads.standardError)")
        }
    }

    @Test func helpTeachesEveryCommand() throws {
        let result = try runEdgenas(["--help"])
        #expect(result.status == 0)
        for command in ["demo", "count", "sample", "train", "export", "bench"] {
            #expect(result.standardOutput.contains(command), "help lacks \(command)")
        }
    }

    /// The kernel family `bench ops` reports OpenBLAS running (its matrix products only).
    private func blasCore(environment: [String: String?]) throws -> String {
        let result = try runEdgenas(["bench", "ops", "--filter", "1024x1024", "--seconds", "0.01", "--threads", "1", "--json"],
                                    environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        return try #require(report?["blas_core"] as? String, "\(result.standardOutput)")
    }

    /// OpenBLAS older than the processor loads its oldest kernels (Prescott's SSE3 on an
    /// AVX-512 Xeon, 4× slower): the program starts again on the family the processor can run.
    @Test func matrixProductsRunOnTheKernelsTheProcessorSupports() throws {
        let core = try blasCore(environment: ["OPENBLAS_CORETYPE": nil])
        #expect(BLASKernelChoice.betterCore(than: core, processorLevel: BLASKernelChoice.processorLevel) == nil,
                "OpenBLAS runs \(core) on a processor of vector level \(BLASKernelChoice.processorLevel)")
    }

    @Test func aKernelFamilyTheUserForcesIsKept() throws {
        #expect(try blasCore(environment: ["OPENBLAS_CORETYPE": "Prescott"]) == "Prescott")
    }

    /// `--matmul-precision bf16` trains where the machine runs bfloat16 products at speed, and
    /// is refused as bad input (exit 64, with the reason) where it does not.
    @Test func bfloat16MatrixProductsRunOrAreRefusedWithTheReason() throws {
        let directory = try makeTemporaryDirectory("bf16")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, architecture) = try FakeMNIST.writeTrainingInputs(into: directory)
        let result = try runEdgenas(["bench", "train", "--arch", architecture.path, "--batch", "8", "--steps", "1",
                                     "--threads", "1", "--matmul-precision", "bf16", "--json"])
        if let reason = MatrixPrecision.bfloat16Unavailability {
            #expect(result.status == 64)
            #expect(result.standardError.contains(reason.description), "\(result.standardError)")
        } else {
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("\"matmul_precision\": \"bf16\""), "\(result.standardOutput)")
        }
    }

    /// Without the library (here: a path that does not exist), bf16 is refused before any
    /// work, whatever the processor: exit 64 with a reason that says what to do.
    @Test func bfloat16WithoutItsLibraryIsRefused() throws {
        let directory = try makeTemporaryDirectory("bf16-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, architecture) = try FakeMNIST.writeTrainingInputs(into: directory)
        let result = try runEdgenas(["bench", "train", "--arch", architecture.path, "--batch", "8", "--steps", "1",
                                     "--threads", "1", "--matmul-precision", "bf16"],
                                    environment: ["EDGENAS_ONEDNN_LIB": directory.appendingPathComponent("missing.so").path])
        #expect(result.status == 64)
        let reasons = [MatrixPrecisionError.processorLacksBFloat16, .oneDNNMissing].map(\.description)
        #expect(reasons.contains { result.standardError.contains($0) }, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty, "nothing ran: \(result.standardOutput)")
    }
}

/// A tiny MNIST-format dataset written to disk (raw IDX files), for end-to-end CLI runs.
enum FakeMNIST {
    static let tinyArchitecture = """
    {"format": "edgenas.architecture/1", "family": "mbconv", "input": {"channels": 1, "height": 28, "width": 28},
     "classes": 10, "activation": "relu6", "stem": {"channels": 8, "kernel": 3, "stride": 2},
     "stages": [{"channels": 16, "stride": 2, "blocks": [{"kernel": 3, "expand": 2, "se": false}]}],
     "head": {"channels": 0}}
    """

    /// The dataset in `directory/data` and ``tinyArchitecture`` in `directory/arch.json`.
    static func writeTrainingInputs(into directory: URL) throws -> (data: URL, architecture: URL) {
        let data = try write(into: directory.appendingPathComponent("data"))
        let architecture = directory.appendingPathComponent("arch.json")
        try Data(tinyArchitecture.utf8).write(to: architecture)
        return (data, architecture)
    }

    static func write(into directory: URL, trainCount: Int = 128, testCount: Int = 64) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (prefix, count) in [("train", trainCount), ("t10k", testCount)] {
            var images: [UInt8] = [0, 0, 8, 3] + bigEndian(count) + bigEndian(28) + bigEndian(28)
            var labels: [UInt8] = [0, 0, 8, 1] + bigEndian(count)
            for index in 0..<count {
                let label = index % 10
                labels.append(UInt8(label))
                images += (0..<784).map { pixel in pixel / 28 / 3 == label ? 220 : UInt8((pixel * 7 + index) % 30) }
            }
            try Data(images).write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try Data(labels).write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        return directory
    }

    private static func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}

@Suite(.serialized) struct RankCommandTests {
    @Test func aBadLineExitsWith64AndNamesTheFileAndLine() throws {
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = try ReferenceData.jsonLines("groundtruth-dev.jsonl")
        var lines = try records.prefix(2).map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        var broken = records[2]
        var arch = broken["arch"] as! [String: Any]
        arch["classes"] = 0
        broken["arch"] = arch
        lines.append(String(decoding: try JSONSerialization.data(withJSONObject: broken), as: UTF8.self))
        let file = directory.appendingPathComponent("pool.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let result = try runEdgenas(["rank", "--archs", file.path, "--scorer", "params"])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("pool.jsonl:3: arch: classes"), "\(result.standardError)")

        try Data("{\"id\": \"a\"}\n".utf8).write(to: file)
        let missing = try runEdgenas(["rank", "--archs", file.path, "--scorer", "flops"])
        #expect(missing.status == 64)
        #expect(missing.standardError.contains("pool.jsonl:1: missing \"arch\""), "\(missing.standardError)")
    }

    @Test func paramsScoresPrintJSONWithQualityPerFamily() throws {
        let directory = try makeTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = try ReferenceData.jsonLines("groundtruth-dev.jsonl")
        let chosen = Array(records.prefix(3)) + Array(records.suffix(3))
        let text = try chosen.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }.joined(separator: "\n")
        let file = directory.appendingPathComponent("pool.jsonl")
        try Data(text.utf8).write(to: file)
        let result = try runEdgenas(["rank", "--archs", file.path, "--scorer", "params", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let scores = try #require(object["scores"] as? [[String: Any]])
        #expect(scores.count == 6)
        #expect(scores.map { $0["id"] as? String } == chosen.map { $0["id"] as? String })
        #expect((scores[0]["score"] as? Double) == Double(chosen[0]["params"] as! Int))
        let quality = try #require(object["quality"] as? [[String: Any]])
        let paramsRows = quality.filter { $0["scorer"] as? String == "params" }
        #expect(Set(paramsRows.compactMap { $0["subset"] as? String }) == ["all", "mbconv", "vit"])
        #expect(paramsRows.allSatisfy { $0["kendall_tau"] is Double && ($0["regret"] as? [String: Any])?["mean_regret_points"] is Double })
        #expect(quality.contains { $0["scorer"] as? String == "random" && $0["subset"] as? String == "vit" })
    }
}
