import EdgeNASCore
import EdgeNASTensor
import Testing

/// Mean and (population) standard deviation, in Double.
func meanAndStandardDeviation(_ values: [Float]) -> (mean: Double, standardDeviation: Double) {
    let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
    return (mean, variance.squareRoot())
}

extension TensorEngineTests {
    @Suite struct InitializerTests {
        enum Kind: String, CaseIterable, Sendable {
            case uniform, normal, truncatedNormal, heNormal, fanInUniform

            func draw(_ shape: [Int], seed: UInt64) -> [Float] {
                var generator = SeededGenerator(seed: seed)
                return switch self {
                case .uniform: Initializer.uniform(shape, low: -2, high: 3, using: &generator)
                case .normal: Initializer.normal(shape, mean: 1, standardDeviation: 0.5, using: &generator)
                case .truncatedNormal: Initializer.truncatedNormal(shape, standardDeviation: 0.02, using: &generator)
                case .heNormal: Initializer.heNormal(shape, fan: 50, using: &generator)
                case .fanInUniform: Initializer.fanInUniform(shape, fanIn: 16, using: &generator)
                }
            }
        }

        @Test(arguments: Kind.allCases)
        func sameSeedGivesTheSameValuesAndAnotherSeedDifferentOnes(_ kind: Kind) {
            let first = kind.draw([4, 25], seed: 201)
            #expect(first.count == 100)
            #expect(first.map(\.bitPattern) == kind.draw([4, 25], seed: 201).map(\.bitPattern), "\(kind) seed 201 twice")
            #expect(first != kind.draw([4, 25], seed: 202), "\(kind) seeds 201 and 202")
        }

        @Test func uniformStaysInItsHalfOpenRange() {
            let values = Kind.uniform.draw([10_000], seed: 203)
            #expect(values.allSatisfy { $0 >= -2 && $0 < 3 }, "uniform [-2, 3) seed 203")
            let (mean, _) = meanAndStandardDeviation(values)
            #expect(abs(mean - 0.5) < 0.05, "uniform mean \(mean), seed 203")
        }

        @Test func truncatedNormalStaysWithinTwoStandardDeviations() {
            let values = Kind.truncatedNormal.draw([10_000], seed: 204)
            #expect(values.allSatisfy { abs($0) <= 0.04 }, "largest |value| \(values.map(abs).max() ?? 0), seed 204")
            // A normal truncated at ±2σ keeps σ·√(1 − 4φ(2)/(2Φ(2) − 1)) ≈ 0.8796σ.
            let (mean, standardDeviation) = meanAndStandardDeviation(values)
            #expect(abs(mean) < 0.0008, "mean \(mean), seed 204")
            #expect(abs(standardDeviation / 0.02 - 0.8796) < 0.03, "standard deviation \(standardDeviation), seed 204")
        }

        @Test func normalHasTheRequestedMeanAndStandardDeviation() {
            let (mean, standardDeviation) = meanAndStandardDeviation(Kind.normal.draw([10_000], seed: 205))
            // 10k samples: the mean's standard error is σ/100; allow four of them.
            #expect(abs(mean - 1) < 0.02, "mean \(mean), seed 205")
            #expect(abs(standardDeviation / 0.5 - 1) < 0.03, "standard deviation \(standardDeviation), seed 205")
        }

        @Test func heNormalHasStandardDeviationSquareRootOfTwoOverFan() {
            let (mean, standardDeviation) = meanAndStandardDeviation(Kind.heNormal.draw([10_000], seed: 206))
            let expected = (2.0 / 50).squareRoot()
            #expect(abs(mean) < 4 * expected / 100, "mean \(mean), seed 206")
            #expect(abs(standardDeviation / expected - 1) < 0.03, "standard deviation \(standardDeviation), seed 206")
        }

        @Test func fanInUniformIsBoundedByOneOverSquareRootOfFanIn() {
            let values = Kind.fanInUniform.draw([10_000], seed: 207)
            #expect(values.allSatisfy { abs($0) <= 0.25 }, "fan-in 16 bound 0.25, seed 207")
            let (_, standardDeviation) = meanAndStandardDeviation(values)
            // U(−b, b) has standard deviation b/√3.
            #expect(abs(standardDeviation / (0.25 / 3.0.squareRoot()) - 1) < 0.03, "standard deviation \(standardDeviation)")
        }
    }
}
