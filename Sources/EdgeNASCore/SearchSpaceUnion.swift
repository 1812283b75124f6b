import Foundation

/// Several search spaces searched as one (for example an MBConv, a ViT and a Mamba space):
/// a draw picks a member space uniformly, then samples it; a mutation stays inside the
/// parent's member space.
///
/// The members must share the input shape and the class count, so that every candidate
/// trains and is timed on the same images. A union of one space behaves exactly like that
/// space: the same draws for the same seed, the same name and the same canonical text.
public struct SearchSpaceUnion: Hashable, Sendable {
    /// The member spaces, in the order given.
    public let members: [SearchSpace]

    /// - Throws: ``ArchitectureError`` when `members` is empty, holds the same space twice,
    ///   or two members differ in input shape or classes.
    public init(_ members: [SearchSpace]) throws {
        guard let first = members.first else {
            throw ArchitectureError(at: .root, "a search needs at least one space")
        }
        for (index, member) in members.enumerated().dropFirst() {
            guard member.input == first.input, member.classes == first.classes else {
                throw ArchitectureError(at: .root, "space \(member.name) takes \(member.input) images and \(member.classes) classes, "
                                        + "space \(first.name) \(first.input) and \(first.classes); spaces searched together must share both")
            }
            if members[..<index].contains(where: { $0.canonicalJSON == member.canonicalJSON }) {
                throw ArchitectureError(at: .root, "space \(member.name) is given twice")
            }
        }
        self.members = members
    }

    /// One space on its own.
    public init(_ space: SearchSpace) {
        members = [space]
    }

    /// The members' names joined by "+", e.g. `fmnist-mbconv-tiny+fmnist-vit`.
    public var name: String { members.map(\.name).joined(separator: "+") }
    /// The shared input shape.
    public var input: ImageShape { members[0].input }
    /// The shared class count.
    public var classes: Int { members[0].classes }
    /// The members' families, in member order (a family may repeat).
    public var families: [ArchitectureFamily] { members.map(\.family) }

    /// A member chosen uniformly (no draw when there is one), then one of its architectures.
    public func sample(using generator: inout some RandomNumberGenerator) -> Architecture {
        guard members.count > 1 else { return members[0].sample(using: &generator) }
        return members[Int.random(in: 0..<members.count, using: &generator)].sample(using: &generator)
    }

    /// One choice of `architecture` changed inside the first member space that contains it
    /// (``SearchSpace/mutate(_:using:)``).
    ///
    /// - Precondition: `contains(architecture)`.
    public func mutate(_ architecture: Architecture, using generator: inout some RandomNumberGenerator) -> Architecture {
        guard let member = members.first(where: { $0.contains(architecture) }) else {
            preconditionFailure("mutate: the architecture is in none of the spaces \(name)")
        }
        return member.mutate(architecture, using: &generator)
    }

    /// Whether some member space contains `architecture`.
    public func contains(_ architecture: Architecture) -> Bool {
        members.contains { $0.contains(architecture) }
    }

    /// One space's canonical JSON, or a JSON array of the members' canonical JSON.
    public var canonicalJSON: String {
        members.count == 1 ? members[0].canonicalJSON : "[" + members.map(\.canonicalJSON).joined(separator: ",") + "]"
    }

    /// Decodes ``canonicalJSON`` (one space object, or an array of them).
    ///
    /// - Throws: what ``SearchSpace/init(jsonData:file:)`` and ``init(_:)-(\[SearchSpace\])`` throw.
    public init(canonicalJSON data: Data, file: String? = nil) throws {
        let firstByte = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        guard firstByte == UInt8(ascii: "[") else {
            self.init(try SearchSpace(jsonData: data, file: file))
            return
        }
        guard let elements = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw ArchitectureError(path: FieldPath.root.description, reason: "expected an array of search spaces", file: file)
        }
        try self.init(elements.map { try SearchSpace(jsonData: JSONSerialization.data(withJSONObject: $0), file: file) })
    }
}
