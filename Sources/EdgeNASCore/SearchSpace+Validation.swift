extension SearchSpace {
    /// Checks the space: a non-empty name, positive envelope sizes, non-empty lists of
    /// distinct choices that each obey the architecture rules, and every combination of
    /// choices valid (patches divide the image, heads divide every embed, MLP ratios give
    /// at least one hidden unit for every embed).
    ///
    /// - Throws: ``ArchitectureError`` naming the JSON path of the first bad choice.
    public func validate() throws {
        guard !name.isEmpty else { throw ArchitectureError(at: .root.key("name"), "expected a non-empty string") }
        try FieldRules.input(input, at: .root.key("input"))
        try FieldRules.size(classes, at: .root.key("classes"))
        switch body {
        case .mbconv(let mbconv): try mbconv.validate()
        case .vit(let vit): try vit.validate(input: input)
        case .mamba(let mamba): try mamba.validate(input: input)
        }
        // Every member is at most as large as the largest one in every count.
        try checkLimits()
    }
}

/// Checks that `choices` is non-empty and free of repeats, then each choice with `rule`.
private func checkChoices<Choice: Hashable>(
    _ choices: [Choice], at path: FieldPath, shown: (Choice) -> String = { "\($0)" },
    rule: (Choice, FieldPath) throws -> Void = { _, _ in }
) throws {
    try FieldRules.nonEmpty(choices.count, at: path)
    var seen = Set<Choice>()
    for (index, choice) in choices.enumerated() {
        guard seen.insert(choice).inserted else {
            throw ArchitectureError(at: path.index(index), "duplicate choice \(shown(choice))")
        }
        try rule(choice, path.index(index))
    }
}

extension MBConvSpace {
    func validate() throws {
        try FieldRules.stem(stem, at: .root.key("stem"))
        let stagesPath = FieldPath.root.key("stages")
        try FieldRules.nonEmpty(stages.count, at: stagesPath)
        var deepestBlockCount = 0
        for (index, stage) in stages.enumerated() {
            let stagePath = stagesPath.index(index)
            try checkChoices(stage.channels, at: stagePath.key("channels"), rule: FieldRules.size)
            try FieldRules.stride(stage.stride, at: stagePath.key("stride"))
            try checkChoices(stage.depth, at: stagePath.key("depth"), rule: FieldRules.depth)
            deepestBlockCount += stage.depth.max()!
            try FieldRules.depth(deepestBlockCount, at: stagePath.key("depth"))
            try checkChoices(stage.kernel, at: stagePath.key("kernel"), rule: FieldRules.kernel)
            try checkChoices(stage.expand, at: stagePath.key("expand"), rule: FieldRules.mbconvExpand)
            try checkChoices(stage.se, at: stagePath.key("se"))
        }
        try checkChoices(headChannels, at: .root.key("head").key("channels"), rule: FieldRules.sizeOrZero)
    }
}

extension ViTSpace {
    func validate(input: ImageShape) throws {
        try checkChoices(patch, at: .root.key("patch"), rule: { try FieldRules.patch($0, input: input, at: $1) })
        try checkChoices(embed, at: .root.key("embed"), rule: FieldRules.size)
        try checkChoices(depth, at: .root.key("depth"), rule: FieldRules.depth)
        // Choices are picked independently, so each must suit every embed choice.
        try checkChoices(heads, at: .root.key("heads"), rule: { heads, path in
            for width in embed { try FieldRules.heads(heads, embed: width, at: path) }
        })
        try checkChoices(mlpRatio, at: .root.key("mlp_ratio"), shown: CanonicalNumber.text(for:), rule: { ratio, path in
            for width in embed { try FieldRules.mlpRatio(ratio, embed: width, at: path) }
        })
    }
}

extension MambaSpace {
    func validate(input: ImageShape) throws {
        try checkChoices(patch, at: .root.key("patch"), rule: { try FieldRules.patch($0, input: input, at: $1) })
        try checkChoices(embed, at: .root.key("embed"), rule: FieldRules.size)
        try checkChoices(depth, at: .root.key("depth"), rule: FieldRules.depth)
        try checkChoices(state, at: .root.key("state"), rule: FieldRules.size)
        try checkChoices(expand, at: .root.key("expand"), rule: FieldRules.size)
        try checkChoices(conv, at: .root.key("conv"), rule: FieldRules.size)
    }
}
