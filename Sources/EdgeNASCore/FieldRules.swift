/// The value rules of the format, shared by architectures and search spaces so that a
/// bad kernel reads the same in both.
enum FieldRules {
    /// Allowed convolution kernel sides.
    static let kernels = [1, 3, 5, 7]
    /// Allowed convolution strides.
    static let strides = [1, 2]
    /// Allowed MBConv expansion ratios.
    static let expandRange = 1...8

    static func positive(_ value: Int, at path: FieldPath) throws {
        guard value > 0 else { throw ArchitectureError(at: path, "expected a positive integer, got \(value)") }
    }

    static func nonNegative(_ value: Int, at path: FieldPath) throws {
        guard value >= 0 else { throw ArchitectureError(at: path, "expected a non-negative integer, got \(value)") }
    }

    /// A size (channels, a side, a width, a count of classes): positive and at most
    /// ``ArchitectureLimits/maxSize``.
    static func size(_ value: Int, at path: FieldPath) throws {
        try positive(value, at: path)
        try atMostMaxSize(value, at: path)
    }

    /// A size that may be 0 (head channels: no head convolution).
    static func sizeOrZero(_ value: Int, at path: FieldPath) throws {
        try nonNegative(value, at: path)
        try atMostMaxSize(value, at: path)
    }

    private static func atMostMaxSize(_ value: Int, at path: FieldPath) throws {
        guard value <= ArchitectureLimits.maxSize else {
            throw ArchitectureError(at: path, "expected at most \(ArchitectureLimits.maxSize), got \(value)")
        }
    }

    /// A number of blocks (all MBConv stages together, so far) or layers: positive and at
    /// most ``ArchitectureLimits/maxDepth``.
    static func depth(_ value: Int, at path: FieldPath) throws {
        try positive(value, at: path)
        guard value <= ArchitectureLimits.maxDepth else {
            throw ArchitectureError(
                at: path, "expected at most \(ArchitectureLimits.maxDepth) blocks or layers in the whole network, got \(value)")
        }
    }

    static func oneOf(_ value: Int, _ allowed: [Int], at path: FieldPath) throws {
        guard allowed.contains(value) else {
            let list = allowed.map(String.init).joined(separator: ", ")
            throw ArchitectureError(at: path, "expected one of \(list), got \(value)")
        }
    }

    static func kernel(_ value: Int, at path: FieldPath) throws {
        try oneOf(value, kernels, at: path)
    }

    static func stride(_ value: Int, at path: FieldPath) throws {
        try oneOf(value, strides, at: path)
    }

    static func mbconvExpand(_ value: Int, at path: FieldPath) throws {
        guard expandRange.contains(value) else {
            throw ArchitectureError(
                at: path,
                "expected an integer from \(expandRange.lowerBound) to \(expandRange.upperBound), got \(value)")
        }
    }

    /// A patch side: positive and dividing both image sides, so tokens tile the image.
    static func patch(_ value: Int, input: ImageShape, at path: FieldPath) throws {
        try size(value, at: path)
        guard input.height % value == 0, input.width % value == 0 else {
            throw ArchitectureError(
                at: path, "must divide the input height \(input.height) and width \(input.width), got \(value)")
        }
    }

    /// A head count: positive and dividing the embedding width.
    static func heads(_ value: Int, embed: Int, at path: FieldPath) throws {
        try size(value, at: path)
        guard embed % value == 0 else {
            throw ArchitectureError(at: path, "must divide embed \(embed), got \(value)")
        }
    }

    /// An MLP ratio: positive, finite and giving at least one hidden unit for `embed`.
    static func mlpRatio(_ value: Double, embed: Int, at path: FieldPath) throws {
        guard value.isFinite, value > 0 else {
            throw ArchitectureError(at: path, "expected a positive number, got \(CanonicalNumber.text(for: value))")
        }
        let hidden = ViTLayer(heads: 1, mlpRatio: value).mlpHidden(embed: embed)
        guard hidden >= 1 else {
            throw ArchitectureError(
                at: path,
                "round(embed · mlp_ratio) must be at least 1, got \(hidden) for embed \(embed) and ratio \(CanonicalNumber.text(for: value))")
        }
        guard hidden <= ArchitectureLimits.maxSize else {
            throw ArchitectureError(
                at: path,
                "round(embed · mlp_ratio) must be at most \(ArchitectureLimits.maxSize), got "
                    + "\(hidden == Int.max ? "more than \(Int.max)" : String(hidden)) for embed \(embed) and ratio \(CanonicalNumber.text(for: value))")
        }
    }

    static func input(_ shape: ImageShape, at path: FieldPath) throws {
        try size(shape.channels, at: path.key("channels"))
        try size(shape.height, at: path.key("height"))
        try size(shape.width, at: path.key("width"))
    }

    static func stem(_ stem: MBConvStem, at path: FieldPath) throws {
        try size(stem.channels, at: path.key("channels"))
        try kernel(stem.kernel, at: path.key("kernel"))
        try stride(stem.stride, at: path.key("stride"))
    }

    static func nonEmpty(_ count: Int, at path: FieldPath) throws {
        guard count > 0 else { throw ArchitectureError(at: path, "expected a non-empty array") }
    }
}
