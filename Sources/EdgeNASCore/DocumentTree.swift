import Foundation

/// A parsed JSON or YAML document, with integers, reals and booleans kept apart so that
/// `3`, `3.0` and `true` can be told from one another when a field is checked.
enum DocumentValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case real(Double)
    case string(String)
    case array([DocumentValue])
    case object([String: DocumentValue])

    /// How the value is shown in an error: scalars as JSON text, containers by kind.
    var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .real(let value): return CanonicalNumber.text(for: value)
        case .string(let value):
            let shown = value.count > 40 ? String(value.prefix(40)) + "…" : value
            return "\"\(shown)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension DocumentValue {
    /// Parses JSON bytes with Foundation and converts the result.
    ///
    /// - Throws: ``ArchitectureError`` at the root when the bytes are not JSON, naming
    ///   the line and column where Foundation reports a character offset.
    static func parseJSON(_ data: Data) throws -> DocumentValue {
        let foundationValue: Any
        do {
            foundationValue = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ArchitectureError(at: .root, "invalid JSON: \(jsonSyntaxProblem(error, in: data))")
        }
        return try DocumentValue(foundation: foundationValue, at: .root)
    }

    /// Converts what `JSONSerialization` returns. Booleans arrive as `NSNumber`s whose
    /// Objective-C type is `c`, reals as `d`; everything else numeric is an integer.
    private init(foundation value: Any, at path: FieldPath) throws {
        switch value {
        case is NSNull:
            self = .null
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            switch String(cString: number.objCType) {
            case "c", "B":
                self = .bool(number.boolValue)
            case "d", "f":
                self = .real(number.doubleValue)
            case "Q" where number.uint64Value > UInt64(Int.max):
                throw ArchitectureError(at: path, "integer \(number.uint64Value) is too large")
            default:
                self = .integer(number.intValue)
            }
        case let array as [Any]:
            self = .array(try array.enumerated().map { position, element in
                try DocumentValue(foundation: element, at: path.index(position))
            })
        case let object as [String: Any]:
            var members: [String: DocumentValue] = [:]
            for (key, element) in object {
                members[key] = try DocumentValue(foundation: element, at: path.key(key))
            }
            self = .object(members)
        default:
            throw ArchitectureError(at: path, "unsupported JSON value \(value)")
        }
    }

    /// Foundation's message for a syntax error, with the character offset it mentions
    /// turned into a line and column a person can jump to.
    private static func jsonSyntaxProblem(_ error: any Error, in data: Data) -> String {
        let nsError = error as NSError
        let message = (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
        guard let range = message.range(of: #"character \d+"#, options: .regularExpression),
              let offset = Int(message[range].dropFirst("character ".count)),
              offset <= data.count
        else { return message }
        var line = 1
        var column = 1
        for byte in data.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        let trimmed = message.hasSuffix(".") ? String(message.dropLast()) : message
        return "\(trimmed) (line \(line), column \(column))"
    }
}

/// A value in a document together with the path it was found at, with typed readers
/// that throw path-named errors.
struct DocumentNode {
    let value: DocumentValue
    let path: FieldPath

    init(_ value: DocumentValue, at path: FieldPath = .root) {
        self.value = value
        self.path = path
    }

    private func mismatch(_ expected: String) -> ArchitectureError {
        ArchitectureError(at: path, "expected \(expected), got \(value.summary)")
    }

    /// The value as an object whose keys are all in `allowedKeys` (any keys when nil).
    func object(allowedKeys: [String]? = nil) throws -> DocumentObject {
        guard case .object(let members) = value else { throw mismatch("an object") }
        let object = DocumentObject(members: members, path: path)
        if let allowedKeys { try object.rejectUnknownKeys(allowed: allowedKeys) }
        return object
    }

    /// The value as an array with at least one element.
    func nonEmptyArray() throws -> [DocumentNode] {
        guard case .array(let elements) = value else { throw mismatch("an array") }
        guard !elements.isEmpty else { throw ArchitectureError(at: path, "expected a non-empty array") }
        return elements.enumerated().map { position, element in
            DocumentNode(element, at: path.index(position))
        }
    }

    /// The value as an integer; `3.0` is rejected, the reference would not accept it either.
    func integer() throws -> Int {
        guard case .integer(let number) = value else { throw mismatch("an integer") }
        return number
    }

    /// The value as a real number; integers are accepted and converted.
    func real() throws -> Double {
        switch value {
        case .integer(let number): return Double(number)
        case .real(let number): return number
        default: throw mismatch("a number")
        }
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch("true or false") }
        return flag
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw mismatch("a string") }
        return text
    }

    /// The value as one of an enumeration's string raw values.
    func enumeration<Choice: RawRepresentable & CaseIterable>(_ type: Choice.Type) throws -> Choice
    where Choice.RawValue == String {
        let text = try string()
        guard let choice = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw mismatch("one of \(allowed)")
        }
        return choice
    }

    /// A non-empty array whose elements are each read by `read`.
    func list<Element>(_ read: (DocumentNode) throws -> Element) throws -> [Element] {
        try nonEmptyArray().map(read)
    }
}

/// The members of a JSON object, read by key with path-named errors.
struct DocumentObject {
    let members: [String: DocumentValue]
    let path: FieldPath

    /// The member `key`, which must be present.
    func required(_ key: String) throws -> DocumentNode {
        guard let member = members[key] else {
            throw ArchitectureError(at: path.key(key), "missing required field")
        }
        return DocumentNode(member, at: path.key(key))
    }

    /// Rejects the first key (in sorted order, so the message is stable) not in `allowed`.
    func rejectUnknownKeys(allowed: [String]) throws {
        let allowedSet = Set(allowed)
        if let unknown = members.keys.sorted().first(where: { !allowedSet.contains($0) }) {
            throw ArchitectureError(
                at: path.key(unknown), "unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
    }
}
