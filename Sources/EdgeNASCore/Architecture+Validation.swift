extension Architecture {
    /// Checks every value against the format's rules: positive sizes, kernel ∈ {1, 3, 5, 7},
    /// stride ∈ {1, 2}, expand ∈ 1…8, non-empty stage, block and layer lists, patches that
    /// divide the image, heads that divide the embedding, MLP widths of at least 1, and
    /// MBConv feature maps that never shrink below 1×1; then the ``ArchitectureLimits``:
    /// every size field, every depth, Params and activations per sample.
    ///
    /// - Throws: ``ArchitectureError`` naming the JSON path of the first bad field (for a
    ///   network over a limit, of the part that holds the most of it).
    public func validate() throws {
        try FieldRules.input(input, at: .root.key("input"))
        try FieldRules.size(classes, at: .root.key("classes"))
        switch body {
        case .mbconv(let mbconv): try mbconv.validate(input: input)
        case .vit(let vit): try vit.validate(input: input)
        case .mamba(let mamba): try mamba.validate(input: input)
        }
        try checkLimits()
    }

    /// Whether ``validate()`` passes.
    public var isValid: Bool {
        (try? validate()) != nil
    }
}

extension MBConvBody {
    func validate(input: ImageShape) throws {
        try FieldRules.stem(stem, at: .root.key("stem"))
        let stagesPath = FieldPath.root.key("stages")
        try FieldRules.nonEmpty(stages.count, at: stagesPath)
        var blockCount = 0
        for (stageIndex, stage) in stages.enumerated() {
            let stagePath = stagesPath.index(stageIndex)
            try FieldRules.size(stage.channels, at: stagePath.key("channels"))
            try FieldRules.stride(stage.stride, at: stagePath.key("stride"))
            try FieldRules.nonEmpty(stage.blocks.count, at: stagePath.key("blocks"))
            blockCount += stage.blocks.count
            try FieldRules.depth(blockCount, at: stagePath.key("blocks"))
            for (blockIndex, block) in stage.blocks.enumerated() {
                let blockPath = stagePath.key("blocks").index(blockIndex)
                try FieldRules.kernel(block.kernel, at: blockPath.key("kernel"))
                try FieldRules.mbconvExpand(block.expand, at: blockPath.key("expand"))
            }
        }
        try FieldRules.sizeOrZero(headChannels, at: .root.key("head").key("channels"))

        // With odd kernels and symmetric padding a side never drops below 1; this guards
        // the invariant builders rely on should the allowed kernels ever change.
        let stemShape = stemOutputShape(input: input)
        guard stemShape.height >= 1, stemShape.width >= 1 else {
            throw ArchitectureError(at: .root.key("stem"), "feature map shrinks to \(stemShape)")
        }
        for layout in blockLayouts(input: input) where layout.outputShape.height < 1 || layout.outputShape.width < 1 {
            throw ArchitectureError(
                at: stagesPath.index(layout.stageIndex).key("blocks").index(layout.blockIndex),
                "feature map shrinks to \(layout.outputShape)")
        }
    }
}

extension ViTBody {
    func validate(input: ImageShape) throws {
        try FieldRules.patch(patch, input: input, at: .root.key("patch"))
        try FieldRules.size(embed, at: .root.key("embed"))
        let layersPath = FieldPath.root.key("layers")
        try FieldRules.nonEmpty(layers.count, at: layersPath)
        try FieldRules.depth(layers.count, at: layersPath)
        for (index, layer) in layers.enumerated() {
            try FieldRules.heads(layer.heads, embed: embed, at: layersPath.index(index).key("heads"))
            try FieldRules.mlpRatio(layer.mlpRatio, embed: embed, at: layersPath.index(index).key("mlp_ratio"))
        }
    }
}

extension MambaBody {
    func validate(input: ImageShape) throws {
        try FieldRules.patch(patch, input: input, at: .root.key("patch"))
        try FieldRules.size(embed, at: .root.key("embed"))
        let layersPath = FieldPath.root.key("layers")
        try FieldRules.nonEmpty(layers.count, at: layersPath)
        try FieldRules.depth(layers.count, at: layersPath)
        for (index, layer) in layers.enumerated() {
            let layerPath = layersPath.index(index)
            try FieldRules.size(layer.state, at: layerPath.key("state"))
            try FieldRules.size(layer.expand, at: layerPath.key("expand"))
            try FieldRules.size(layer.conv, at: layerPath.key("conv"))
        }
    }
}
