import EdgeNASCore
import EdgeNASTensor
import Foundation

/// Depthwise causal convolution over tokens [B, N, E]: kernel k, bias, left padding k − 1.
/// Initialised like PyTorch's Conv1d(E, E, k, groups=E): fan-in k.
final class CausalTokenConvolution: Module {
    let weight: Tensor
    let bias: Tensor

    init(channels: Int, kernel: Int, using generator: inout some RandomNumberGenerator) {
        weight = Tensor(shape: [channels, kernel],
                        storage: Initializer.fanInUniform([channels, kernel], fanIn: kernel, using: &generator),
                        requiresGradient: true)
        bias = Tensor(shape: [channels], storage: Initializer.fanInUniform([channels], fanIn: kernel, using: &generator),
                      requiresGradient: true)
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    func callAsFunction(_ x: Tensor) -> Tensor { causalDepthwiseConv1d(x, weight: weight, bias: bias) }
}

/// One scan direction of a Mamba mixer: conv → SiLU → selective scan, with
/// Δ = softplus(Linear(e → r) then Linear(r → e, bias)), B and C = Linear(e → state),
/// A = −exp(A_log) with A_log initialised to log(1 … state) per channel, and D = 1.
final class ScanDirection: Module {
    let convolution: CausalTokenConvolution
    let deltaDown: Linear
    let deltaUp: Linear
    let inputProjection: Linear
    let outputProjection: Linear
    let aLog: Tensor
    let skip: Tensor

    init(channels: Int, layer: MambaLayer, deltaRank: Int, using generator: inout some RandomNumberGenerator) {
        convolution = CausalTokenConvolution(channels: channels, kernel: layer.conv, using: &generator)
        deltaDown = Linear(inFeatures: channels, outFeatures: deltaRank, bias: false, using: &generator)
        deltaUp = Linear(inFeatures: deltaRank, outFeatures: channels, using: &generator)
        inputProjection = Linear(inFeatures: channels, outFeatures: layer.state, bias: false, using: &generator)
        outputProjection = Linear(inFeatures: channels, outFeatures: layer.state, bias: false, using: &generator)
        let logs = (1...layer.state).map { Foundation.log(Float($0)) }
        aLog = Tensor(shape: [channels, layer.state], storage: Array((0..<channels).map { _ in logs }.joined()),
                      requiresGradient: true)
        skip = Tensor.full([channels], 1, requiresGradient: true)
    }

    // Names follow the PyTorch oracle's module, so that its weights load by name.
    var ownParameters: [(name: String, tensor: Tensor)] { [("A_log", aLog), ("D", skip)] }
    var children: [(name: String, module: any Module)] {
        [("conv", convolution), ("dt1", deltaDown), ("dt2", deltaUp), ("B", inputProjection), ("C", outputProjection)]
    }

    /// u [B, N, e] → y [B, N, e].
    func callAsFunction(_ u: Tensor) -> Tensor {
        let v = silu(convolution(u))
        let delta = softplus(deltaUp(deltaDown(v)))
        return selectiveScan(v, delta: delta, b: inputProjection(v), c: outputProjection(v), aLog: aLog, d: skip)
    }
}

/// Vim-style bidirectional Mamba layer: x + Linear(e → d)(y ⊙ silu(z)), where u and z are
/// the two halves of Linear(d → 2e)(LN(x)) and y sums a forward scan of u and the flipped
/// back scan of the reversed u, each direction with its own parameters.
final class MambaMixerLayer: Module {
    let norm: LayerNorm
    let inProjection: Linear
    let forward: ScanDirection
    let backward: ScanDirection
    let outProjection: Linear
    let inner: Int

    init(embed: Int, layer: MambaLayer, deltaRank: Int, using generator: inout some RandomNumberGenerator) {
        inner = layer.innerChannels(embed: embed)
        norm = LayerNorm(features: embed)
        inProjection = Linear(inFeatures: embed, outFeatures: 2 * inner, bias: false, using: &generator)
        forward = ScanDirection(channels: inner, layer: layer, deltaRank: deltaRank, using: &generator)
        backward = ScanDirection(channels: inner, layer: layer, deltaRank: deltaRank, using: &generator)
        outProjection = Linear(inFeatures: inner, outFeatures: embed, bias: false, using: &generator)
    }

    var ownParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] {
        [("ln", norm), ("inp", inProjection), ("fwd", forward), ("bwd", backward), ("out", outProjection)]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let projected = inProjection(norm(x))
        let u = projected.sliced(axis: 2, 0..<inner)
        let z = projected.sliced(axis: 2, inner..<(2 * inner))
        let y = forward(u) + backward(u.flipped(axis: 1)).flipped(axis: 1)
        return x + outProjection(y * silu(z))
    }
}

/// Bidirectional selective state-space network of the `mamba` family; features are the
/// token mean after the final LayerNorm, as in `vit`.
public final class MambaNetwork: FeatureClassifier {
    let embedding: PatchEmbedding
    let layers: [MambaMixerLayer]
    let finalNorm: LayerNorm
    public let classifier: Linear
    public let featureCount: Int

    init(_ body: MambaBody, input: ImageShape, classes: Int, using generator: inout some RandomNumberGenerator) {
        embedding = PatchEmbedding(input: input, patch: body.patch, embed: body.embed, using: &generator)
        layers = body.layers.map {
            MambaMixerLayer(embed: body.embed, layer: $0, deltaRank: body.deltaRank, using: &generator)
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
