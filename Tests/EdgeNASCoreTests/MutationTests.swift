import EdgeNASCore
import Testing

/// The JSON paths of the choices that differ between two architectures of one family.
/// A changed depth counts once (as `….depth`), and only the blocks or layers both have
/// are compared field by field.
func choiceDifferences(_ first: Architecture, _ second: Architecture) -> [String] {
    var differences: [String] = []
    func compare<Value: Equatable>(_ lhs: Value, _ rhs: Value, _ path: String) {
        if lhs != rhs { differences.append(path) }
    }
    compare(first.input, second.input, "input")
    compare(first.classes, second.classes, "classes")
    switch (first.body, second.body) {
    case (.mbconv(let lhs), .mbconv(let rhs)):
        compare(lhs.activation, rhs.activation, "activation")
        compare(lhs.stem, rhs.stem, "stem")
        compare(lhs.stages.count, rhs.stages.count, "stages")
        for (index, (left, right)) in zip(lhs.stages, rhs.stages).enumerated() {
            compare(left.channels, right.channels, "stages[\(index)].channels")
            compare(left.stride, right.stride, "stages[\(index)].stride")
            compare(left.blocks.count, right.blocks.count, "stages[\(index)].depth")
            for (block, (leftBlock, rightBlock)) in zip(left.blocks, right.blocks).enumerated() {
                compare(leftBlock.kernel, rightBlock.kernel, "stages[\(index)].blocks[\(block)].kernel")
                compare(leftBlock.expand, rightBlock.expand, "stages[\(index)].blocks[\(block)].expand")
                compare(leftBlock.se, rightBlock.se, "stages[\(index)].blocks[\(block)].se")
            }
        }
        compare(lhs.headChannels, rhs.headChannels, "head.channels")
    case (.vit(let lhs), .vit(let rhs)):
        compare(lhs.patch, rhs.patch, "patch")
        compare(lhs.embed, rhs.embed, "embed")
        compare(lhs.layers.count, rhs.layers.count, "depth")
        for (index, (left, right)) in zip(lhs.layers, rhs.layers).enumerated() {
            compare(left.heads, right.heads, "layers[\(index)].heads")
            compare(left.mlpRatio, right.mlpRatio, "layers[\(index)].mlp_ratio")
        }
    case (.mamba(let lhs), .mamba(let rhs)):
        compare(lhs.patch, rhs.patch, "patch")
        compare(lhs.embed, rhs.embed, "embed")
        compare(lhs.layers.count, rhs.layers.count, "depth")
        for (index, (left, right)) in zip(lhs.layers, rhs.layers).enumerated() {
            compare(left.state, right.state, "layers[\(index)].state")
            compare(left.expand, right.expand, "layers[\(index)].expand")
            compare(left.conv, right.conv, "layers[\(index)].conv")
        }
    default:
        differences.append("family")
    }
    return differences
}

/// The numbers of blocks per stage (MBConv) or layers (ViT, Mamba).
private func depths(_ architecture: Architecture) -> [Int] {
    switch architecture.body {
    case .mbconv(let body): return body.stages.map(\.blocks.count)
    case .vit(let body): return [body.layers.count]
    case .mamba(let body): return [body.layers.count]
    }
}

private func depthChoices(_ space: SearchSpace) -> [[Int]] {
    switch space.body {
    case .mbconv(let body): return body.stages.map(\.depth)
    case .vit(let body): return [body.depth]
    case .mamba(let body): return [body.depth]
    }
}

@Suite("Mutation")
struct MutationTests {
    @Test("a mutation changes exactly one choice and stays in the space", arguments: Fixtures.spaceNames)
    func oneChoiceInsideSpace(spaceName: String) throws {
        let space = try Fixtures.space(spaceName)
        var changedPaths = Set<String>()
        for seed in UInt64(0)..<300 {
            var generator = SeededGenerator(seed: seed)
            let parent = space.sample(using: &generator)
            let child = space.mutate(parent, using: &generator)
            #expect(child != parent, "seed \(seed)")
            #expect(throws: Never.self, "seed \(seed)") { try child.validate() }
            #expect(throws: Never.self, "seed \(seed)") { try space.checkMembership(child) }
            let differences = choiceDifferences(parent, child)
            #expect(differences.count == 1, "seed \(seed): \(differences)")
            changedPaths.formUnion(differences.map { $0.replacing(/\[\d+\]/, with: "[]") })

            // A depth moves to a neighbouring allowed value.
            for ((before, after), choices) in zip(zip(depths(parent), depths(child)), depthChoices(space))
            where before != after {
                let sorted = choices.sorted()
                let step = try #require(sorted.firstIndex(of: after)) - (try #require(sorted.firstIndex(of: before)))
                #expect(abs(step) == 1, "seed \(seed): depth \(before) → \(after) in \(sorted)")
            }
        }
        let expectedKinds: Set<String> = switch space.family {
        case .mbconv: [
            "stages[].channels", "stages[].depth", "stages[].blocks[].kernel", "stages[].blocks[].expand",
            "stages[].blocks[].se", "head.channels",
        ]
        case .vit: ["patch", "embed", "depth", "layers[].heads", "layers[].mlp_ratio"]
        case .mamba: ["patch", "embed", "depth", "layers[].state", "layers[].expand", "layers[].conv"]
        }
        #expect(changedPaths == expectedKinds)
    }

    @Test("mutation is deterministic for a seed")
    func deterministic() throws {
        let space = try Fixtures.space("fmnist-mbconv")
        func chain(seed: UInt64) -> [String] {
            var generator = SeededGenerator(seed: seed)
            var architecture = space.sample(using: &generator)
            return (0..<30).map { _ in
                architecture = space.mutate(architecture, using: &generator)
                return architecture.canonicalJSON
            }
        }
        #expect(chain(seed: 9) == chain(seed: 9))
    }

    @Test("a space with a single architecture returns it unchanged")
    func singleArchitectureSpace() throws {
        let space = SearchSpace(
            name: "single", input: ImageShape(channels: 1, height: 28, width: 28), classes: 10,
            body: .mamba(MambaSpace(patch: [7], embed: [32], depth: [2], state: [4], expand: [1], conv: [2])))
        try space.validate()
        var generator = SeededGenerator(seed: 1)
        let only = space.sample(using: &generator)
        #expect(space.mutate(only, using: &generator) == only)
    }
}
