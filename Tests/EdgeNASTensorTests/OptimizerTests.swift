import EdgeNASTensor
import Foundation
import Testing
import TestSupport

extension TensorEngineTests {
    @Suite struct OptimizerTests {
        /// Three steps against torch.optim (float64), weight decay on the rank-2 weight only.
        @Test(arguments: GoldenFixtures.optimizerNames)
        func optimizerMatchesPyTorch(_ name: String) throws {
            let golden = try GoldenFixtures.load(name, as: OptimizerGolden.self)
            let weight = try #require(golden.parameters["weight"]).tensor(requiresGradient: true)
            let bias = try #require(golden.parameters["bias"]).tensor(requiresGradient: true)
            let attributes = golden.attributes
            let optimizer: any Optimizer = switch golden.optimizer {
            case "sgd":
                SGD(parameters: [weight, bias], learningRate: attributes.learningRate,
                    momentum: attributes.momentum ?? 0, nesterov: attributes.nesterov ?? false,
                    weightDecay: attributes.weightDecay ?? 0)
            default:
                AdamW(parameters: [weight, bias], learningRate: attributes.learningRate,
                      beta1: try #require(attributes.beta1), beta2: try #require(attributes.beta2),
                      epsilon: try #require(attributes.epsilon), weightDecay: attributes.weightDecay ?? 0)
            }
            for (index, step) in golden.steps.enumerated() {
                weight.gradient = try #require(step.gradients["weight"]).floats
                bias.gradient = try #require(step.gradients["bias"]).floats
                optimizer.step()
                expectClose(weight.storage, try #require(step.parametersAfter["weight"]).floats,
                            atol: 1e-6, rtol: 1e-5, "\(name) weight after step \(index + 1)")
                expectClose(bias.storage, try #require(step.parametersAfter["bias"]).floats,
                            atol: 1e-6, rtol: 1e-5, "\(name) bias after step \(index + 1)")
            }
        }

        @Test func sgdStepsAgainstTheGradient() {
            let w = Tensor(shape: [2], storage: [1, -2], requiresGradient: true)
            w.gradient = [0.5, -1]
            SGD(parameters: [w], learningRate: 0.1).step()
            let expected: [Float] = [1 - 0.1 * 0.5, -2 + 0.1 * 1]
            #expect(w.storage == expected)
        }

        @Test func sgdMomentumAccumulatesVelocity() {
            let w = Tensor(shape: [1], storage: [1], requiresGradient: true)
            let optimizer = SGD(parameters: [w], learningRate: 0.1, momentum: 0.9)
            w.gradient = [1]
            optimizer.step()  // v = 1, w = 1 − 0.1
            optimizer.step()  // v = 0.9 + 1 = 1.9, w = 0.9 − 0.19
            expectClose(w.storage, [0.71], atol: 1e-7, rtol: 1e-6, "two momentum steps with g = 1")
        }

        @Test func sgdNesterovLooksAheadAlongTheVelocity() {
            let w = Tensor(shape: [1], storage: [1], requiresGradient: true)
            let optimizer = SGD(parameters: [w], learningRate: 0.1, momentum: 0.9, nesterov: true)
            w.gradient = [1]
            optimizer.step()  // v = 1, w = 1 − 0.1·(1 + 0.9·1) = 0.81
            optimizer.step()  // v = 1.9, w = 0.81 − 0.1·(1 + 0.9·1.9) = 0.539
            expectClose(w.storage, [0.539], atol: 1e-7, rtol: 1e-6, "two Nesterov steps with g = 1")
        }

        @Test func adamWFirstStepMovesEachValueByTheLearningRate() {
            // With bias correction, step 1 is lr · g / (|g| + ε) = lr · sign(g).
            let w = Tensor(shape: [3], storage: [1, 2, 3], requiresGradient: true)
            w.gradient = [0.5, -2, 1e-3]
            AdamW(parameters: [w], learningRate: 0.01, weightDecay: 0).step()
            expectClose(w.storage, [0.99, 2.01, 2.99], atol: 1e-6, rtol: 1e-6, "AdamW step 1")
        }

        /// With zero gradients the only change is the decay, so a parameter that moves is decayed.
        @Test func weightDecaySkipsRankOneTensorsByDefault() {
            let weight = Tensor(shape: [2, 2], storage: [1, 2, 3, 4], requiresGradient: true)
            let bias = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            for optimizer: any Optimizer in [
                SGD(parameters: [weight, bias], learningRate: 0.1, weightDecay: 0.5),
                AdamW(parameters: [weight, bias], learningRate: 0.1, weightDecay: 0.5),
            ] {
                weight.storage = [1, 2, 3, 4]
                bias.storage = [1, 2]
                weight.gradient = [0, 0, 0, 0]
                bias.gradient = [0, 0]
                optimizer.step()
                expectClose(weight.storage, [0.95, 1.9, 2.85, 3.8], atol: 1e-6, rtol: 1e-6, "\(type(of: optimizer)) decays the weight")
                #expect(bias.storage == [1, 2], "\(type(of: optimizer)) leaves the rank-1 bias alone")
            }
        }

        @Test func aDecayFilterCanIncludeRankOneTensors() {
            let bias = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            bias.gradient = [0, 0]
            SGD(parameters: [bias], learningRate: 0.1, weightDecay: 0.5, decayFilter: { _ in true }).step()
            expectClose(bias.storage, [0.95, 1.9], atol: 1e-6, rtol: 1e-6, "SGD with an all-parameters decay filter")
        }

        @Test func parametersWithoutAGradientAreLeftAlone() {
            let w = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            let optimizer = AdamW(parameters: [w], learningRate: 0.1)
            optimizer.step()
            #expect(w.storage == [1, 2])
            #expect(optimizer.stepCount == 1)
        }

        @Test func zeroGradientsZeroesEveryParameterGradient() {
            let a = Tensor(shape: [2], storage: [1, 2], requiresGradient: true)
            let b = Tensor(shape: [1], storage: [3], requiresGradient: true)
            a.gradient = [4, 5]
            b.gradient = [6]
            SGD(parameters: [a, b], learningRate: 0.1).zeroGradients()
            #expect(a.gradient == [0, 0] && b.gradient == [0])
        }

        @Test func clipGradientNormScalesTheGlobalNormToMaxNorm() {
            let a = Tensor(shape: [2], storage: [0, 0], requiresGradient: true)
            let b = Tensor(shape: [1], storage: [0], requiresGradient: true)
            a.gradient = [3, 0]
            b.gradient = [4]
            let norm = clipGradientNorm([a, b], maxNorm: 1)
            #expect(norm == 5, "returns the norm before clipping")
            let gradients = (a.gradient ?? []) + (b.gradient ?? [])
            expectClose(gradients, [0.6, 0, 0.8], atol: 1e-6, rtol: 1e-6, "gradients after clipping [3, 0, 4] to norm 1")
            let clippedNorm = gradients.map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(abs(clippedNorm - 1) < 1e-6, "norm after clipping \(clippedNorm)")
        }

        @Test func clipGradientNormLeavesSmallGradientsAlone() {
            let a = Tensor(shape: [2], storage: [0, 0], requiresGradient: true)
            a.gradient = [0.3, 0.4]
            let norm = clipGradientNorm([a, Tensor.zeros([3], requiresGradient: true)], maxNorm: 1)
            expectClose([norm], [0.5], atol: 1e-7, rtol: 1e-6, "norm of [0.3, 0.4]")
            #expect(a.gradient == [0.3, 0.4])
        }
    }

