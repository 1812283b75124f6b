extension SearchSpace {
    /// Returns a copy of `architecture` with exactly one choice changed to another value
    /// the space allows.
    ///
    /// The choice is drawn uniformly among those that have an alternative: an MBConv
    /// stage's channels or depth, a block's kernel, expand or se, the head channels; a
    /// ViT or Mamba network's patch, embed or depth, or one field of one layer. A value
    /// choice moves to another value drawn uniformly. A depth moves to a neighbouring
    /// allowed depth (the next smaller or larger in sorted order), removing blocks or
    /// layers from the end or appending newly sampled ones, so a mutation is a small step.
    ///
    /// The result is valid, inside the space, and differs from `architecture` unless the
    /// space has a single architecture, in which case `architecture` is returned.
    ///
    /// - Precondition: `contains(architecture)`; check with ``checkMembership(_:)`` first
    ///   for architectures read from files.
    public func mutate(_ architecture: Architecture, using generator: inout some RandomNumberGenerator) -> Architecture {
        do {
            try checkMembership(architecture)
        } catch {
            preconditionFailure("mutate: the architecture is not in space \(name): \(error)")
        }
        var mutated = architecture
        switch (body, architecture.body) {
        case (.mbconv(let space), .mbconv(let mbconv)):
            mutated.body = .mbconv(space.mutate(mbconv, using: &generator))
        case (.vit(let space), .vit(let vit)):
            mutated.body = .vit(space.mutate(vit, using: &generator))
        case (.mamba(let space), .mamba(let mamba)):
            mutated.body = .mamba(space.mutate(mamba, using: &generator))
        default:
            preconditionFailure("mutate: membership checks the family")
        }
        return mutated
    }
}

extension RandomNumberGenerator {
    /// A choice other than `current`, uniformly; `choices` must hold at least two values.
    fileprivate mutating func alternative<Value: Equatable>(to current: Value, in choices: [Value]) -> Value {
        uniformElement(of: choices.filter { $0 != current })
    }

    /// The next smaller or next larger of the allowed depths, uniformly among those that exist.
    fileprivate mutating func neighboringDepth(of current: Int, in choices: [Int]) -> Int {
        let sorted = choices.sorted()
        guard let position = sorted.firstIndex(of: current) else {
            preconditionFailure("neighboringDepth: depth \(current) is not among \(sorted)")
        }
        let neighbors = [position - 1, position + 1].filter(sorted.indices.contains)
        return sorted[uniformElement(of: neighbors)]
    }
}

extension MBConvSpace {
    private enum Site {
        case channels(stage: Int)
        case depth(stage: Int)
        case kernel(stage: Int, block: Int)
        case expand(stage: Int, block: Int)
        case se(stage: Int, block: Int)
        case headChannels
    }

    func mutate(_ mbconv: MBConvBody, using generator: inout some RandomNumberGenerator) -> MBConvBody {
        var sites: [Site] = []
        for (stageIndex, (stage, choices)) in zip(mbconv.stages, stages).enumerated() {
            if choices.channels.count > 1 { sites.append(.channels(stage: stageIndex)) }
            if choices.depth.count > 1 { sites.append(.depth(stage: stageIndex)) }
            for blockIndex in stage.blocks.indices {
                if choices.kernel.count > 1 { sites.append(.kernel(stage: stageIndex, block: blockIndex)) }
                if choices.expand.count > 1 { sites.append(.expand(stage: stageIndex, block: blockIndex)) }
                if choices.se.count > 1 { sites.append(.se(stage: stageIndex, block: blockIndex)) }
            }
        }
        if headChannels.count > 1 { sites.append(.headChannels) }
        guard !sites.isEmpty else { return mbconv }

        var result = mbconv
        switch generator.uniformElement(of: sites) {
        case .channels(let stage):
            result.stages[stage].channels = generator.alternative(
                to: mbconv.stages[stage].channels, in: stages[stage].channels)
        case .depth(let stage):
            let depth = generator.neighboringDepth(of: mbconv.stages[stage].blocks.count, in: stages[stage].depth)
            result.stages[stage].blocks = Array(result.stages[stage].blocks.prefix(depth))
            while result.stages[stage].blocks.count < depth {
                result.stages[stage].blocks.append(stages[stage].sampleBlock(using: &generator))
            }
        case .kernel(let stage, let block):
            result.stages[stage].blocks[block].kernel = generator.alternative(
                to: mbconv.stages[stage].blocks[block].kernel, in: stages[stage].kernel)
        case .expand(let stage, let block):
            result.stages[stage].blocks[block].expand = generator.alternative(
                to: mbconv.stages[stage].blocks[block].expand, in: stages[stage].expand)
        case .se(let stage, let block):
            result.stages[stage].blocks[block].se = generator.alternative(
                to: mbconv.stages[stage].blocks[block].se, in: stages[stage].se)
        case .headChannels:
            result.headChannels = generator.alternative(to: mbconv.headChannels, in: headChannels)
        }
        return result
    }
}

