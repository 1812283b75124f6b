@testable import EdgeNASProbes
import EdgeNASTensor
import Testing

@Suite struct ResponseSurfaceTests {
    @Test func leastSquaresRecoversAKnownQuadraticSurface() throws {
        let truth = ResponseSurface(coefficients: [0.1, 2e-3, 0.2, -3e-6, -0.04, 1e-4])
        var points: [BudgetPoint] = []
        for d in [64.0, 128, 256, 512] { for e in [1.0, 2, 3, 4] { points.append(BudgetPoint(dataVolume: d, epochs: e)) } }
        let fitted = try ResponseSurface.fit(points: points, values: points.map(truth.value))
        for (a, b) in zip(fitted.coefficients, truth.coefficients) { #expect(abs(a - b) <= 1e-9 + 1e-6 * abs(b), "\(a) vs \(b)") }
        #expect(abs(fitted.rSquared - 1) < 1e-9)
    }

    @Test func leastSquaresRefusesMismatchedSizes() {
        #expect(throws: LeastSquares.Failure.self) { try LeastSquares.solve(design: [[1, 2], [3, 4]], targets: [1]) }
    }

    @Test func lagrangeSolutionMatchesABruteForceGridOnAConcaveSurface() throws {
        let surface = ResponseSurface(coefficients: [0, 4e-3, 0.6, -4e-6, -0.08, 2e-5])
        #expect(surface.isConcave)
        let range = BudgetRange(dataVolume: 32...1024, epochs: 1...8)
        let (td, te, budget) = (0.02, 3.0, 14.0)
        let solution = try #require(surface.lagrangeOptimum(secondsPerSample: td, secondsPerEpoch: te, budgetSeconds: budget, range: range))
        #expect(abs(td * solution.dataVolume + te * solution.epochs - budget) < 1e-9)
        // Brute force along the budget line.
        var best = (value: -Double.infinity, point: BudgetPoint(dataVolume: 0, epochs: 0))
        for step in 0...200_000 {
            let d = 32 + (1024 - 32) * Double(step) / 200_000
            let e = (budget - td * d) / te
            guard e >= 1, e <= 8 else { continue }
            let point = BudgetPoint(dataVolume: d, epochs: e)
            if surface.value(point) > best.value { best = (surface.value(point), point) }
        }
        #expect(abs(solution.dataVolume - best.point.dataVolume) < 0.05)
        #expect(abs(solution.epochs - best.point.epochs) < 1e-3)
    }

    @Test func aConvexSurfaceFallsBackToTheBestFeasibleGridPoint() {
        let surface = ResponseSurface(coefficients: [0, -1e-3, -0.1, 2e-6, 0.05, 0])
        #expect(!surface.isConcave)
        let range = BudgetRange(dataVolume: 32...512, epochs: 1...4)
        #expect(surface.lagrangeOptimum(secondsPerSample: 0.01, secondsPerEpoch: 1, budgetSeconds: 5, range: range) == nil)
        let cost: (BudgetPoint) -> Double = { 0.01 * $0.dataVolume + $0.epochs }
        let fallback = surface.bestFeasiblePoint(range: range, budgetSeconds: 5, cost: cost)
        #expect(fallback != nil)
        if let fallback {
            #expect(cost(fallback) <= 5)
            // No feasible grid point beats it.
            for d in stride(from: 32.0, through: 512, by: 16) {
                for e in stride(from: 1.0, through: 4, by: 0.25) where cost(BudgetPoint(dataVolume: d, epochs: e)) <= 5 {
                    #expect(surface.value(BudgetPoint(dataVolume: d, epochs: e)) <= surface.value(fallback) + 1e-9)
                }
            }
        }
    }

    /// A plan on a concave surface with cost 0.01 s per sample-epoch + 1 s, anchors up to D 384, E 4.
    static func examplePlan() -> BudgetPlan {
        let surface = ResponseSurface(coefficients: [0, 2e-3, 0.3, -1e-6, -0.03, 0])
        let cost = ProbeCostModel(secondsPerSampleEpoch: 0.01, fixedSeconds: 1, secondsPerSample: 0.02, secondsPerEpoch: 2)
        let anchors = [64, 160, 384].flatMap { d in (1...4).map { BudgetAnchor(dataVolume: d, epochs: $0, reliability: 0, seconds: 0) } }
        let placeholder = BudgetChoice(dataVolume: 64, epochs: 1, predictedReliability: 0, predictedSeconds: 0)
        return BudgetPlan(dataVolume: 64, epochs: 1, coefficients: surface.coefficients, rSquared: 1, predictedReliability: 0,
                          predictedSeconds: 0, perCandidateBudgetSeconds: 0, anchors: anchors, referenceDataVolume: 384,
                          referenceEpochs: 4, cost: cost, range: BudgetRange(dataVolume: 64...384, epochs: 1...4), batchSize: 32,
                          linearCostOptimum: nil, measuredCostOptimum: nil, usedGridFallback: true, dataOnly: placeholder,
                          epochsOnly: placeholder, calibrationSeconds: 0)
    }

    @Test func replanningStaysWithinTheBudgetAndUsesMoreWhenGivenMore() {
        let plan = Self.examplePlan()
        let small = plan.replanned(perCandidateBudgetSeconds: 5), large = plan.replanned(perCandidateBudgetSeconds: 12)
        #expect(small.predictedSeconds <= 5 && large.predictedSeconds <= 12)
        #expect(large.dataVolume * large.epochs > small.dataVolume * small.epochs)
        #expect(large.predictedReliability >= large.dataOnly.predictedReliability - 1e-12)
        #expect(large.predictedReliability >= large.epochsOnly.predictedReliability - 1e-12)
        #expect(large.dataVolume % 32 == 0)
        #expect(!large.summary.isEmpty && large.summary.contains("R²"))
    }

    @Test func theScheduleShrinksOnlyWhenTheRunFallsBehind() {
        var schedule = ProbeBudgetSchedule(plan: Self.examplePlan().replanned(perCandidateBudgetSeconds: 12))
        let start = (schedule.dataVolume, schedule.epochs)
        let planned = schedule.plan.cost.measuredSeconds(BudgetPoint(dataVolume: Double(start.0), epochs: Double(start.1)))
        // On time: 10 candidates left with 10 planned shares of time keep the plan.
        let onTime = schedule.next(secondsLeft: 10 * planned, candidatesLeft: 10)
        #expect(!onTime.shrunk && onTime.dataVolume == start.0 && onTime.epochs == start.1)
        // Candidates ran twice as slow as the cost model says: the same time left now buys less.
        for _ in 0..<3 {
            schedule.record(ProbeResult(rawScores: [:], diverged: [], seconds: 2 * planned, dataVolume: start.0, epochs: start.1))
        }
        #expect(abs(schedule.slowdown - 2) < 1e-9)
        let late = schedule.next(secondsLeft: 10 * planned, candidatesLeft: 10)
        #expect(late.shrunk)
        #expect(late.dataVolume * late.epochs < start.0 * start.1)
        let shrunkSeconds = schedule.plan.cost.measuredSeconds(BudgetPoint(dataVolume: Double(late.dataVolume), epochs: Double(late.epochs)))
        #expect(2 * shrunkSeconds <= planned * 1.05)
    }

    @Test func anExtraSeedPassFitsTheTimeLeftOrIsSkipped() throws {
        let schedule = ProbeBudgetSchedule(plan: Self.examplePlan().replanned(perCandidateBudgetSeconds: 6))
        let cost = schedule.plan.cost
        // Plenty of time: a pass at the plan's own size or larger fits.
        let roomy = try #require(schedule.extraPassSetting(secondsLeft: 10 * 6, candidates: 10))
        #expect(cost.measuredSeconds(BudgetPoint(dataVolume: Double(roomy.dataVolume), epochs: Double(roomy.epochs))) * 10 <= 60)
        // Barely more than the fixed cost per candidate: nothing useful fits.
        #expect(schedule.extraPassSetting(secondsLeft: 10 * cost.fixedSeconds, candidates: 10) == nil)
        #expect(schedule.extraPassSetting(secondsLeft: 0, candidates: 10) == nil)
    }
}
