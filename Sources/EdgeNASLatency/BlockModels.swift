import EdgeNASCore
import EdgeNASModels
import EdgeNASONNX
import EdgeNASTensor

/// Builds one block on its own, as an ONNX model or an engine forward pass.
///
/// The weights come from a small "carrier" architecture whose network contains exactly this
/// block at the input shape the signature names, built by the same `NetworkBuilder` and
/// exported by the same `ONNXGraphBuilder` part methods as whole models, so a block graph
/// is node for node the slice of a whole model's graph.
enum BlockModels {
    /// Name of the block graph's only input.
    static let inputName = "input"
    /// Name of the block graph's only output.
    static let outputName = "output"

    /// A carrier architecture whose network contains `block` as its first part of that kind.
    static func carrier(for block: ProfiledBlock, inputChannels: Int = 1) -> Architecture {
        // Any valid neighbour will do: only the block's own weights are exported.
        let neutralBlock = MBConvBlock(kernel: 1, expand: 1, se: false)
        func mbconv(input: ImageShape, channels: Int, stage: MBConvStage?, head: Int, classes: Int = 10,
                    stem: MBConvStem? = nil, activation: Activation) -> Architecture {
            let stem = stem ?? MBConvStem(channels: channels, kernel: 1, stride: 1)
            let stage = stage ?? MBConvStage(channels: stem.channels, stride: 1, blocks: [neutralBlock])
            return Architecture(input: input, classes: classes,
                                body: .mbconv(MBConvBody(activation: activation, stem: stem, stages: [stage],
                                                         headChannels: head)))
        }
        // Token parts: an image 1 × N with patch 1 gives exactly N tokens.
        func vit(tokens: Int, embed: Int, layer: ViTLayer, classes: Int = 10) -> Architecture {
            Architecture(input: ImageShape(channels: 1, height: 1, width: tokens), classes: classes,
                         body: .vit(ViTBody(patch: 1, embed: embed, layers: [layer])))
        }
        switch block {
        case let .mbconvStem(input, stem, activation):
            return mbconv(input: input, channels: stem.channels, stage: nil, head: 0, stem: stem, activation: activation)
        case let .mbconvBlock(input, outputChannels, kernel, expand, stride, se, activation):
            let stage = MBConvStage(channels: outputChannels, stride: stride,
                                    blocks: [MBConvBlock(kernel: kernel, expand: expand, se: se)])
            return mbconv(input: ImageShape(channels: inputChannels, height: input.height, width: input.width),
                          channels: input.channels, stage: stage, head: 0, activation: activation)
        case let .mbconvHead(input, channels, activation):
            return mbconv(input: ImageShape(channels: inputChannels, height: input.height, width: input.width),
                          channels: input.channels, stage: nil, head: channels, activation: activation)
        case let .pooledClassifier(input, classes):
            return mbconv(input: ImageShape(channels: inputChannels, height: input.height, width: input.width),
                          channels: input.channels, stage: nil, head: 0, classes: classes, activation: .relu)
        case let .vitPatchEmbedding(input, patch, embed):
            return Architecture(input: input, classes: 10,
                                body: .vit(ViTBody(patch: patch, embed: embed, layers: [ViTLayer(heads: 1, mlpRatio: 1)])))
        case let .vitLayer(tokens, embed, heads, mlpHidden):
            return vit(tokens: tokens, embed: embed, layer: ViTLayer(heads: heads, mlpRatio: Double(mlpHidden) / Double(embed)))
        case let .mambaLayer(tokens, embed, layer):
            return Architecture(input: ImageShape(channels: 1, height: 1, width: tokens), classes: 10,
                                body: .mamba(MambaBody(patch: 1, embed: embed, layers: [layer])))
        case let .tokenClassifier(tokens, embed, classes):
            return vit(tokens: tokens, embed: embed, layer: ViTLayer(heads: 1, mlpRatio: 1), classes: classes)
        }
    }

    /// The carrier's engine network in inference mode, with seeded weights.
    static func network(for block: ProfiledBlock, seed: UInt64 = 0) throws -> any FeatureClassifier {
        let network = NetworkBuilder.network(for: carrier(for: block), seed: seed)
        network.setTrainingMode(false)
        return network
    }

