import Foundation

/// An architecture or search-space document that cannot be used, with the place and the reason.
///
/// Every error names the JSON path of the offending field (for example
/// `stages[2].blocks[0].kernel`) and says what was expected, so that a person can fix
/// the file without reading the code. Search spaces use the same error type, because
/// their documents share the envelope and the per-field rules.
///
/// ```
/// arch.json: stages[2].blocks[0].kernel: expected one of 1, 3, 5, 7, got 4
/// ```
public struct ArchitectureError: LocalizedError, Hashable, Sendable, CustomStringConvertible {
    /// The JSON path of the offending field, such as `layers[1].heads`; empty for the
    /// document as a whole (unreadable file, invalid JSON, a root that is not an object).
    public var path: String
    /// What is wrong and, where it helps, what would be accepted.
    public var reason: String
    /// The file the document came from, when it came from one.
    public var file: String?

    /// Creates an error for the field at `path`.
    public init(path: String, reason: String, file: String? = nil) {
        self.path = path
        self.reason = reason
        self.file = file
    }

    init(at path: FieldPath, _ reason: String) {
        self.init(path: path.description, reason: reason)
    }

    /// `file: path: reason`, leaving out the parts that are absent.
    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if !path.isEmpty { parts.append(path) }
        parts.append(reason)
        return parts.joined(separator: ": ")
    }

    /// The same text as ``description``, for code that shows `localizedDescription`.
    public var errorDescription: String? { description }

    /// The same error, attributed to `file` unless it already names one.
    func attributed(to file: String?) -> ArchitectureError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }
}

/// A JSON path under construction: `stages[2].blocks[0].kernel`.
struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    private var text: String

    /// The document itself.
    static let root = FieldPath(text: "")

    private init(text: String) {
        self.text = text
    }

    /// The path of the member `name` of the object at this path.
    func key(_ name: String) -> FieldPath {
        FieldPath(text: text.isEmpty ? name : "\(text).\(name)")
    }

    /// The path of element `position` of the array at this path.
    func index(_ position: Int) -> FieldPath {
        FieldPath(text: "\(text)[\(position)]")
    }

    var description: String { text }
}