    @Suite struct NonFiniteValueTests {
        @Test func checkFiniteRejectsANaNLoss() {
            // log(−1) is NaN, as a diverged loss would be (its sign bit depends on the CPU).
            let loss = EdgeNASTensor.log(Tensor(shape: [1], storage: [-1], requiresGradient: true)).sum()
            let error = #expect(throws: NonFiniteValueError.self) { try checkFinite(loss: loss, step: 17) }
            #expect(error?.quantity == "loss" && error?.step == 17 && error?.value.isNaN == true)
        }

        @Test(arguments: [(Float.nan, "NaN"), (-Float.nan, "NaN"), (Float.infinity, "inf"), (-Float.infinity, "-inf")])
        func nonFiniteValueErrorSaysWhatDivergedAndWhatToDo(value: Float, printed: String) {
            let error = #expect(throws: NonFiniteValueError.self) { try checkFinite(loss: Tensor.scalar(value), step: 3) }
            #expect(error?.description ==
                    "training diverged: loss is \(printed) at step 3; lower the learning rate or enable gradient clipping")
        }

        @Test func checkFiniteRejectsAnOverflowedLoss() {
            let loss = EdgeNASTensor.exp(Tensor(shape: [1], storage: [100])).sum()
            let error = #expect(throws: NonFiniteValueError.self) { try checkFinite(loss: loss, step: 0) }
            #expect(error?.description ==
                    "training diverged: loss is inf at step 0; lower the learning rate or enable gradient clipping")
        }

        @Test func checkFiniteAcceptsAFiniteLoss() throws {
            try checkFinite(loss: Tensor.scalar(1e30), step: 0)
        }

        @Test(arguments: [Float.infinity, -Float.infinity, Float.nan])
        func clipGradientNormReportsANonFiniteGradientWithoutScaling(bad: Float) {
            let a = Tensor(shape: [3], storage: [0, 0, 0], requiresGradient: true)
            let b = Tensor(shape: [1], storage: [0], requiresGradient: true)
            a.gradient = [1, bad, 2]
            b.gradient = [3]
            let norm = clipGradientNorm([a, b], maxNorm: 1)
            #expect(!norm.isFinite, "norm \(norm) for a gradient holding \(bad)")
            #expect(b.gradient == [3], "finite gradients are not scaled by a non-finite norm")
        }
    }
}
