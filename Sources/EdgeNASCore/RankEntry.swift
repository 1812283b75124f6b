import Foundation

/// One line of a `rank` input file: `{"id": "...", "arch": {...}, "test_acc": 0.91}`.
public struct RankEntry: Sendable {
    /// The 1-based line number in the file, for messages.
    public let line: Int
    public let id: String
    public let architecture: Architecture
    /// Test accuracy as a fraction in [0, 1], when known.
    public let testAccuracy: Double?

    public init(line: Int, id: String, architecture: Architecture, testAccuracy: Double?) {
        self.line = line
        self.id = id
        self.architecture = architecture
        self.testAccuracy = testAccuracy
    }

    /// Every non-empty line of a JSON-lines document, in order.
    ///
    /// - Parameters:
    ///   - data: the file's bytes (UTF-8).
    ///   - file: the file's name, for messages.
    /// - Throws: ``RankEntryError`` naming the file and line: text that is not UTF-8, a line
    ///   that is not a JSON object, a missing or repeated `id`, a bad `arch`, a `test_acc`
    ///   that is not a number in [0, 1].
    public static func parse(_ data: Data, file: String) throws -> [RankEntry] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw RankEntryError(file: file, line: nil, reason: "not UTF-8 text; write one JSON object per line")
        }
        var entries: [RankEntry] = []
        var seen: [String: Int] = [:]
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            let trimmed = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            func bad(_ reason: String) -> RankEntryError { RankEntryError(file: file, line: line, reason: reason) }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                throw bad("not a JSON object; each line must be {\"id\": ..., \"arch\": {...}, \"test_acc\": ...}")
            }
            let id: String
            switch object["id"] {
            case let text as String:
                guard !text.isEmpty else { throw bad("\"id\" must be a non-empty string, got \"\"") }
                id = text
            case let number as NSNumber where !Self.isBoolean(number):
                throw bad("\"id\" must be a string, got the number \(number); write \"id\": \"\(number)\"")
            case nil:
                throw bad("missing \"id\" (a non-empty string)")
            default:
                throw bad("\"id\" must be a non-empty string")
            }
            if let previous = seen[id] { throw bad("id \"\(id)\" already used on line \(previous)") }
            seen[id] = line
            guard let arch = object["arch"], arch is [String: Any] else { throw bad("missing \"arch\" (an architecture object)") }
            let architecture: Architecture
            do {
                architecture = try Architecture(jsonData: try JSONSerialization.data(withJSONObject: arch))
            } catch {
                throw bad("arch: \(error)")
            }
            var accuracy: Double?
            if let value = object["test_acc"], !(value is NSNull) {
                guard let number = value as? NSNumber, !(value is String), !Self.isBoolean(number), number.doubleValue.isFinite else {
                    throw bad("\"test_acc\" must be a number")
                }
                guard (0...1).contains(number.doubleValue) else {
                    throw bad("\"test_acc\" must be a fraction in [0, 1], got \(number.doubleValue)"
                        + (number.doubleValue <= 100 && number.doubleValue > 1 ? " (a percentage? divide by 100)" : ""))
                }
                accuracy = number.doubleValue
            }
            entries.append(RankEntry(line: line, id: id, architecture: architecture, testAccuracy: accuracy))
        }
        return entries
    }

    /// JSON `true`/`false` arrive as NSNumber too; their Objective-C type is `c` or `B`.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        let type = String(cString: number.objCType)
        return type == "c" || type == "B"
    }
}

/// A rank input file that cannot be used: `file:line: reason`.
public struct RankEntryError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// 1-based; nil for the file as a whole.
    public var line: Int?
    public var reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)" }
}
