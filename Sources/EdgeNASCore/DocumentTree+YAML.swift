import Yams

// The only file that imports Yams: YAML is turned into the same tree as JSON, so one
// validator serves both.

extension DocumentValue {
    /// Parses the first YAML document in `text`, resolving scalars with YAML 1.1's core
    /// schema (so `3` is an integer, `3.0` a real, `true` a boolean, `~` null).
    ///
    /// - Throws: ``ArchitectureError`` at the root for a syntax error (with line and
    ///   column) or an empty document, and at the node's path for mapping keys that are
    ///   not scalars or aliases that cannot be resolved.
    static func parseYAML(_ text: String) throws -> DocumentValue {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            let problem = (error as? YamlError).map(yamlProblem) ?? String(describing: error)
            throw ArchitectureError(at: .root, "invalid YAML: \(problem)")
        }
        guard let root else { throw ArchitectureError(at: .root, "invalid YAML: the document is empty") }
        return try DocumentValue(yaml: root, at: .root)
    }

    private init(yaml node: Node, at path: FieldPath) throws {
        switch node {
        case .scalar(let scalar):
            self = try DocumentValue(yamlScalar: scalar, tag: Tag.Name(rawValue: node.tag.rawValue), at: path)
        case .sequence(let sequence):
            self = .array(try sequence.enumerated().map { position, element in
                try DocumentValue(yaml: element, at: path.index(position))
            })
        case .mapping(let mapping):
            var members: [String: DocumentValue] = [:]
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let key) = keyNode else {
                    throw ArchitectureError(at: path, "mapping keys must be plain strings")
                }
                members[key.string] = try DocumentValue(yaml: valueNode, at: path.key(key.string))
            }
            self = .object(members)
        case .alias:
            throw ArchitectureError(at: path, "unresolved YAML alias")
        }
    }

    private init(yamlScalar scalar: Node.Scalar, tag: Tag.Name, at path: FieldPath) throws {
        switch tag {
        case .null:
            self = .null
        case .bool:
            guard let flag = Bool.construct(from: scalar) else {
                throw ArchitectureError(at: path, "invalid boolean \"\(scalar.string)\"")
            }
            self = .bool(flag)
        case .int:
            guard let number = Int.construct(from: scalar) else {
                throw ArchitectureError(at: path, "integer \(scalar.string) is out of range")
            }
            self = .integer(number)
        case .float:
            guard let number = Double.construct(from: scalar) else {
                throw ArchitectureError(at: path, "invalid number \(scalar.string)")
            }
            self = .real(number)
        default:
            self = .string(scalar.string)
        }
    }

    private static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _),
             .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return "\(problem) (line \(mark.line), column \(mark.column))"
        case .reader(let problem, _, _, _):
            return problem
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicate keys \(duplicates.joined(separator: ", "))"
        default:
            return String(describing: error)
        }
    }
}
