import EdgeNASCore
import Foundation
import Testing

/// Oversized networks are refused at decode time with the path of the field or part, and
/// counting never traps, whatever the numbers.
@Suite("Architecture limits")
struct ArchitectureLimitsTests {
    static let oversized: [BadDocument] = [
        BadDocument(
            label: "2^31 channels",
            editing: Documents.mbconv, #""channels": 24"#, #""channels": 2147483648"#,
            message: "arch.json: stages[0].channels: expected at most 65536, got 2147483648"),
        BadDocument(
            label: "100,000 channels",
            editing: Documents.mbconv, #""head": {"channels": 256}"#, #""head": {"channels": 100000}"#,
            message: "arch.json: head.channels: expected at most 65536, got 100000"),
        BadDocument(
            label: "an mlp_ratio of 1e30",
            editing: Documents.vit, #""mlp_ratio": 2.0"#, #""mlp_ratio": 1e30"#,
            message: "arch.json: layers[0].mlp_ratio: round(embed · mlp_ratio) must be at most 65536, got more than "
                + "9223372036854775807 for embed 64 and ratio 1e+30"),
        BadDocument(
            label: "Params over the limit, named at the largest part",
            editing: Documents.vit, #""embed": 64"#, #""embed": 4096"#,
            message: "arch.json: layers[1]: the architecture has 335962122 Params, more than the 100000000 EdgeNAS "
                + "accepts (this part holds 201379840); use fewer or narrower layers"),
        BadDocument(
            label: "activations over the limit",
            editing: Documents.mbconv, #""height": 28, "width": 28"#, #""height": 8192, "width": 8192"#,
            message: "arch.json: stages[0].blocks[0]: the architecture produces 16374563006 activations per sample, "
                + "more than the 50000000 (200 MB) EdgeNAS accepts (this part produces 5771362304); use a smaller input, "
                + "fewer channels or larger strides"),
        BadDocument(
            label: "2,000 ViT layers",
            json: """
                {"format": "edgenas.architecture/1", "family": "vit", "input": {"channels": 1, "height": 28, "width": 28},
                 "classes": 10, "patch": 4, "embed": 8, "layers": [\(Array(repeating: #"{"heads": 1, "mlp_ratio": 1}"#, count: 2000)
                    .joined(separator: ","))]}
                """,
            message: "arch.json: layers: expected at most 1024 blocks or layers in the whole network, got 2000"),
    ]

    @Test("oversized architectures give these exact errors", arguments: oversized)
    func oversizedDocument(_ bad: BadDocument) throws {
        try bad.expectRefused()
    }

    @Test("counting an unvalidated giant saturates instead of trapping")
    func countingSaturates() {
        let giant = Architecture(
            input: ImageShape(channels: Int.max, height: Int.max, width: Int.max), classes: Int.max,
            body: .mbconv(MBConvBody(
                activation: .relu, stem: MBConvStem(channels: Int.max, kernel: 7, stride: 0),
                stages: [MBConvStage(channels: Int.max, stride: 1, blocks: [MBConvBlock(kernel: 7, expand: 8, se: true)])],
                headChannels: Int.max)))
        #expect(giant.cost.params == Int.max)
        #expect(giant.cost.flops == Int.max)
        #expect(giant.activationsPerSample == Int.max)
        #expect(!giant.isValid)
        let vit = Architecture(
            input: ImageShape(channels: 1, height: 28, width: 28), classes: 10,
            body: .vit(ViTBody(patch: 0, embed: Int.max, layers: [ViTLayer(heads: 1, mlpRatio: .infinity),
                                                                   ViTLayer(heads: 1, mlpRatio: .nan)])))
        #expect(vit.cost.params == Int.max)
        let mamba = Architecture(
            input: ImageShape(channels: 1, height: 28, width: 28), classes: 10,
            body: .mamba(MambaBody(patch: 4, embed: Int.max, layers: [MambaLayer(state: Int.max, expand: Int.max, conv: Int.max)])))
        #expect(mamba.cost.macs == Int.max)
        #expect(mamba.activationsPerSample == Int.max)
    }

    @Test("the limits admit ViT-B/16 and a MobileNetV2-sized network at 224×224")
    func realisticNetworksFit() throws {
        let vitBase = Architecture(
            input: ImageShape(channels: 3, height: 224, width: 224), classes: 1000,
            body: .vit(ViTBody(patch: 16, embed: 768, layers: Array(repeating: ViTLayer(heads: 12, mlpRatio: 4), count: 12))))
        try vitBase.validate()
        #expect(vitBase.cost.params > 80_000_000)
        let stages = [(16, 1, 1, 1), (24, 2, 2, 6), (32, 2, 3, 6), (64, 2, 4, 6), (96, 1, 3, 6), (160, 2, 3, 6), (320, 1, 1, 6)]
            .map { channels, stride, depth, expand in
                MBConvStage(channels: channels, stride: stride,
                            blocks: Array(repeating: MBConvBlock(kernel: 3, expand: expand, se: false), count: depth))
            }
        let mobileNet = Architecture(
            input: ImageShape(channels: 3, height: 224, width: 224), classes: 1000,
            body: .mbconv(MBConvBody(activation: .relu6, stem: MBConvStem(channels: 32, kernel: 3, stride: 2), stages: stages,
                                     headChannels: 1280)))
        try mobileNet.validate()
        #expect(mobileNet.activationsPerSample < ArchitectureLimits.maxActivationsPerSample)
    }

    @Test("a space whose largest member is over a limit is refused at the stage it comes from")
    func oversizedSpace() throws {
        let json = """
            {"format": "edgenas.space/1", "name": "huge", "family": "mbconv",
             "input": {"channels": 3, "height": 224, "width": 224}, "classes": 1000, "activation": "relu",
             "stem": {"channels": 32, "kernel": 3, "stride": 2},
             "stages": [{"channels": [16, 60000], "stride": 1, "depth": [1, 2], "kernel": [3], "expand": [1, 8], "se": [false]}],
             "head": {"channels": [0]}}
            """
        #expect {
            try SearchSpace(jsonData: Data(json.utf8), file: "space.json")
        } throws: { error in
            "\(error)".hasPrefix("space.json: stages[0]: the space's largest member (every choice at its largest) has ")
        }
        let deep = """
            {"format": "edgenas.space/1", "name": "deep", "family": "vit",
             "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10,
             "patch": [4], "embed": [8], "depth": [2, 5000], "heads": [1], "mlp_ratio": [1]}
            """
        #expect(throws: ArchitectureError(
            path: "depth[1]", reason: "expected at most 1024 blocks or layers in the whole network, got 5000", file: "deep.json")) {
            try SearchSpace(jsonData: Data(deep.utf8), file: "deep.json")
        }
    }
}
