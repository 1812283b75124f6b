/// Integer arithmetic that saturates instead of trapping, for counting the size of an
/// architecture that may not have been validated yet (or came from a hostile file): a
/// count that does not fit in `Int` reads as `Int.max`, which every limit refuses.
enum Saturating {
    /// a + b, or `Int.max` / `Int.min` when the sum does not fit.
    static func sum(_ a: Int, _ b: Int) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return result }
        return a > 0 ? Int.max : Int.min
    }

    /// The product of `factors`, or `Int.max` / `Int.min` (by the sign of the exact product)
    /// once it does not fit.
    static func product(_ factors: Int...) -> Int {
        if factors.contains(0) { return 0 }
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return (result < 0) == (factor < 0) ? Int.max : Int.min }
            result = next
        }
        return result
    }

    /// `value` as an integer, clamped to `Int`'s range; NaN is 0.
    static func integer(_ value: Double) -> Int {
        guard !value.isNaN else { return 0 }
        // 2⁶³ is exactly representable; every Double below it converts.
        if value >= 9_223_372_036_854_775_808.0 { return Int.max }
        if value < -9_223_372_036_854_775_808.0 { return Int.min }
        return Int(value)
    }
}
