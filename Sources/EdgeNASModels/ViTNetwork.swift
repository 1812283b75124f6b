import EdgeNASCore
import EdgeNASTensor

/// Pre-norm transformer layer: x + MHSA(LN(x)), then x + MLP(LN(x)).
final class TransformerLayer: Module {
    let attentionNorm: LayerNorm
    let qkv: Linear
    let projection: Linear
    let mlpNorm: LayerNorm
    let mlpIn: Linear
    let mlpOut: Linear
    let heads: Int

    init(embed: Int, heads: Int, mlpHidden: Int, using generator: inout some RandomNumberGenerator) {
        attentionNorm = LayerNorm(features: embed)
        qkv = Linear(inFeatures: embed, outFeatures: 3 * embed, using: &generator)
        projection = Linear(inFeatures: embed, outFeatures: embed, using: &generator)
        mlpNorm = LayerNorm(features: embed)
        mlpIn = Linear(inFeatures: embed, outFeatures: mlpHidden, using: &generator)
        mlpOut = Linear(inFeatures: mlpHidden, outFeatures: embed, using: &generator)
        self.heads = heads
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] {
        [("ln1", attentionNorm), ("attn.qkv", qkv), ("attn.proj", projection),
         ("ln2", mlpNorm), ("mlp.fc1", mlpIn), ("mlp.fc2", mlpOut)]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let attended = projection(multiHeadSelfAttention(qkv: qkv(attentionNorm(x)), heads: heads))
        let y = x + attended
        return y + mlpOut(gelu(mlpIn(mlpNorm(y))))
    }
}

/// Patch embedding shared by the token families: Conv(k = stride = patch, bias) → tokens
/// [B, N, D] in row-major patch order, plus a learned positional embedding [N, D].
final class PatchEmbedding: Module {
    let convolution: Conv2d
    let position: Tensor

    init(input: ImageShape, patch: Int, embed: Int, using generator: inout some RandomNumberGenerator) {
        convolution = Conv2d(inChannels: input.channels, outChannels: embed, kernel: patch, stride: patch, padding: 0,
                             bias: true, using: &generator)
        let tokens = (input.height / patch) * (input.width / patch)
        position = Tensor(shape: [tokens, embed],
                          storage: Initializer.truncatedNormal([tokens, embed], standardDeviation: 0.02, using: &generator),
                          requiresGradient: true)
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [("pos", position)] }
    var children: [(name: String, module: any Module)] { [("conv", convolution)] }

    func callAsFunction(_ images: Tensor) -> Tensor {
        let map = convolution(images)  // [B, D, H/p, W/p]
        let tokens = map.reshaped([map.shape[0], map.shape[1], map.shape[2] * map.shape[3]]).transposed(1, 2)
        return tokens + position
    }
}

/// Plain pre-norm Vision Transformer of the `vit` family; features are the token mean
/// after the final LayerNorm.
public final class ViTNetwork: FeatureClassifier {
    let embedding: PatchEmbedding
    let layers: [TransformerLayer]
    let finalNorm: LayerNorm
    public let classifier: Linear
    public let featureCount: Int

    init(_ body: ViTBody, input: ImageShape, classes: Int, using generator: inout some RandomNumberGenerator) {
        embedding = PatchEmbedding(input: input, patch: body.patch, embed: body.embed, using: &generator)
        layers = body.layers.map {
            TransformerLayer(embed: body.embed, heads: $0.heads, mlpHidden: $0.mlpHidden(embed: body.embed), using: &generator)
        }
        finalNorm = LayerNorm(features: body.embed)
        featureCount = body.embed
        classifier = Linear(inFeatures: body.embed, outFeatures: classes, using: &generator)
    }

    public var ownParameters: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] {
        [("embed", embedding as any Module)] + layers.enumerated().map { ("layers.\($0.offset)", $0.element as any Module) }
            + [("ln", finalNorm), ("classifier", classifier)]
    }

    public func features(_ images: Tensor) -> Tensor {
        var x = embedding(images)
        for layer in layers { x = layer(x) }
        return finalNorm(x).mean(axes: [1])
    }
}
