import Foundation

/// Several search spaces searched as one (for example an MBConv, a ViT and a Mamba space).
///
/// Each member gets its share of the candidates (equal unless weighted): candidate i comes
/// from the member whose share is furthest behind after i candidates, so any prefix of a
/// run holds the shares as closely as whole candidates allow. A mutation stays inside the
/// parent's member space.
///
/// The members must share the input shape and the class count, so that every candidate
/// trains and is timed on the same images. A union of one space behaves exactly like that
/// space: the same draws for the same seed, the same name and the same canonical text.
public struct SearchSpaceUnion: Hashable, Sendable {
    /// The member spaces, in the order given.
    public let members: [SearchSpace]
    /// Each member's share of the candidates, summing to 1.
    public let shares: [Double]

    /// - Parameter weights: one positive weight per member (default: equal shares).
    /// - Throws: ``ArchitectureError`` when `members` is empty, holds the same space twice,
    ///   two members differ in input shape or classes, or the weights do not fit.
    public init(_ members: [SearchSpace], weights: [Double]? = nil) throws {
        guard let first = members.first else {
            throw ArchitectureError(at: .root, "a search needs at least one space")
        }
        let weights = weights ?? [Double](repeating: 1, count: members.count)
        guard weights.count == members.count else {
            throw ArchitectureError(at: .root, "\(weights.count) space weights for \(members.count) spaces: give one per space")
        }
        guard weights.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ArchitectureError(at: .root, "space weights must be positive numbers, got \(weights)")
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
        let total = weights.reduce(0, +)
        shares = weights.map { $0 / total }
    }

    /// One space on its own.
    public init(_ space: SearchSpace) {
        members = [space]
        shares = [1]
    }

    /// Whether the members have unequal shares.
    public var isWeighted: Bool { Set(shares).count > 1 }

    /// The members' names joined by "+", e.g. `fmnist-mbconv-tiny+fmnist-vit`.
    public var name: String { members.map(\.name).joined(separator: "+") }
    /// The shared input shape.
    public var input: ImageShape { members[0].input }
    /// The shared class count.
    public var classes: Int { members[0].classes }

    /// The member that candidate `index` (0-based, in draw order) comes from: the one whose
    /// share is furthest behind after `index` candidates (ties to the earlier member).
    public func memberIndex(forCandidate index: Int) -> Int {
        guard members.count > 1 else { return 0 }
        var counts = [Int](repeating: 0, count: members.count)
        var chosen = 0
        for position in 0...max(0, index) {
            chosen = (0..<members.count).max { a, b in
                let behindA = shares[a] * Double(position + 1) - Double(counts[a])
                let behindB = shares[b] * Double(position + 1) - Double(counts[b])
                return behindA != behindB ? behindA < behindB : a > b
            }!
            counts[chosen] += 1
        }
        return chosen
    }

    /// Draws for one candidate from its own member before any other member may stand in.
    public static let drawsBeforeOtherMembers = 100

    /// An architecture of the member that candidate `index` comes from (a one-space union
    /// draws exactly as that space does).
    ///
    /// `attempt` counts the draws already made for this candidate (a draw is repeated when it
    /// breaks a limit or repeats a member): from ``drawsBeforeOtherMembers`` on, the member
    /// is drawn by share instead, so that a member whose architectures are all taken or all
    /// over a limit (a Mamba space under a tight latency limit) lends its share to the others
    /// rather than ending the search.
    public func sample(candidate index: Int, attempt: Int = 0, using generator: inout some RandomNumberGenerator) -> Architecture {
        sample(member: memberIndex(forCandidate: index), attempt: attempt, using: &generator)
    }

    /// ``sample(candidate:attempt:using:)`` with the candidate's member already found
    /// (``memberIndex(forCandidate:)`` walks all earlier candidates: find it once per candidate).
    public func sample(member: Int, attempt: Int, using generator: inout some RandomNumberGenerator) -> Architecture {
        guard attempt >= Self.drawsBeforeOtherMembers else { return members[member].sample(using: &generator) }
        return sample(using: &generator)
    }

    /// An architecture of a member drawn with the members' shares as probabilities (no draw
    /// when there is one member): for statistics over the union, such as a latency quantile.
    public func sample(using generator: inout some RandomNumberGenerator) -> Architecture {
        guard members.count > 1 else { return members[0].sample(using: &generator) }
        let point = Double.random(in: 0..<1, using: &generator)
        var cumulative = 0.0
        for (index, share) in shares.enumerated() {
            cumulative += share
            if point < cumulative { return members[index].sample(using: &generator) }
        }
        return members[members.count - 1].sample(using: &generator)
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

    /// One space's canonical JSON; for several, a JSON array of theirs, or with unequal
    /// shares `{"spaces": [...], "weights": [...]}`.
    public var canonicalJSON: String {
        guard members.count > 1 else { return members[0].canonicalJSON }
        let spaces = "[" + members.map(\.canonicalJSON).joined(separator: ",") + "]"
        guard isWeighted else { return spaces }
        return "{\"spaces\":\(spaces),\"weights\":[\(shares.map { "\($0)" }.joined(separator: ","))]}"
    }

    /// Decodes ``canonicalJSON``.
    ///
    /// - Throws: what ``SearchSpace/init(jsonData:file:)`` and ``init(_:weights:)`` throw.
    public init(canonicalJSON data: Data, file: String? = nil) throws {
        let object = try? JSONSerialization.jsonObject(with: data)
        if let elements = object as? [Any] {
            try self.init(elements.map { try SearchSpace(jsonData: JSONSerialization.data(withJSONObject: $0), file: file) })
        } else if let weighted = object as? [String: Any], let elements = weighted["spaces"] as? [Any],
                  let weights = weighted["weights"] as? [Double] {
            try self.init(elements.map { try SearchSpace(jsonData: JSONSerialization.data(withJSONObject: $0), file: file) },
                          weights: weights)
        } else {
            self.init(try SearchSpace(jsonData: data, file: file))
        }
    }
}