extension ViTSpace {
    private enum Site {
        case patch, embed, depth
        case heads(layer: Int)
        case mlpRatio(layer: Int)
    }

    func mutate(_ vit: ViTBody, using generator: inout some RandomNumberGenerator) -> ViTBody {
        var sites: [Site] = []
        if patch.count > 1 { sites.append(.patch) }
        if embed.count > 1 { sites.append(.embed) }
        if depth.count > 1 { sites.append(.depth) }
        for layer in vit.layers.indices {
            if heads.count > 1 { sites.append(.heads(layer: layer)) }
            if mlpRatio.count > 1 { sites.append(.mlpRatio(layer: layer)) }
        }
        guard !sites.isEmpty else { return vit }

        var result = vit
        switch generator.uniformElement(of: sites) {
        case .patch:
            result.patch = generator.alternative(to: vit.patch, in: patch)
        case .embed:
            result.embed = generator.alternative(to: vit.embed, in: embed)
        case .depth:
            let newDepth = generator.neighboringDepth(of: vit.layers.count, in: depth)
            result.layers = Array(vit.layers.prefix(newDepth))
            while result.layers.count < newDepth {
                result.layers.append(sampleLayer(using: &generator))
            }
        case .heads(let layer):
            result.layers[layer].heads = generator.alternative(to: vit.layers[layer].heads, in: heads)
        case .mlpRatio(let layer):
            result.layers[layer].mlpRatio = generator.alternative(to: vit.layers[layer].mlpRatio, in: mlpRatio)
        }
        return result
    }
}

extension MambaSpace {
    private enum Site {
        case patch, embed, depth
        case state(layer: Int)
        case expand(layer: Int)
        case conv(layer: Int)
    }

    func mutate(_ mamba: MambaBody, using generator: inout some RandomNumberGenerator) -> MambaBody {
        var sites: [Site] = []
        if patch.count > 1 { sites.append(.patch) }
        if embed.count > 1 { sites.append(.embed) }
        if depth.count > 1 { sites.append(.depth) }
        for layer in mamba.layers.indices {
            if state.count > 1 { sites.append(.state(layer: layer)) }
            if expand.count > 1 { sites.append(.expand(layer: layer)) }
            if conv.count > 1 { sites.append(.conv(layer: layer)) }
        }
        guard !sites.isEmpty else { return mamba }

        var result = mamba
        switch generator.uniformElement(of: sites) {
        case .patch:
            result.patch = generator.alternative(to: mamba.patch, in: patch)
        case .embed:
            result.embed = generator.alternative(to: mamba.embed, in: embed)
        case .depth:
            let newDepth = generator.neighboringDepth(of: mamba.layers.count, in: depth)
            result.layers = Array(mamba.layers.prefix(newDepth))
            while result.layers.count < newDepth {
                result.layers.append(sampleLayer(using: &generator))
            }
        case .state(let layer):
            result.layers[layer].state = generator.alternative(to: mamba.layers[layer].state, in: state)
        case .expand(let layer):
            result.layers[layer].expand = generator.alternative(to: mamba.layers[layer].expand, in: expand)
        case .conv(let layer):
            result.layers[layer].conv = generator.alternative(to: mamba.layers[layer].conv, in: conv)
        }
        return result
    }
}
