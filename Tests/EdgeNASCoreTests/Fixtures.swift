import EdgeNASCore
import Foundation
import Testing

/// Files under `Fixtures/`, copied from the shared reference data.
enum Fixtures {
    static let spaceNames = ["fmnist-mbconv", "fmnist-mbconv-tiny", "fmnist-vit", "fmnist-mamba"]

    static func url(_ relativePath: String) throws -> URL {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return folder.appendingPathComponent(relativePath)
    }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    static func space(_ name: String) throws -> SearchSpace {
        try SearchSpace(contentsOf: url("spaces/\(name).json"))
    }

    static func allSpaces() throws -> [SearchSpace] {
        try spaceNames.map(space)
    }

    /// The records of a reference `.jsonl` file.
    static func records(_ fileName: String) throws -> [ReferenceRecord] {
        let text = try #require(String(data: data(fileName), encoding: .utf8))
        return try text.split(separator: "\n").map { try ReferenceRecord(line: String($0)) }
    }
}

/// One line of `cost-golden.jsonl` or `groundtruth-dev.jsonl`.
struct ReferenceRecord: Sendable {
    var id: String
    /// The space the architecture was drawn from, when the file says.
    var space: String?
    /// The architecture exactly as the reference wrote it (Python's `json.dumps`).
    var architectureText: String
    var params: Int
    var macs: Int
    var flops: Int

    init(line: String) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        id = try #require(object["id"] as? String)
        space = object["space"] as? String
        params = try #require(object["params"] as? Int)
        macs = try #require(object["macs"] as? Int)
        flops = try #require(object["flops"] as? Int)
        // The architecture's own text: between `"arch": ` and the `"params"` key that follows it.
        let start = try #require(line.range(of: "\"arch\": "))
        let end = try #require(line.range(of: ", \"params\": ", range: start.upperBound..<line.endIndex))
        architectureText = String(line[start.upperBound..<end.lowerBound])
    }

    func architecture() throws -> Architecture {
        try Architecture(jsonData: Data(architectureText.utf8), file: id)
    }
}
