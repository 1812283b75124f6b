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

    /// Every probe trains and scores a Mamba network as it does the other families.
    @Test func everyProbeScoresAMambaNetwork() throws {
        let suite = try ProbeSuite(configuration: smallConfiguration(), images: syntheticImages(), seed: 2)
        let result = try suite.evaluate(try architecture(tinyMambaJSON), dataVolume: 64, epochs: 2, seed: 0)
        #expect(result.diverged.isEmpty)
        #expect(Set(result.rawScores.keys) == Set(ProbeKind.allCases))
        #expect(result.rawScores.values.allSatisfy { $0.isFinite })
    }

    @Test func badRequestsAreRefusedWithTheReason() throws {
        let suite = try ProbeSuite(configuration: smallConfiguration(), images: syntheticImages(), seed: 0)
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
        let mamba = try architecture(tinyMambaJSON)
        for proxy in ZeroCostProxy.allCases {
            for network in [small, wide, vit, mamba] {
                let value = try proxy.score(network, batch: batch)
                #expect(value.isFinite, "\(proxy) on \(network.family)")
            }
        }
        #expect(try ZeroCostProxy.params.score(wide, batch: batch) > ZeroCostProxy.params.score(small, batch: batch))
        #expect(try ZeroCostProxy.flops.score(wide, batch: batch) > ZeroCostProxy.flops.score(small, batch: batch))
        // More units on the same batch give more agreeing codes: the NASWOT kernel grows.
        #expect(try ZeroCostProxy.naswot.score(wide, batch: batch) > ZeroCostProxy.naswot.score(small, batch: batch))
    }

    /// The proxies worked only on 1×28×28 inputs ("zero-cost batch [64, 1, 28, 28] does not fit").
    @Test(arguments: [(3, 32, 32, 10), (3, 16, 24, 10), (1, 56, 56, 10), (2, 28, 28, 4)])
    func everyProxyScoresAnyInputShapeFromTheSameImages(channels: Int, height: Int, width: Int, classes: Int) throws {
        let batch = ProxyBatch(dataset: syntheticImages(count: 64), count: 8, seed: 0)
        let mbconv = try architecture(tinyMBConvJSON
            .replacingOccurrences(of: #""channels": 1, "height": 28, "width": 28"#,
                                  with: #""channels": \#(channels), "height": \#(height), "width": \#(width)"#)
            .replacingOccurrences(of: #""classes": 10"#, with: #""classes": \#(classes)"#))
        let vit = try architecture(tinyViTJSON
            .replacingOccurrences(of: #""channels": 1, "height": 28, "width": 28"#,
                                  with: #""channels": \#(channels), "height": \#(height), "width": \#(width)"#)
            .replacingOccurrences(of: #""patch": 7"#, with: #""patch": 4"#)
            .replacingOccurrences(of: #""classes": 10"#, with: #""classes": \#(classes)"#))
        for proxy in [ZeroCostProxy.synflow, .snip, .gradNorm, .naswot] {
            for network in [mbconv, vit] {
                #expect(try proxy.score(network, batch: batch).isFinite, "\(proxy) on \(network.family) \(network.input)")
            }
        }
    }

    @Test func fittingABatchResizesConvertsChannelsAndFoldsLabels() {
        // Two 1×2×2 images: a constant one and a left-dark, right-bright one.
        let batch = ProxyBatch(images: Tensor(shape: [2, 1, 2, 2], storage: [3, 3, 3, 3, 0, 1, 0, 1]), labels: [1, 7])
        let fitted = batch.fitted(to: ImageShape(channels: 3, height: 4, width: 4), classes: 5)
        #expect(fitted.images.shape == [2, 3, 4, 4])
        #expect(fitted.labels == [1, 2])
        let values = fitted.images.storage
        #expect(values[0..<48].allSatisfy { $0 == 3 }, "a constant image stays constant")
        // Every channel of the second image is the same grey plane, dark on the left, bright on the right.
        let plane = Array(values[48..<64])
        #expect(Array(values[64..<80]) == plane && Array(values[80..<96]) == plane)
        #expect(plane[0] == 0 && plane[3] == 1 && plane[1] > 0 && plane[1] < plane[2])
        let grey = fitted.fitted(to: ImageShape(channels: 1, height: 2, width: 2), classes: 5)
        #expect(grey.images.shape == [2, 1, 2, 2])
        #expect(Array(grey.images.storage[0..<4]) == [3, 3, 3, 3])
        let same = batch.fitted(to: ImageShape(channels: 1, height: 2, width: 2), classes: 10)
        #expect(same.images.storage == batch.images.storage && same.labels == batch.labels)
    }
}