    /// The block as a standalone ONNX model: input `input` and output `output` at batch 1.
    ///
    /// - Throws: ``ONNXExportError`` when a weight is missing (a bug in the carrier).
    static func onnxModel(for block: ProfiledBlock, seed: UInt64 = 0) throws -> Onnx_ModelProto {
        let architecture = carrier(for: block)
        let network = try network(for: block, seed: seed)
        var builder = ONNXGraphBuilder(module: network)
        let x = builder.addInput(named: inputName, shape: block.inputShape.map { .size($0) })
        let y: String
        switch (block, architecture.body) {
        case let (.mbconvStem(input, stem, activation), _):
            y = builder.mbconvStem(x, stem: stem, inputChannels: input.channels, activation: activation)
        case let (.mbconvBlock(_, _, _, _, _, _, activation), .mbconv(body)):
            y = builder.mbconvBlock(x, layout: body.blockLayouts(input: architecture.input)[0], activation: activation)
        case let (.mbconvHead(input, channels, activation), _):
            y = builder.mbconvHead(x, inputChannels: input.channels, headChannels: channels, activation: activation)
        case let (.pooledClassifier(input, classes), _):
            y = builder.pooledClassifier(x, features: input.channels, classes: classes)
        case let (.vitPatchEmbedding(input, patch, embed), _):
            y = builder.vitPatchEmbedding(x, input: input, patch: patch, embed: embed)
        case let (.vitLayer(tokens, embed, _, _), .vit(body)):
            y = builder.vitLayer(x, layer: body.layers[0], embed: embed, tokens: tokens, prefix: "layers.0")
        case let (.mambaLayer(tokens, embed, layer), .mamba(body)):
            y = builder.mambaLayer(x, layer: layer, embed: embed, deltaRank: body.deltaRank, tokens: tokens, prefix: "layers.0")
        case let (.tokenClassifier(_, embed, classes), _):
            y = builder.tokenClassifier(x, embed: embed, classes: classes)
        default:
            preconditionFailure("BlockModels: carrier of \(block.key) has family \(architecture.family)")
        }
        builder.addOutput(y, named: outputName, shape: block.outputShape.map { .size($0) })
        return try builder.makeModel(graphName: block.key, documentation: "EdgeNAS latency block \(block.key)")
    }

    /// The engine's inference forward of the block alone, on a fixed input at batch 1.
    static func nativeForward(for block: ProfiledBlock, seed: UInt64 = 0) throws -> () -> Tensor {
        let network = try network(for: block, seed: seed)
        let input = Tensor(shape: block.inputShape, storage: sampleInput(count: block.inputShape.reduce(1, *)))
        switch (block, network) {
        case let (.mbconvStem, network as MBConvNetwork):
            return { withoutGradients { network.stemForward(input) } }
        case let (.mbconvBlock, network as MBConvNetwork):
            return { withoutGradients { network.blockForward(0, input) } }
        case let (.mbconvHead, network as MBConvNetwork):
            return { withoutGradients { network.headForward(input) } }
        case let (.pooledClassifier, network as MBConvNetwork):
            return { withoutGradients { network.pooledClassifierForward(input) } }
        case let (.vitPatchEmbedding, network as ViTNetwork):
            return { withoutGradients { network.embeddingForward(input) } }
        case let (.vitLayer, network as ViTNetwork):
            return { withoutGradients { network.layerForward(0, input) } }
        case let (.mambaLayer, network as MambaNetwork):
            return { withoutGradients { network.layerForward(0, input) } }
        case let (.tokenClassifier, network as ViTNetwork):
            return { withoutGradients { network.tokenClassifierForward(input) } }
        default:
            preconditionFailure("BlockModels: carrier network of \(block.key) is \(type(of: network))")
        }
    }

    /// Deterministic inputs in [−1, 1): timing must not depend on zeros or denormals.
    static func sampleInput(count: Int) -> [Float] {
        var generator = SeededGenerator(seed: 7)
        return (0..<count).map { _ in Float.random(in: -1..<1, using: &generator) }
    }
}
