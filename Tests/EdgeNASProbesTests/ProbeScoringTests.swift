import Foundation
@testable import EdgeNASProbes
import Testing

@Suite struct ProbeScoringTests {
    @Test func jigsawPerfectPredictionScoresZeroAndSwapsCostTheirGridDistance() {
        // One image, 2×2 grid: slots hold patches 2, 0, 3, 1.
        let targets = [2, 0, 3, 1]
        var perfect = [Float](repeating: 0, count: 16)
        for (slot, target) in targets.enumerated() { perfect[slot * 4 + target] = 5 }
        let all = [Bool](repeating: true, count: 4)
        #expect(ProbeScoring.jigsawDistance(logits: perfect, targets: targets, scored: all, grid: 2) == 0)
        // Slot 0 predicts patch 1 instead of 2: (row 0, col 1) vs (row 1, col 0) is √2 apart.
        var wrong = perfect
        wrong[0 * 4 + 2] = 0
        wrong[0 * 4 + 1] = 5
        #expect(abs(ProbeScoring.jigsawDistance(logits: wrong, targets: targets, scored: all, grid: 2) - 2.squareRoot() / 4) < 1e-12)
        // The wrong slot left out (an indistinguishable patch): perfect again.
        #expect(ProbeScoring.jigsawDistance(logits: wrong, targets: targets, scored: [false, true, true, true], grid: 2) == 0)
    }

    @Test func jigsawGammaLeavesOutPatchesThatLookAlike() {
        let blank: [Float] = [0, 0, 0, 0]
        let left: [Float] = [1, 0, 1, 0]
        let almostLeft: [Float] = [1, 0.05, 1, 0]
        let right: [Float] = [0, 1, 0, 1]
        let flags = ProbeScoring.distinguishablePatches([blank, left, almostLeft, right], threshold: 0.95)
        #expect(flags == [false, false, false, true])
        // A looser γ keeps the near-duplicates (cosine ≈ 0.9988).
        #expect(ProbeScoring.distinguishablePatches([blank, left, almostLeft, right], threshold: 0.9999) == [false, true, true, true])
    }

    @Test func inpaintingStandardDeviationTermPunishesFlatPredictions() {
        let target: [Float] = [0, 1, 0, 1]
        #expect(ProbeScoring.inpaintingError(predictions: target, targets: target, outputs: 4, standardDeviationWeight: 1) == 0)
        // The mean (0.5 everywhere): squared error 0.25, std 0 vs 0.5.
        let flat: [Float] = [0.5, 0.5, 0.5, 0.5]
        #expect(abs(ProbeScoring.inpaintingError(predictions: flat, targets: target, outputs: 4, standardDeviationWeight: 1) - 0.75) < 1e-12)
        #expect(abs(ProbeScoring.inpaintingError(predictions: flat, targets: target, outputs: 4, standardDeviationWeight: 0) - 0.25) < 1e-12)
    }

    @Test func rotationErrorIsMeasuredOnTheUnitCircle() {
        let angle = 0.7
        let target: [Float] = [Float(cos(angle)), Float(sin(angle))]
        // Any positive multiple of the true direction is perfect after projection.
        #expect(ProbeScoring.rotationError(predictions: target.map { $0 * 3 }, targets: target) < 1e-6)
        // The opposite direction is a diameter away; zero has no direction and scores the radius.
        #expect(abs(ProbeScoring.rotationError(predictions: target.map { -$0 }, targets: target) - 2) < 1e-6)
        #expect(ProbeScoring.rotationError(predictions: [0, 0], targets: target) == 1)
    }

    @Test func accuracyMotionAndMemoryScores() {
        #expect(ProbeScoring.accuracy(logits: [0, 1, 2, 1, 0, 0], labels: [2, 0]) == 1)
        #expect(ProbeScoring.accuracy(logits: [0, 1, 2, 1, 0, 0], labels: [1, 0]) == 0.5)
        #expect(ProbeScoring.motionError(predictions: [0.5, 0.5], targets: [0.5, 0.5]) == 0)
        #expect(abs(ProbeScoring.motionError(predictions: [0.2, 0.5], targets: [0.5, 0.9]) - 0.5) < 1e-6)
        // Memorising without generalising scores below generalising.
        #expect(ProbeScoring.memoryScore(testAccuracy: 0.3, trainingAccuracy: 1) < ProbeScoring.memoryScore(testAccuracy: 0.6, trainingAccuracy: 0.7))
    }

    @Test func averagePoolingCoversTheBoxInCells() {
        var image = [Float](repeating: 0, count: 28 * 28)
        for y in 10..<20 { for x in 10..<15 { image[y * 28 + x] = 1 } }  // left half of a 10×10 box
        let pooled = ProbeScoring.averagePooled(image, resolution: 28, top: 10, left: 10, size: 10, grid: 2)
        #expect(pooled == [1, 0, 1, 0])
    }
}
