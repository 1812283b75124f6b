import Foundation

/// Seeded weight initialisers. Each draws from any `RandomNumberGenerator`, so a seeded
/// generator gives the same weights on every run and platform (the bits are derived from
/// `next()` only, never from the standard library's unspecified range algorithms).
public enum Initializer {
    /// Uniform in [low, high).
    public static func uniform(_ shape: [Int], low: Float, high: Float,
                               using generator: inout some RandomNumberGenerator) -> [Float] {
        (0..<shape.reduce(1, *)).map { _ in low + (high - low) * Float(unitInterval(&generator)) }
    }

    /// Normal N(mean, std²) by the Box–Muller transform.
    public static func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float,
                              using generator: inout some RandomNumberGenerator) -> [Float] {
        (0..<shape.reduce(1, *)).map { _ in mean + standardDeviation * Float(standardNormal(&generator)) }
    }

    /// Normal N(0, std²) redrawn until inside [−2·std, 2·std] (the usual ViT initialisation).
    public static func truncatedNormal(_ shape: [Int], standardDeviation: Float,
                                       using generator: inout some RandomNumberGenerator) -> [Float] {
        (0..<shape.reduce(1, *)).map { _ in
            // Acceptance is 95%, so the expected number of draws is about 1.05.
            while true {
                let value = standardNormal(&generator)
                if abs(value) <= 2 { return standardDeviation * Float(value) }
            }
        }
    }

    /// He (Kaiming) normal for ReLU-family networks: N(0, 2 / fanIn) in fan-in mode, or
    /// 2 / fanOut in fan-out mode (what MobileNets use for convolutions).
    public static func heNormal(_ shape: [Int], fan: Int,
                                using generator: inout some RandomNumberGenerator) -> [Float] {
        normal(shape, standardDeviation: (2 / Float(max(1, fan))).squareRoot(), using: &generator)
    }

    /// PyTorch's default for Linear/Conv weights and biases: U(−1/√fanIn, 1/√fanIn).
    public static func fanInUniform(_ shape: [Int], fanIn: Int,
                                    using generator: inout some RandomNumberGenerator) -> [Float] {
        let bound = 1 / Float(max(1, fanIn)).squareRoot()
        return uniform(shape, low: -bound, high: bound, using: &generator)
    }

    /// A double in [0, 1) from the top 53 bits of one draw.
    static func unitInterval(_ generator: inout some RandomNumberGenerator) -> Double {
        Double(generator.next() >> 11) * 0x1p-53
    }

    static func standardNormal(_ generator: inout some RandomNumberGenerator) -> Double {
        let u1 = 1 - unitInterval(&generator)  // in (0, 1]: log is finite
        let u2 = unitInterval(&generator)
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
