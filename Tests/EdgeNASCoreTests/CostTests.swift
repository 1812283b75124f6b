import EdgeNASCore
import Testing

@Suite("Params, MACs and FLOPs against the reference")
struct CostTests {
    @Test("cost-golden.jsonl: all 100 architectures")
    func costGolden() throws {
        let records = try Fixtures.records("cost-golden.jsonl")
        #expect(records.count == 100)
        try expectCostsMatch(records)
    }

    @Test("groundtruth-dev.jsonl: all 27 architectures")
    func groundTruthDev() throws {
        let records = try Fixtures.records("groundtruth-dev.jsonl")
        #expect(records.count == 27)
        try expectCostsMatch(records)
    }

    @Test("every family is covered by the golden data")
    func familiesCovered() throws {
        let families = try Set(Fixtures.records("cost-golden.jsonl").map { try $0.architecture().family })
        #expect(families == Set(ArchitectureFamily.allCases))
    }

    @Test("FLOPs are twice the MACs, and mega-units scale by 10⁶")
    func derivedUnits() {
        let cost = ArchitectureCost(params: 1_500_000, macs: 17_592_832)
        #expect(cost.flops == 35_185_664)
        #expect(cost.megaFLOPs == 35.185664)
        #expect(cost.megaParams == 1.5)
        #expect(cost.description == "Params 1500000, MACs 17592832, MFLOPs 35.186")
    }

    @Test("a hand-counted MBConv network: stem, one plain block, no head")
    func handCounted() {
        // Stem 1→8 k3 on 4×4: 72 weights + 16 BN, 72·16 MACs. Block (expand 1, k3, no SE)
        // 8→8 stride 1: depthwise 72 + 16 BN, 72·16 MACs; projection 64 + 16 BN, 64·16 MACs.
        // Classifier 8→2: 16 + 2, 16 MACs.
        let architecture = Architecture(
            input: ImageShape(channels: 1, height: 4, width: 4), classes: 2,
            body: .mbconv(MBConvBody(
                activation: .relu,
                stem: MBConvStem(channels: 8, kernel: 3, stride: 1),
                stages: [MBConvStage(channels: 8, stride: 1, blocks: [MBConvBlock(kernel: 3, expand: 1, se: false)])],
                headChannels: 0)))
        #expect(architecture.cost == ArchitectureCost(params: 88 + 88 + 80 + 18, macs: 1152 + 1152 + 1024 + 16))
    }

    private func expectCostsMatch(_ records: [ReferenceRecord]) throws {
        for record in records {
            let cost = try record.architecture().cost
            #expect(cost.params == record.params, "\(record.id): params")
            #expect(cost.macs == record.macs, "\(record.id): MACs")
            #expect(cost.flops == record.flops, "\(record.id): FLOPs")
        }
    }
}
