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

    /// Every command that writes, with every kind of --out (or --table, --export) it cannot
    /// write: exit 64 naming the path and why, before any work; never exit 1, never raw
    /// Foundation text, never "an EdgeNAS bug".
    @Test func everyCommandRefusesAnUnwritableOutputWith64() throws {
        let directory = try makeTemporaryDirectory("messages")
        let locked = directory.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        defer {
            ReadOnlyPaths.makeWritable(locked)
            try? FileManager.default.removeItem(at: directory)
        }
        let (data, architecture) = try FakeMNIST.writeTrainingInputs(into: directory)
        let space = directory.appendingPathComponent("space.json")
        try Data(SearchCommandTests.space.utf8).write(to: space)
        let device = directory.appendingPathComponent("device.yaml")
        try Data("id: test-native-t1\nruntime: native\nwarmup_runs: 1\ntimed_runs: 3\n".utf8).write(to: device)
        let aFile = directory.appendingPathComponent("a-file.txt")
        try Data("x".utf8).write(to: aFile)

        // Where a user cannot write: under a file, a file for a folder, a folder for a file, a device.
        let underAFile = aFile.appendingPathComponent("out").path
        let commands: [(label: String, arguments: [String], path: String)] = [
            ("train under a file", ["train", architecture.path, "--epochs", "1", "--batch-size", "32", "--data", data.path,
                                    "--out", underAFile + "/m.ckpt"], underAFile + "/m.ckpt"),
            ("train into a folder", ["train", architecture.path, "--epochs", "1", "--batch-size", "32", "--data", data.path,
                                     "--out", directory.path], directory.path),
            ("train to /dev/null", ["train", architecture.path, "--epochs", "1", "--batch-size", "32", "--data", data.path,
                                    "--out", "/dev/null"], "/dev/null"),
            ("export under a file", ["export", architecture.path, "--out", underAFile + "/m.onnx"], underAFile + "/m.onnx"),
            ("export into a folder", ["export", architecture.path, "--out", directory.path], directory.path),
            ("export to /dev/null", ["export", architecture.path, "--out", "/dev/null"], "/dev/null"),
            ("search into a file", ["search", "--space", space.path, "--scorer", "params", "--candidates", "3",
                                    "--images", data.path, "--out", aFile.path], aFile.path),
            ("search under a file", ["search", "--space", space.path, "--scorer", "params", "--candidates", "3",
                                     "--images", data.path, "--out", underAFile], underAFile),
            ("search exporting under a file", ["search", "--space", space.path, "--scorer", "params", "--candidates", "3",
                                               "--images", data.path, "--out", directory.appendingPathComponent("run").path,
                                               "--export", underAFile + "/w.onnx"], underAFile),
            ("profile into a table under a file", ["profile", "--space", space.path, "--device", device.path,
                                                   "--table", underAFile + "/t.sqlite"], underAFile),
        ]
        var runs = commands.map { ($0.label, $0.arguments, $0.path, false) }
        // A folder this user may not write into: for root, run as nobody (permissions do not bind root).
        if ReadOnlyPaths.makeReadOnly(locked) || geteuid() == 0 {
            let inLocked = locked.appendingPathComponent("out").path
            runs += [
                ("train into a read-only folder", ["train", architecture.path, "--epochs", "1", "--batch-size", "32", "--data",
                                                   data.path, "--out", inLocked], inLocked, true),
                ("export into a read-only folder", ["export", architecture.path, "--out", inLocked], inLocked, true),
                ("search into a read-only folder", ["search", "--space", space.path, "--scorer", "params", "--candidates", "3",
                                                    "--images", data.path, "--out", inLocked], inLocked, true),
                ("profile into a read-only folder", ["profile", "--space", space.path, "--device", device.path,
                                                     "--table", inLocked + ".sqlite"], locked.path, true),
            ]
            ReadOnlyPaths.makeWritable(locked)
            chmod(locked.path, 0o755)
        }
        for (label, arguments, path, unprivileged) in runs {
            if unprivileged && geteuid() != 0 { _ = ReadOnlyPaths.makeReadOnly(locked) }
            let result = try runEdgenas(arguments, unprivileged: unprivileged)
            if unprivileged && geteuid() != 0 { ReadOnlyPaths.makeWritable(locked) }
            #expect(result.status == 64, "\(label): exit \(result.status): \(result.standardError)")
            let message = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
            #expect(message.hasPrefix("error: ") && message.contains(path), "\(label): \(message)")
            for raw in ["NSCocoaErrorDomain", "Error Domain=", "EdgeNAS bug", "The operation could not be completed"] {
                #expect(!message.contains(raw), "\(label): \(message)")
            }
            #expect(!result.standardOutput.contains("epoch 1:"), "\(label) trained before checking --out")
        }
    }

    @Test func trainRefusesATrainingSetSmallerThanOneBatchAndAnUnreadableDataFolder() throws {
        let directory = try makeTemporaryDirectory("messages")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (data, architecture) = try FakeMNIST.writeTrainingInputs(into: directory)
        let out = directory.appendingPathComponent("m.ckpt").path
        let limited = try runEdgenas(["train", architecture.path, "--limit", "64", "--batch-size", "128", "--data", data.path, "--out", out])
        #expect(limited.status == 64)
        #expect(limited.standardError.contains("--limit 64 is smaller than one batch (--batch-size 128)"), "\(limited.standardError)")
        let small = try runEdgenas(["train", architecture.path, "--epochs", "1", "--data", data.path, "--out", out])
        #expect(small.status == 64)
        #expect(small.standardError.contains("holds 118 training images (after the validation share), fewer than one batch (--batch-size 1024)"), "\(small.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))

        // A folder this user may not enter: the files in it are not "missing".
        let hidden = directory.appendingPathComponent("hidden")
        try FileManager.default.copyItem(at: data, to: hidden)
        chmod(hidden.path, 0o700)
        let writable = directory.appendingPathComponent("writable")
        try FileManager.default.createDirectory(at: writable, withIntermediateDirectories: true)
        chmod(writable.path, 0o777)
        let unreadable = try runEdgenas(["train", architecture.path, "--batch-size", "32", "--data", hidden.path,
                                         "--out", writable.appendingPathComponent("m.ckpt").path], unprivileged: true)
        if geteuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            #expect(unreadable.status == 64, "\(unreadable.standardError)")
            #expect(unreadable.standardError.contains("cannot read dataset directory \(hidden.path): Permission denied"),
                    "\(unreadable.standardError)")
            #expect(!unreadable.standardError.contains("missing dataset file"))
        }
    }

    @Test func aKilledExportsPartialFileIsRemovedByTheNextExport() throws {
        let directory = try makeTemporaryDirectory("messages")
        defer { try? FileManager.default.removeItem(at: directory) }
        let architecture = directory.appendingPathComponent("arch.json")
        try Data(FakeMNIST.tinyArchitecture.utf8).write(to: architecture)
        let out = directory.appendingPathComponent("m.onnx")
        let exporter = Process()
        exporter.executableURL = try edgenasBinary()
        exporter.arguments = ["export", architecture.path, "--out", out.path]
        try exporter.run()
        exporter.waitUntilExit()
        // What a SIGKILL in the middle of the write leaves: the exporter's temporary file.
        let stale = directory.appendingPathComponent(".m.onnx.partial-\(exporter.processIdentifier)-0bad")
        FileManager.default.createFile(atPath: stale.path, contents: Data(repeating: 7, count: 4096))
        let again = try runEdgenas(["export", architecture.path, "--out", out.path])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["arch.json", "m.onnx"])
    }

    /// A full disk during profile or search: exit 64 saying so, never 1 or "an EdgeNAS bug".
    /// Needs a small file system of its own (a tmpfs, mounted as root); skipped elsewhere.
    @Test func aFullDiskIsReportedAsSuchByProfileAndSearch() throws {
        let directory = try makeTemporaryDirectory("messages")
        let small = directory.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        guard geteuid() == 0, Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", small.path]) == 0 else {
            try? FileManager.default.removeItem(at: directory)
            return
        }
        defer {
            _ = Self.run("/bin/umount", [small.path])
            try? FileManager.default.removeItem(at: directory)
        }
        // Fill most of it, so that the first writes already run out of space.
        FileManager.default.createFile(atPath: small.appendingPathComponent("ballast").path, contents: Data(count: 80 * 1024))
        let data = try FakeMNIST.write(into: directory.appendingPathComponent("data"))
        let space = directory.appendingPathComponent("space.json")
        try Data(SearchCommandTests.space.utf8).write(to: space)
        let device = directory.appendingPathComponent("device.yaml")
        try Data("id: test-native-t1\nruntime: native\nwarmup_runs: 1\ntimed_runs: 3\n".utf8).write(to: device)
        let runs = [
            ["profile", "--space", space.path, "--device", device.path, "--table", small.appendingPathComponent("t.sqlite").path],
            ["search", "--space", space.path, "--scorer", "params", "--candidates", "40", "--images", data.path,
             "--out", small.appendingPathComponent("run").path, "--export", directory.appendingPathComponent("w.onnx").path],
        ]
        for arguments in runs {
            let result = try runEdgenas(arguments)
            let message = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
            #expect(result.status == 64, "\(arguments[0]): exit \(result.status): \(message)")
            #expect(message.contains("disk is full") || message.contains("no space left on device"), "\(arguments[0]): \(message)")
            #expect(!message.contains("EdgeNAS bug"), "\(arguments[0]): \(message)")
        }
        // What profile and search were creating is not left half-made for the next command to refuse.
        #expect(!FileManager.default.fileExists(atPath: small.appendingPathComponent("t.sqlite").path))
        #expect(!FileManager.default.fileExists(atPath: small.appendingPathComponent("run/search.sqlite").path))
    }

    static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Oversized architectures crashed count, export, sample, train and profile (exit 132 or
    /// 134, with a backtrace) or made them allocate 160 GB.
    @Test func oversizedArchitecturesAndSpacesExit64NamingTheField() throws {
        let directory = try makeTemporaryDirectory("messages")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try FakeMNIST.write(into: directory.appendingPathComponent("data"))
        let device = directory.appendingPathComponent("device.yaml")
        try Data("id: test-native-t1\nruntime: native\nwarmup_runs: 1\ntimed_runs: 3\n".utf8).write(to: device)
        let wide = FakeMNIST.tinyArchitecture.replacingOccurrences(of: #""channels": 16"#, with: #""channels": 2147483648"#)
        let hundredThousand = FakeMNIST.tinyArchitecture.replacingOccurrences(of: #""channels": 16"#, with: #""channels": 100000"#)
        let ratio = #"{"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, "patch": 7, "embed": 16, "layers": [{"heads": 2, "mlp_ratio": 1e30}]}"#
        let files: [(String, String, String)] = [
            ("wide.json", wide, "stages[0].channels: expected at most 65536, got 2147483648"),
            ("hundred-thousand.json", hundredThousand, "stages[0].channels: expected at most 65536, got 100000"),
            ("ratio.json", ratio, "layers[0].mlp_ratio: round(embed · mlp_ratio) must be at most 65536"),
        ]
        for (name, text, message) in files {
            let file = directory.appendingPathComponent(name)
            try Data(text.utf8).write(to: file)
            for command in [["count", file.path], ["export", file.path, "--out", directory.appendingPathComponent("m.onnx").path],
                            ["train", file.path, "--batch-size", "32", "--data", data.path,
                             "--out", directory.appendingPathComponent("m.ckpt").path]] {
                let result = try runEdgenas(command)
                #expect(result.status == 64, "\(command[0]) \(name): exit \(result.status): \(result.standardError)")
                #expect(result.standardError.contains("\(file.path): \(message)"), "\(command[0]) \(name): \(result.standardError)")
            }
        }
        let space = directory.appendingPathComponent("space.json")
        try Data(#"{"format": "edgenas.space/1", "name": "huge", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, "patch": [7], "embed": [16], "depth": [1], "heads": [2], "mlp_ratio": [1e30]}"#.utf8).write(to: space)
        for command in [["sample", "--space", space.path], ["profile", "--space", space.path, "--device", device.path, "--dry-run"]] {
            let result = try runEdgenas(command)
            #expect(result.status == 64, "\(command[0]): exit \(result.status): \(result.standardError)")
            #expect(result.standardError.contains("\(space.path): mlp_ratio[0]: round(embed · mlp_ratio) must be at most 65536"),
                    "\(command[0]): \(result.standardError)")
        }
    }
}
