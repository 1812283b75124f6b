import EdgeNASCore
import EdgeNASTensor

// Part-by-part forward passes, so that a latency profiler can time one part of a network
// (the stem, one block, the head) in the engine exactly as the whole network runs it.

extension MBConvNetwork {
    /// Stem: images [B, C, H, W] → [B, stem channels, H′, W′].
    public func stemForward(_ images: Tensor) -> Tensor { stem(images) }

    /// The block at `index` in execution order (the order of `MBConvBody.blockLayouts`).
    public func blockForward(_ index: Int, _ x: Tensor) -> Tensor {
        precondition(blocks.indices.contains(index), "blockForward: index \(index) of \(blocks.count) blocks")
        return blocks[index].block(x)
    }

    /// The head convolution, or `x` unchanged when the network has none.
    public func headForward(_ x: Tensor) -> Tensor { head.map { $0(x) } ?? x }

    /// Global average pool and the classifier: [B, C, H, W] → logits [B, classes].
    public func pooledClassifierForward(_ x: Tensor) -> Tensor { classifier(x.globalAveragePooled()) }
}

extension ViTNetwork {
    /// Patch and positional embedding: images [B, C, H, W] → tokens [B, N, D].
    public func embeddingForward(_ images: Tensor) -> Tensor { embedding(images) }

    /// The transformer layer at `index`: tokens [B, N, D] → [B, N, D].
    public func layerForward(_ index: Int, _ x: Tensor) -> Tensor {
        precondition(layers.indices.contains(index), "layerForward: index \(index) of \(layers.count) layers")
        return layers[index](x)
    }

    /// Final LayerNorm, mean over tokens and the classifier: [B, N, D] → logits [B, classes].
    public func tokenClassifierForward(_ x: Tensor) -> Tensor { classifier(finalNorm(x).mean(axes: [1])) }
}

extension MambaNetwork {
    /// Patch and positional embedding: images [B, C, H, W] → tokens [B, N, D].
    public func embeddingForward(_ images: Tensor) -> Tensor { embedding(images) }

    /// Final LayerNorm, mean over tokens and the classifier: [B, N, D] → logits [B, classes].
    public func tokenClassifierForward(_ x: Tensor) -> Tensor { classifier(finalNorm(x).mean(axes: [1])) }

    /// The Mamba layer at `index`: tokens [B, N, D] → [B, N, D].
    public func layerForward(_ index: Int, _ x: Tensor) -> Tensor {
        precondition(layers.indices.contains(index), "layerForward: index \(index) of \(layers.count) layers")
        return layers[index](x)
    }
}
