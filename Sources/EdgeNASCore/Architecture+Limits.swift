/// The largest networks EdgeNAS accepts, checked when an architecture or a space is
/// decoded, before anything is built, trained, exported or profiled.
///
/// They keep every count far from `Int`'s range and every buffer within a machine's
/// memory, and they still admit ViT-B/16 and MobileNetV2 at 224×224:
///
/// | quantity | limit |
/// |---|---|
/// | any size field: channels, image sides, classes, embed, heads, MLP width, state, expand, conv, patch | 65,536 |
/// | blocks of all MBConv stages together, layers of a ViT or Mamba body | 1,024 |
/// | Params | 100,000,000 (400 MB of float32 weights) |
/// | activations per sample | 50,000,000 scalars (200 MB of float32 memory per sample) |
///
/// Activations are the scalars of the feature maps one sample produces: each
/// convolution's or linear layer's output counted once (its norm and activation function
/// produce maps of the same size), ViT attention maps, the SSM scan's hidden states.
/// Training memory grows with the batch: about batch × 4 bytes × activations, plus
/// 16 bytes per parameter for weights, gradients and AdamW's two moments.
public enum ArchitectureLimits {
    /// Largest value of any size field.
    public static let maxSize = 65_536
    /// Most blocks (all MBConv stages together) or layers (ViT, Mamba) of one network.
    public static let maxDepth = 1_024
    /// Most trainable parameters of one architecture.
    public static let maxParams = 100_000_000
    /// Most activation scalars of one sample.
    public static let maxActivationsPerSample = 50_000_000
    /// Bytes of one activation scalar (float32).
    public static let bytesPerScalar = 4
    /// The memory the activations of one sample may take: 200 MB.
    public static var maxActivationBytesPerSample: Int { maxActivationsPerSample * bytesPerScalar }
}

extension Architecture {
    /// Activation scalars one sample produces (see ``ArchitectureLimits``), saturating at
    /// `Int.max`.
    public var activationsPerSample: Int {
        var total = 0
        forEachPart { _, _, activations in total = Saturating.sum(total, activations) }
        return total
    }

    /// Refuses a network above ``ArchitectureLimits/maxParams`` or
    /// ``ArchitectureLimits/maxActivationsPerSample``, naming the part that holds the most.
    ///
    /// - Throws: ``ArchitectureError`` at the path of the largest part.
    func checkLimits() throws {
        if let violation = limitViolation(subject: "the architecture") {
            throw ArchitectureError(at: violation.part.path, violation.reason)
        }
    }

    /// The first limit this network breaks: the part that holds the most of it, and why.
    func limitViolation(subject: String) -> (part: ArchitecturePart, reason: String)? {
        var params = 0, activations = 0
        var largestParams: (part: ArchitecturePart, count: Int) = (.classifier, -1)
        var largestActivations: (part: ArchitecturePart, count: Int) = (.classifier, -1)
        forEachPart { part, cost, partActivations in
            params = Saturating.sum(params, cost.params)
            activations = Saturating.sum(activations, partActivations)
            if cost.params > largestParams.count { largestParams = (part, cost.params) }
            if partActivations > largestActivations.count { largestActivations = (part, partActivations) }
        }
        if params > ArchitectureLimits.maxParams {
            return (largestParams.part,
                    "\(subject) has \(countText(params)) Params, more than the \(ArchitectureLimits.maxParams) "
                        + "EdgeNAS accepts (this part holds \(countText(largestParams.count))); use fewer or narrower layers")
        }
        if activations > ArchitectureLimits.maxActivationsPerSample {
            return (largestActivations.part,
                    "\(subject) produces \(countText(activations)) activations per sample, more than the "
                        + "\(ArchitectureLimits.maxActivationsPerSample) (200 MB) EdgeNAS accepts (this part produces "
                        + "\(countText(largestActivations.count))); use a smaller input, fewer channels or larger strides")
        }
        return nil
    }
}

/// A count for an error message; a saturated one reads as what it is.
private func countText(_ count: Int) -> String {
    count == Int.max ? "more than \(Int.max)" : String(count)
}

extension SearchSpace {
    /// The members whose sizes bound every other member's: each choice at its largest
    /// (deepest, widest, largest kernel and expansion, squeeze-excite on), once per patch
    /// choice for ViT and Mamba (a smaller patch means more tokens but a smaller embedding
    /// kernel, so no single patch is largest in every count).
    func largestMembers() -> [Architecture] {
        switch body {
        case .mbconv(let space):
            let stages = space.stages.map { stage in
                MBConvStage(
                    channels: stage.channels.max()!, stride: stage.stride,
                    blocks: Array(repeating: MBConvBlock(kernel: stage.kernel.max()!, expand: stage.expand.max()!,
                                                         se: stage.se.contains(true)),
                                  count: stage.depth.max()!))
            }
            return [Architecture(input: input, classes: classes, body: .mbconv(MBConvBody(
                activation: space.activation, stem: space.stem, stages: stages, headChannels: space.headChannels.max()!)))]
        case .vit(let space):
            let layers = Array(repeating: ViTLayer(heads: space.heads.max()!, mlpRatio: space.mlpRatio.max()!),
                               count: space.depth.max()!)
            return space.patch.map { patch in
                Architecture(input: input, classes: classes, body: .vit(ViTBody(patch: patch, embed: space.embed.max()!, layers: layers)))
            }
        case .mamba(let space):
            let layers = Array(repeating: MambaLayer(state: space.state.max()!, expand: space.expand.max()!, conv: space.conv.max()!),
                               count: space.depth.max()!)
            return space.patch.map { patch in
                Architecture(input: input, classes: classes,
                             body: .mamba(MambaBody(patch: patch, embed: space.embed.max()!, layers: layers)))
            }
        }
    }

    /// Refuses a space whose largest member is over the ``ArchitectureLimits``, at the path
    /// of the choices the largest part comes from.
    func checkLimits() throws {
        for member in largestMembers() {
            guard let violation = member.limitViolation(subject: "the space's largest member (every choice at its largest)")
            else { continue }
            let path: FieldPath
            switch violation.part {
            case .stem: path = .root.key("stem")
            case let .block(stage, _): path = .root.key("stages").index(stage)
            case .head: path = .root.key("head").key("channels")
            case .patchEmbedding: path = .root.key("patch")
            case .layer: path = .root.key("embed")
            case .classifier: path = .root.key("classes")
            }
            throw ArchitectureError(at: path, violation.reason)
        }
    }
}
