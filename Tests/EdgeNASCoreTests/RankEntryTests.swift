import EdgeNASCore
import Foundation
import Testing

@Suite("Rank input lines")
struct RankEntryTests {
    static let arch = #"{"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, "patch": 7, "embed": 16, "layers": [{"heads": 2, "mlp_ratio": 2.0}]}"#

    @Test("good lines decode, blank lines are skipped, line numbers count them")
    func goodLines() throws {
        let text = "{\"id\": \"a\", \"arch\": \(Self.arch), \"test_acc\": 0.9}\n\n{\"id\": \"b\", \"arch\": \(Self.arch)}\r\n"
        let entries = try RankEntry.parse(Data(text.utf8), file: "pool.jsonl")
        #expect(entries.map(\.id) == ["a", "b"])
        #expect(entries.map(\.line) == [1, 3])
        #expect(entries[0].testAccuracy == 0.9 && entries[1].testAccuracy == nil)
    }

    @Test("bad lines give these exact errors", arguments: [
        (#"{"id": 5, "arch": {}}"#, #"pool.jsonl:1: "id" must be a string, got the number 5; write "id": "5""#),
        (#"{"id": "", "arch": {}}"#, #"pool.jsonl:1: "id" must be a non-empty string, got """#),
        (#"{"id": true, "arch": {}}"#, #"pool.jsonl:1: "id" must be a non-empty string"#),
        (#"{"arch": {}}"#, #"pool.jsonl:1: missing "id" (a non-empty string)"#),
        ("{\"id\": \"a\", \"arch\": \(arch), \"test_acc\": 1.5}",
         #"pool.jsonl:1: "test_acc" must be a fraction in [0, 1], got 1.5 (a percentage? divide by 100)"#),
        ("{\"id\": \"a\", \"arch\": \(arch), \"test_acc\": -0.1}", #"pool.jsonl:1: "test_acc" must be a fraction in [0, 1], got -0.1"#),
        ("{\"id\": \"a\", \"arch\": \(arch), \"test_acc\": true}", #"pool.jsonl:1: "test_acc" must be a number"#),
        ("{\"id\": \"a\", \"arch\": \(arch), \"test_acc\": \"0.5\"}", #"pool.jsonl:1: "test_acc" must be a number"#),
        ("[1]", #"pool.jsonl:1: not a JSON object; each line must be {"id": ..., "arch": {...}, "test_acc": ...}"#),
    ])
    func badLine(line: String, message: String) {
        #expect { try RankEntry.parse(Data(line.utf8), file: "pool.jsonl") } throws: { "\($0)" == message }
    }

    @Test("a repeated id names the first line, and bytes that are not UTF-8 are refused")
    func repeatsAndEncoding() {
        let text = "{\"id\": \"a\", \"arch\": \(Self.arch)}\n{\"id\": \"a\", \"arch\": \(Self.arch)}\n"
        #expect(throws: RankEntryError(file: "p.jsonl", line: 2, reason: #"id "a" already used on line 1"#)) {
            try RankEntry.parse(Data(text.utf8), file: "p.jsonl")
        }
        #expect(throws: RankEntryError(file: "p.jsonl", line: nil, reason: "not UTF-8 text; write one JSON object per line")) {
            try RankEntry.parse(Data([0xFF, 0xFE, 0x7B]), file: "p.jsonl")
        }
    }
}

@Suite("Reading input files")
struct InputFileTests {
    @Test("a directory, an empty file and /dev/null are named for what they are")
    func misleadingFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgenas-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: ArchitectureError(path: "", reason: "is a directory, not a file; name the file inside it", file: directory.path)) {
            try Architecture(contentsOf: directory)
        }
        #expect(throws: ArchitectureError(path: "", reason: "the file is empty", file: "/dev/null")) {
            try SearchSpace(contentsOf: URL(fileURLWithPath: "/dev/null"))
        }
        let empty = directory.appendingPathComponent("empty.yaml")
        FileManager.default.createFile(atPath: empty.path, contents: Data())
        #expect(throws: ArchitectureError(path: "", reason: "the file is empty", file: empty.path)) {
            try DeviceProfile.load(contentsOf: empty)
        }
    }
}
