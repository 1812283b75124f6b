import Foundation

/// The reference data shipped with the tests (copied from the project's reference set):
/// golden Params/MACs/FLOPs, the dev ground truth and the reference spaces. They live in the
/// core tests' fixtures; other test targets reach them through the source tree.
public enum ReferenceData {
    /// Tests/EdgeNASCoreTests/Fixtures in this checkout.
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("EdgeNASCoreTests/Fixtures", isDirectory: true)

    /// One JSON object per non-empty line of a `.jsonl` fixture.
    public static func jsonLines(_ name: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.isEmpty }.map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw CocoaError(.fileReadCorruptFile)
            }
            return object
        }
    }

    /// The `arch` object of a record re-encoded as JSON bytes.
    public static func architectureData(of record: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: record["arch"] as Any)
    }
}
