/// A small, fast, seedable random number generator (xoshiro256**) whose stream depends
/// only on the seed, so a seed names the same architectures on every platform and
/// Swift version.
///
/// The 256-bit state is filled from the 64-bit seed with SplitMix64, as the algorithm's
/// authors recommend. Not for cryptography.
public struct SeededGenerator: RandomNumberGenerator, Hashable, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9e37_79b9_7f4a_7c15
            var mixed = splitMix
            mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
            return mixed ^ (mixed >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    /// The next 64 uniformly distributed bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    public static func == (lhs: SeededGenerator, rhs: SeededGenerator) -> Bool {
        lhs.state == rhs.state
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0)
        hasher.combine(state.1)
        hasher.combine(state.2)
        hasher.combine(state.3)
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}

extension RandomNumberGenerator {
    /// A uniformly distributed integer in `0..<upperBound`, drawn with Lemire's
    /// multiply-and-reject method from ``next()`` only.
    ///
    /// Unlike `Int.random(in:using:)`, whose algorithm the standard library may change,
    /// this consumes the generator in a documented way, so seeded streams are stable.
    /// - Precondition: `upperBound > 0`.
    public mutating func uniformIndex(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "uniformIndex(below:): upper bound \(upperBound) must be positive")
        let bound = UInt64(upperBound)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(product.high)
    }

    /// A uniformly chosen element of `choices`, using ``uniformIndex(below:)``.
    /// - Precondition: `choices` is not empty.
    public mutating func uniformElement<Element>(of choices: [Element]) -> Element {
        precondition(!choices.isEmpty, "uniformElement(of:): no choices to pick from")
        return choices[uniformIndex(below: choices.count)]
    }

    /// A uniformly distributed double in [0, 1) with 53 random bits, from one ``next()``.
    public mutating func uniformUnitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
