extension SearchSpace {
    /// Draws one architecture, picking every choice uniformly and independently in the
    /// format's order:
    ///
    /// - mbconv: for each stage, `channels`, then the depth, then for each block its
    ///   `kernel`, `expand` and `se`; then the head channels.
    /// - vit: `patch`, `embed`, the depth, then for each layer `heads` and `mlp_ratio`.
    /// - mamba: `patch`, `embed`, the depth, then for each layer `state`, `expand`, `conv`.
    ///
    /// Each pick consumes the generator through ``RandomNumberGenerator/uniformIndex(below:)``
    /// only, so with a ``SeededGenerator`` a seed gives the same architectures on every
    /// platform. The result is valid and ``contains(_:)`` it, because a validated space
    /// only holds choices that combine into valid architectures.
    public func sample(using generator: inout some RandomNumberGenerator) -> Architecture {
        let body: ArchitectureBody
        switch self.body {
        case .mbconv(let space):
            var stages: [MBConvStage] = []
            for stage in space.stages {
                let channels = generator.uniformElement(of: stage.channels)
                let depth = generator.uniformElement(of: stage.depth)
                var blocks: [MBConvBlock] = []
                for _ in 0..<depth {
                    blocks.append(stage.sampleBlock(using: &generator))
                }
                stages.append(MBConvStage(channels: channels, stride: stage.stride, blocks: blocks))
            }
            let headChannels = generator.uniformElement(of: space.headChannels)
            body = .mbconv(MBConvBody(
                activation: space.activation, stem: space.stem, stages: stages, headChannels: headChannels))
        case .vit(let space):
            let patch = generator.uniformElement(of: space.patch)
            let embed = generator.uniformElement(of: space.embed)
            let depth = generator.uniformElement(of: space.depth)
            var layers: [ViTLayer] = []
            for _ in 0..<depth {
                layers.append(space.sampleLayer(using: &generator))
            }
            body = .vit(ViTBody(patch: patch, embed: embed, layers: layers))
        case .mamba(let space):
            let patch = generator.uniformElement(of: space.patch)
            let embed = generator.uniformElement(of: space.embed)
            let depth = generator.uniformElement(of: space.depth)
            var layers: [MambaLayer] = []
            for _ in 0..<depth {
                layers.append(space.sampleLayer(using: &generator))
            }
            body = .mamba(MambaBody(patch: patch, embed: embed, layers: layers))
        }
        return Architecture(input: input, classes: classes, body: body)
    }
}

extension MBConvStageSpace {
    /// One block: `kernel`, `expand`, `se`, in that order.
    func sampleBlock(using generator: inout some RandomNumberGenerator) -> MBConvBlock {
        let kernel = generator.uniformElement(of: self.kernel)
        let expand = generator.uniformElement(of: self.expand)
        let se = generator.uniformElement(of: self.se)
        return MBConvBlock(kernel: kernel, expand: expand, se: se)
    }
}

extension ViTSpace {
    /// One layer: `heads`, then `mlp_ratio`.
    func sampleLayer(using generator: inout some RandomNumberGenerator) -> ViTLayer {
        let heads = generator.uniformElement(of: self.heads)
        let mlpRatio = generator.uniformElement(of: self.mlpRatio)
        return ViTLayer(heads: heads, mlpRatio: mlpRatio)
    }
}

extension MambaSpace {
    /// One layer: `state`, `expand`, then `conv`.
    func sampleLayer(using generator: inout some RandomNumberGenerator) -> MambaLayer {
        let state = generator.uniformElement(of: self.state)
        let expand = generator.uniformElement(of: self.expand)
        let conv = generator.uniformElement(of: self.conv)
        return MambaLayer(state: state, expand: expand, conv: conv)
    }
}
