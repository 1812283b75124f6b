extension SearchSpace {
    /// Checks that `architecture` is one this space can produce: same family and
    /// envelope, the fixed fields equal, and every chosen value among the choices.
    ///
    /// - Throws: ``ArchitectureError`` naming the architecture's JSON path that differs,
    ///   such as `stages[1].channels: expected one of 16, 24, got 40`.
    public func checkMembership(_ architecture: Architecture) throws {
        guard architecture.family == family else {
            throw ArchitectureError(
                at: .root.key("family"),
                "expected \"\(family.rawValue)\" (space \(name)), got \"\(architecture.family.rawValue)\"")
        }
        let inputPath = FieldPath.root.key("input")
        try requireFixed(architecture.input.channels, input.channels, at: inputPath.key("channels"))
        try requireFixed(architecture.input.height, input.height, at: inputPath.key("height"))
        try requireFixed(architecture.input.width, input.width, at: inputPath.key("width"))
        try requireFixed(architecture.classes, classes, at: .root.key("classes"))
        switch (body, architecture.body) {
        case (.mbconv(let space), .mbconv(let mbconv)): try space.checkMembership(mbconv)
        case (.vit(let space), .vit(let vit)): try space.checkMembership(vit)
        case (.mamba(let space), .mamba(let mamba)): try space.checkMembership(mamba)
        default: preconditionFailure("checkMembership: families were compared above")
        }
    }

    /// Whether ``checkMembership(_:)`` passes.
    public func contains(_ architecture: Architecture) -> Bool {
        (try? checkMembership(architecture)) != nil
    }
}

private func requireFixed<Value: Equatable>(
    _ value: Value, _ fixed: Value, at path: FieldPath, shown: (Value) -> String = { "\($0)" }
) throws {
    guard value == fixed else {
        throw ArchitectureError(at: path, "expected \(shown(fixed)) as fixed by the space, got \(shown(value))")
    }
}

private func requireChoice<Value: Equatable>(
    _ value: Value, in choices: [Value], at path: FieldPath, shown: (Value) -> String = { "\($0)" }
) throws {
    guard choices.contains(value) else {
        let list = choices.map(shown).joined(separator: ", ")
        throw ArchitectureError(at: path, "expected one of \(list), got \(shown(value))")
    }
}

private func requireDepth(_ count: Int, in choices: [Int], at path: FieldPath) throws {
    guard choices.contains(count) else {
        let list = choices.map(String.init).joined(separator: ", ")
        throw ArchitectureError(at: path, "expected a length of one of \(list), got \(count)")
    }
}

extension MBConvSpace {
    func checkMembership(_ mbconv: MBConvBody) throws {
        try requireFixed(mbconv.activation, activation, at: .root.key("activation")) { "\"\($0.rawValue)\"" }
        let stemPath = FieldPath.root.key("stem")
        try requireFixed(mbconv.stem.channels, stem.channels, at: stemPath.key("channels"))
        try requireFixed(mbconv.stem.kernel, stem.kernel, at: stemPath.key("kernel"))
        try requireFixed(mbconv.stem.stride, stem.stride, at: stemPath.key("stride"))
        let stagesPath = FieldPath.root.key("stages")
        guard mbconv.stages.count == stages.count else {
            throw ArchitectureError(
                at: stagesPath, "expected \(stages.count) stages as fixed by the space, got \(mbconv.stages.count)")
        }
        for (index, (stage, choices)) in zip(mbconv.stages, stages).enumerated() {
            let stagePath = stagesPath.index(index)
            try requireChoice(stage.channels, in: choices.channels, at: stagePath.key("channels"))
            try requireFixed(stage.stride, choices.stride, at: stagePath.key("stride"))
            try requireDepth(stage.blocks.count, in: choices.depth, at: stagePath.key("blocks"))
            for (blockIndex, block) in stage.blocks.enumerated() {
                let blockPath = stagePath.key("blocks").index(blockIndex)
                try requireChoice(block.kernel, in: choices.kernel, at: blockPath.key("kernel"))
                try requireChoice(block.expand, in: choices.expand, at: blockPath.key("expand"))
                try requireChoice(block.se, in: choices.se, at: blockPath.key("se"))
            }
        }
        try requireChoice(mbconv.headChannels, in: headChannels, at: .root.key("head").key("channels"))
    }
}

extension ViTSpace {
    func checkMembership(_ vit: ViTBody) throws {
        try requireChoice(vit.patch, in: patch, at: .root.key("patch"))
        try requireChoice(vit.embed, in: embed, at: .root.key("embed"))
        let layersPath = FieldPath.root.key("layers")
        try requireDepth(vit.layers.count, in: depth, at: layersPath)
        for (index, layer) in vit.layers.enumerated() {
            try requireChoice(layer.heads, in: heads, at: layersPath.index(index).key("heads"))
            try requireChoice(
                layer.mlpRatio, in: mlpRatio, at: layersPath.index(index).key("mlp_ratio"),
                shown: CanonicalNumber.text(for:))
        }
    }
}

extension MambaSpace {
    func checkMembership(_ mamba: MambaBody) throws {
        try requireChoice(mamba.patch, in: patch, at: .root.key("patch"))
        try requireChoice(mamba.embed, in: embed, at: .root.key("embed"))
        let layersPath = FieldPath.root.key("layers")
        try requireDepth(mamba.layers.count, in: depth, at: layersPath)
        for (index, layer) in mamba.layers.enumerated() {
            let layerPath = layersPath.index(index)
            try requireChoice(layer.state, in: state, at: layerPath.key("state"))
            try requireChoice(layer.expand, in: expand, at: layerPath.key("expand"))
            try requireChoice(layer.conv, in: conv, at: layerPath.key("conv"))
        }
    }
}
