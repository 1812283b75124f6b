import EdgeNASCore
import EdgeNASData
@testable import EdgeNASProbes
import EdgeNASTensor
import Testing

@Suite struct ProbeSuiteTests {
    @Test func dataIsTheSameForASeedAndDiffersAcrossSeeds() throws {
        let images = syntheticImages()
        let first = try ProbeSuite(configuration: smallConfiguration(), images: images, seed: 3)
        let again = try ProbeSuite(configuration: smallConfiguration(), images: images, seed: 3)
        let other = try ProbeSuite(configuration: smallConfiguration(), images: images, seed: 4)
        for kind in ProbeKind.allCases {
            #expect(first.heldOutInputs(kind) == again.heldOutInputs(kind), "\(kind)")
            #expect(first.trainingInputs(kind) == again.trainingInputs(kind), "\(kind)")
            #expect(first.heldOutInputs(kind) != other.heldOutInputs(kind), "\(kind)")
            #expect(first.heldOutInputs(kind) != first.trainingInputs(kind).prefix(first.heldOutInputs(kind).count).map { $0 }, "\(kind)")
            #expect(first.heldOutInputs(kind).count == 64 * 3 * 28 * 28)
            #expect(first.heldOutInputs(kind).allSatisfy { $0.isFinite })
        }
    }

    @Test func motionForecastingLearnsBeyondPredictingTheCentre() throws {
        var configuration = smallConfiguration()
        configuration.maximumDataVolume = 256
        let suite = try ProbeSuite(configuration: configuration, images: syntheticImages(), seed: 1)
        let network = try architecture(tinyMBConvJSON)
        let result = try suite.evaluate(network, dataVolume: 256, epochs: 4, seed: 0)
        #expect(result.diverged.isEmpty)
        #expect(Set(result.rawScores.keys) == Set(ProbeKind.allCases))
        #expect(result.dataVolume == 256 && result.epochs == 4 && result.seconds > 0)
        // Always answering the image centre: what a head that learnt nothing from the frames reaches.
        let targets = suite.heldOutRegressionTargets(.mf)
        let centre = [Float](repeating: 0.5, count: targets.count)
        let baseline = ProbeScoring.motionError(predictions: centre, targets: targets)
        #expect(result.rawScores[.mf]! < baseline, "MF \(result.rawScores[.mf]!) vs centre \(baseline)")
        // Colour-shape binding beats chance (1/16) clearly.
        #expect(result.rawScores[.csb]! > 2.0 / 16, "CSB \(result.rawScores[.csb]!)")
    }

    @Test func badRequestsAreRefusedWithTheReason() throws {
        let suite = try ProbeSuite(configuration: smallConfiguration(), images: syntheticImages(), seed: 0)
        #expect(throws: ProbeError.self) { try suite.evaluate(try architecture(tinyMambaJSON), dataVolume: 32, epochs: 1, seed: 0) }
        do {
            _ = try suite.evaluate(try architecture(tinyMambaJSON), dataVolume: 32, epochs: 1, seed: 0)
        } catch {
            #expect("\(error)".contains("mamba"), "\(error)")
        }
        #expect(throws: ProbeError.self) { try suite.evaluate(try architecture(tinyViTJSON), dataVolume: 0, epochs: 1, seed: 0) }
        var bad = smallConfiguration()
        bad.jigsawGrid = 3
        #expect(throws: ProbeError.self) { try ProbeSuite(configuration: bad, images: syntheticImages(), seed: 0) }
        #expect(throws: ProbeError.self) { try ProbeSuite(configuration: smallConfiguration(), images: syntheticImages(count: 20), seed: 0) }
    }

    @Test func dataVolumeIsRoundedToWholeBatchesWithinTheGeneratedData() throws {
        let suite = try ProbeSuite(configuration: smallConfiguration(), images: syntheticImages(), seed: 0)
        #expect(suite.effectiveDataVolume(1) == 32)
        #expect(suite.effectiveDataVolume(70) == 64)
        #expect(suite.effectiveDataVolume(10_000) == 128)
    }
}

@Suite struct ZeroCostProxyTests {
    @Test func everyProxyGivesAFiniteValueAndParamsAndFLOPsOrderBySize() throws {
        let batch = ProxyBatch(dataset: syntheticImages(count: 64), count: 16, seed: 0)
        let small = try architecture(tinyMBConvJSON), wide = try architecture(widerMBConvJSON), vit = try architecture(tinyViTJSON)
        for proxy in ZeroCostProxy.allCases {
            for network in [small, wide, vit] {
                let value = try proxy.score(network, batch: batch)
                #expect(value.isFinite, "\(proxy) on \(network.family)")
            }
        }
        #expect(try ZeroCostProxy.params.score(wide, batch: batch) > ZeroCostProxy.params.score(small, batch: batch))
        #expect(try ZeroCostProxy.flops.score(wide, batch: batch) > ZeroCostProxy.flops.score(small, batch: batch))
        // More units on the same batch give more agreeing codes: the NASWOT kernel grows.
        #expect(try ZeroCostProxy.naswot.score(wide, batch: batch) > ZeroCostProxy.naswot.score(small, batch: batch))
        #expect(throws: ProbeError.self) { try ZeroCostProxy.snip.score(try architecture(tinyMambaJSON), batch: batch) }
    }
}
