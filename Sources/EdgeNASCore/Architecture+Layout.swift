extension ImageShape {
    /// height · width, saturating at `Int.max`.
    public var pixelCount: Int { Saturating.product(height, width) }

    /// channels · height · width, saturating at `Int.max`.
    public var scalarCount: Int { Saturating.product(channels, height, width) }

    /// Output side of a convolution padded symmetrically by `kernel / 2`:
    /// `(size + 2·(kernel / 2) − kernel) / stride + 1`, with integer division as in the spec.
    ///
    /// Total for any values (saturating, a stride below 1 taken as 1), so that counting an
    /// architecture that has not been validated never traps.
    public static func convolutionOutputSize(_ size: Int, kernel: Int, stride: Int) -> Int {
        let padded = Saturating.sum(size, Saturating.product(2, kernel / 2))
        return Saturating.sum(Saturating.sum(padded, Saturating.product(-1, kernel)) / max(stride, 1), 1)
    }

    /// The shape after a convolution with `outputChannels`, `kernel` and `stride` padded
    /// by `kernel / 2` on every side.
    public func convolved(outputChannels: Int, kernel: Int, stride: Int) -> ImageShape {
        ImageShape(
            channels: outputChannels,
            height: Self.convolutionOutputSize(height, kernel: kernel, stride: stride),
            width: Self.convolutionOutputSize(width, kernel: kernel, stride: stride))
    }
}

/// Everything a network builder needs to build one MBConv block, resolved from its
/// stage and the blocks before it.
public struct MBConvBlockLayout: Hashable, Sendable {
    /// Index of the stage in `stages`.
    public var stageIndex: Int
    /// Index of the block in its stage's `blocks`.
    public var blockIndex: Int
    /// Shape entering the block (cin × H × W).
    public var inputShape: ImageShape
    /// Shape leaving the block (stage channels × H′ × W′).
    public var outputShape: ImageShape
    /// Depthwise kernel side.
    public var kernel: Int
    /// The stage stride for a stage's first block, 1 otherwise.
    public var stride: Int
    /// Expansion ratio; 1 means there is no expansion convolution.
    public var expand: Int
    /// Whether squeeze-excite follows the depthwise convolution.
    public var se: Bool

    /// Input channels cin.
    public var inputChannels: Int { inputShape.channels }
    /// Output channels, the stage's `channels`.
    public var outputChannels: Int { outputShape.channels }
    /// Width of the expanded (depthwise) part: cin · expand, without rounding.
    public var hiddenChannels: Int { Saturating.product(inputShape.channels, expand) }
    /// Width of the squeeze-excite bottleneck, max(8, hidden / 4), when `se` is set.
    public var squeezeChannels: Int? { se ? max(8, hiddenChannels / 4) : nil }
    /// Whether the block input is added to its output (stride 1 and cin == cout).
    public var hasResidual: Bool { stride == 1 && inputChannels == outputChannels }
}

extension MBConvBody {
    /// Shape after the stem convolution.
    public func stemOutputShape(input: ImageShape) -> ImageShape {
        input.convolved(outputChannels: stem.channels, kernel: stem.kernel, stride: stem.stride)
    }

    /// Every block in execution order with its input and output shapes, stride and
    /// derived widths, as a builder or a cost counter walks them.
    public func blockLayouts(input: ImageShape) -> [MBConvBlockLayout] {
        var shape = stemOutputShape(input: input)
        var layouts: [MBConvBlockLayout] = []
        for (stageIndex, stage) in stages.enumerated() {
            for (blockIndex, block) in stage.blocks.enumerated() {
                let stride = blockIndex == 0 ? stage.stride : 1
                let output = shape.convolved(outputChannels: stage.channels, kernel: block.kernel, stride: stride)
                layouts.append(MBConvBlockLayout(
                    stageIndex: stageIndex, blockIndex: blockIndex, inputShape: shape, outputShape: output,
                    kernel: block.kernel, stride: stride, expand: block.expand, se: block.se))
                shape = output
            }
        }
        return layouts
    }

    /// Shape of the last block's output, before the head convolution.
    public func lastBlockOutputShape(input: ImageShape) -> ImageShape {
        blockLayouts(input: input).last?.outputShape ?? stemOutputShape(input: input)
    }

    /// Shape entering global average pooling: the head convolution's output, or the
    /// last block's when `headChannels` is 0. Its channels feed the classifier.
    public func featureShape(input: ImageShape) -> ImageShape {
        let last = lastBlockOutputShape(input: input)
        guard headChannels > 0 else { return last }
        return ImageShape(channels: headChannels, height: last.height, width: last.width)
    }
}

extension ViTBody {
    /// Number of tokens N = (height / patch) · (width / patch), row-major.
    public func tokenCount(input: ImageShape) -> Int {
        patchTokenCount(input: input, patch: patch)
    }
}

extension MambaBody {
    /// Number of tokens N = (height / patch) · (width / patch), row-major.
    public func tokenCount(input: ImageShape) -> Int {
        patchTokenCount(input: input, patch: patch)
    }
}

/// (height / patch) · (width / patch), saturating; a patch below 1 is taken as 1, so that
/// counting an architecture that has not been validated never traps.
private func patchTokenCount(input: ImageShape, patch: Int) -> Int {
    let side = max(patch, 1)
    return Saturating.product(input.height / side, input.width / side)
}
