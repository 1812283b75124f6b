@testable import EdgeNASCore
import Foundation
import Testing

@Suite struct SearchSpaceUnionTests {
    static func families() throws -> SearchSpaceUnion {
        try SearchSpaceUnion([Fixtures.space("fmnist-mbconv-tiny"), Fixtures.space("fmnist-vit"), Fixtures.space("fmnist-mamba")])
    }

    /// A one-space union must not change a single-space run: same draws, name and stored text.
    @Test func oneSpaceBehavesExactlyLikeThatSpace() throws {
        let space = try Fixtures.space("fmnist-vit")
        let union = SearchSpaceUnion(space)
        var a = SeededGenerator(seed: 4), b = SeededGenerator(seed: 4)
        for _ in 0..<50 { #expect(union.sample(using: &a) == space.sample(using: &b)) }
        #expect(union.name == space.name)
        #expect(union.canonicalJSON == space.canonicalJSON)
        #expect(try SearchSpaceUnion(canonicalJSON: Data(union.canonicalJSON.utf8)) == union)
    }

    /// Every prefix of a run holds each member's share to within one candidate.
    @Test(arguments: [nil, [1.0, 1, 2], [5.0, 1, 1]])
    func candidatesFollowTheSharesInEveryPrefix(weights: [Double]?) throws {
        let union = try SearchSpaceUnion(Self.families().members, weights: weights)
        var counts = [0, 0, 0]
        var generator = SeededGenerator(seed: 1)
        for index in 0..<200 {
            let member = union.memberIndex(forCandidate: index)
            counts[member] += 1
            #expect(union.members[member].contains(union.sample(candidate: index, using: &generator)))
            for k in 0..<3 {
                #expect(abs(Double(counts[k]) - union.shares[k] * Double(index + 1)) < 1, "after \(index + 1): \(counts)")
            }
        }
        #expect(try SearchSpaceUnion(canonicalJSON: Data(union.canonicalJSON.utf8)) == union)
    }

    @Test func drawsReachEveryMemberAndStayInside() throws {
        let union = try Self.families()
        var generator = SeededGenerator(seed: 9)
        var counts: [ArchitectureFamily: Int] = [:]
        for _ in 0..<600 {
            let architecture = union.sample(using: &generator)
            counts[architecture.family, default: 0] += 1
            #expect(union.contains(architecture))
            let mutated = union.mutate(architecture, using: &generator)
            #expect(mutated.family == architecture.family, "a mutation stays in its member space")
            #expect(union.contains(mutated))
        }
        // Uniform over three members: each near 200 of 600 (binomial sd ≈ 11.5).
        for family in [ArchitectureFamily.mbconv, .vit, .mamba] {
            #expect((150...250).contains(counts[family] ?? 0), "\(family): \(counts[family] ?? 0) of 600")
        }
        #expect(union.name == "fmnist-mbconv-tiny+fmnist-vit+fmnist-mamba")
    }

    @Test func canonicalTextRoundTrips() throws {
        let union = try Self.families()
        #expect(union.canonicalJSON.hasPrefix("["))
        #expect(try SearchSpaceUnion(canonicalJSON: Data(union.canonicalJSON.utf8)) == union)
    }

    @Test func spacesOfOtherInputsOrRepeatsAreRefused() throws {
        var other = try Fixtures.space("fmnist-vit")
        other.name = "rgb"
        other.input = ImageShape(channels: 3, height: 28, width: 28)
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion([Fixtures.space("fmnist-mbconv-tiny"), other]) }
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion([Fixtures.space("fmnist-vit"), Fixtures.space("fmnist-vit")]) }
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion([]) }
        let two = [try Fixtures.space("fmnist-mbconv-tiny"), try Fixtures.space("fmnist-vit")]
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion(two, weights: [1]) }
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion(two, weights: [1, 0]) }
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion(two, weights: [1, .nan]) }
        #expect(throws: ArchitectureError.self) { try SearchSpaceUnion(canonicalJSON: Data("[{\"format\": 1}]".utf8)) }
    }
}
