import EdgeNASCore
import EdgeNASTensor
import Foundation

/// One calibration anchor: a (D, E) point, how well its ranking of the calibration
/// candidates agrees with the reference ranking, and what it cost.
public struct BudgetAnchor: Sendable, Codable, Equatable {
    public var dataVolume: Int
    public var epochs: Int
    /// Mean over probes of Kendall's tau between this anchor's and the reference's ranking.
    public var reliability: Double
    /// Mean wall time of one candidate's six probes at this point.
    public var seconds: Double
}

/// Time models of one candidate's six probes, fitted on the anchors.
public struct ProbeCostModel: Sendable, Codable, Equatable {
    /// Measured model: seconds = perSampleEpoch·D·E + fixed (training is D·E sample passes;
    /// building the networks and scoring the held-out sets is the fixed part).
    public var secondsPerSampleEpoch: Double
    public var fixedSeconds: Double
    /// The paper's linear model: seconds = t_d·D + t_e·E.
    public var secondsPerSample: Double
    public var secondsPerEpoch: Double

    public func measuredSeconds(_ point: BudgetPoint) -> Double {
        secondsPerSampleEpoch * point.dataVolume * point.epochs + fixedSeconds
    }

    public func linearSeconds(_ point: BudgetPoint) -> Double {
        secondsPerSample * point.dataVolume + secondsPerEpoch * point.epochs
    }
}

/// What calibration is doing, for progress displays.
public struct CalibrationProgress: Sendable {
    /// Probe runs finished and planned (one run = one candidate at one (D, E) trajectory).
    public var completedRuns: Int
    public var totalRuns: Int
    public var stage: String
}

/// The chosen data volume and epochs with everything that led to them.
public struct BudgetPlan: Sendable, Codable {
    /// D*: training samples per probe (a multiple of the batch size).
    public var dataVolume: Int
    /// E*: epochs.
    public var epochs: Int
    /// b0 … b5 of S(D, E) = b0 + b1·D + b2·E + b3·D² + b4·E² + b5·D·E.
    public var coefficients: [Double]
    public var rSquared: Double
    /// S(D*, E*) and the measured-cost prediction of one candidate's seconds there.
    public var predictedReliability: Double
    public var predictedSeconds: Double
    public var perCandidateBudgetSeconds: Double
    public var anchors: [BudgetAnchor]
    public var referenceDataVolume: Int
    public var referenceEpochs: Int
    public var cost: ProbeCostModel
    public var range: BudgetRange
    public var batchSize: Int
    /// Continuous optima: the Lagrange solution under the paper's linear cost and the optimum
    /// under the measured cost (nil where the surface is not concave or the optimum left
    /// the anchor range, and the grid fallback was used).
    public var linearCostOptimum: BudgetPoint?
    public var measuredCostOptimum: BudgetPoint?
    /// Whether the chosen point came from the grid fallback.
    public var usedGridFallback: Bool
    /// Best feasible point when only D is adapted (E fixed at the middle anchor epoch) and
    /// when only E is adapted (D fixed at the middle anchor volume), for the joint-vs-single
    /// comparison, with their predicted reliabilities.
    public var dataOnly: BudgetChoice
    public var epochsOnly: BudgetChoice
    public var calibrationSeconds: Double

    public var surface: ResponseSurface { ResponseSurface(coefficients: coefficients, rSquared: rSquared) }

    /// Human-readable summary: coefficients, R², the chosen point and the comparisons.
    public var summary: String {
        func point(_ p: BudgetPoint?) -> String {
            p.map { String(format: "(D %.0f, E %.2f) S %.3f", $0.dataVolume, $0.epochs, surface.value($0)) } ?? "none (fallback to grid)"
        }
        if anchors.isEmpty {
            return String(format: "budget too small to calibrate (D, E): measured cost %.3g s·D·E + %.2f s per candidate; "
                          + "chosen (D* %d, E* %d), the most training that fits %.1f s per candidate (%.1f s predicted)",
                          cost.secondsPerSampleEpoch, cost.fixedSeconds, dataVolume, epochs, perCandidateBudgetSeconds, predictedSeconds)
        }
        let b = coefficients.map { String(format: "%.4g", $0) }
        var lines = [
            "budget-adaptive evaluation: \(anchors.count) anchors on \(Int(range.dataVolume.lowerBound))…\(Int(range.dataVolume.upperBound)) samples × "
                + "\(Int(range.epochs.lowerBound))…\(Int(range.epochs.upperBound)) epochs, reference (D \(referenceDataVolume), E \(referenceEpochs)), "
                + String(format: "calibration %.0f s", calibrationSeconds),
        ]
        for anchor in anchors {
            lines.append(String(format: "  anchor D %4d E %d: reliability %+.3f, %.1f s", anchor.dataVolume, anchor.epochs,
                                anchor.reliability, anchor.seconds))
        }
        lines += [
            "  S(D,E) = \(b[0]) + \(b[1])·D + \(b[2])·E + \(b[3])·D² + \(b[4])·E² + \(b[5])·D·E, R² \(String(format: "%.3f", rSquared)), "
                + (surface.isConcave ? "concave" : "not concave"),
            String(format: "  cost: measured %.3g s·D·E + %.2f s; linear %.3g s·D + %.3g s·E", cost.secondsPerSampleEpoch,
                   cost.fixedSeconds, cost.secondsPerSample, cost.secondsPerEpoch),
            "  Lagrange optimum, linear cost: \(point(linearCostOptimum)); measured cost: \(point(measuredCostOptimum))",
            String(format: "  chosen (D* %d, E* %d)%@: predicted reliability %.3f, %.1f s per candidate (budget %.1f s)",
                   dataVolume, epochs, usedGridFallback ? " by grid fallback" : "", predictedReliability, predictedSeconds,
                   perCandidateBudgetSeconds),
            String(format: "  same budget: joint %.3f, D only (E %d) %.3f at D %d, E only (D %d) %.3f at E %d",
                   predictedReliability, dataOnly.epochs, dataOnly.predictedReliability, dataOnly.dataVolume,
                   epochsOnly.dataVolume, epochsOnly.predictedReliability, epochsOnly.epochs),
        ]
        return lines.joined(separator: "\n")
    }

    /// The plan re-solved for another per-candidate budget on the same surface and cost model
    /// (no new measurements): used when calibration took more or less time than foreseen, or
    /// when a run falls behind its deadline.
    public func replanned(perCandidateBudgetSeconds budget: Double) -> BudgetPlan {
        var plan = self
        plan.perCandidateBudgetSeconds = budget
        let surface = self.surface
        let chosen = BudgetChoice.best(surface: surface, cost: cost, budgetSeconds: budget, range: range, batchSize: batchSize,
                                       fixedDataVolume: nil, fixedEpochs: nil)
        plan.dataVolume = chosen.dataVolume
        plan.epochs = chosen.epochs
        plan.predictedReliability = chosen.predictedReliability
        plan.predictedSeconds = chosen.predictedSeconds
        plan.linearCostOptimum = surface.lagrangeOptimum(secondsPerSample: cost.secondsPerSample,
                                                         secondsPerEpoch: cost.secondsPerEpoch, budgetSeconds: budget, range: range)
        plan.measuredCostOptimum = Self.measuredOptimum(surface: surface, cost: cost, budgetSeconds: budget, range: range)
        plan.usedGridFallback = plan.measuredCostOptimum == nil
        let middleEpochs = Int(((range.epochs.lowerBound + range.epochs.upperBound) / 2).rounded(.down))
        let middleVolume = anchors.isEmpty ? Int(range.dataVolume.lowerBound) : anchors.map(\.dataVolume).sorted()[anchors.count / 2]
        plan.dataOnly = BudgetChoice.best(surface: surface, cost: cost, budgetSeconds: budget, range: range, batchSize: batchSize,
                                          fixedDataVolume: nil, fixedEpochs: middleEpochs)
        plan.epochsOnly = BudgetChoice.best(surface: surface, cost: cost, budgetSeconds: budget, range: range, batchSize: batchSize,
                                            fixedDataVolume: middleVolume, fixedEpochs: nil)
        return plan
    }

    /// The maximum of S on the measured-cost curve α·D·E + γ = budget (the Lagrange condition
    /// ∇S ∥ ∇cost solved numerically along the curve), or the unconstrained maximum when it
    /// is cheaper; nil when S is not concave or the optimum leaves the range.
    static func measuredOptimum(surface: ResponseSurface, cost: ProbeCostModel, budgetSeconds: Double,
                                range: BudgetRange) -> BudgetPoint? {
        guard surface.isConcave else { return nil }
        let (b1, b2, b3, b4, b5) = (surface.coefficients[1], surface.coefficients[2], surface.coefficients[3],
                                    surface.coefficients[4], surface.coefficients[5])
        let determinant = 4 * b3 * b4 - b5 * b5
        let free = BudgetPoint(dataVolume: (-b1 * 2 * b4 + b2 * b5) / determinant, epochs: (-2 * b3 * b2 + b5 * b1) / determinant)
        if cost.measuredSeconds(free) <= budgetSeconds { return range.contains(free) ? free : nil }
        let sampleEpochs = (budgetSeconds - cost.fixedSeconds) / max(cost.secondsPerSampleEpoch, 1e-12)
        guard sampleEpochs > 0 else { return nil }
        var best: (BudgetPoint, Double)?
        let (low, high) = (log(range.dataVolume.lowerBound / 4), log(range.dataVolume.upperBound * 4))
        for step in 0...4000 {
            let d = exp(low + (high - low) * Double(step) / 4000)
            let point = BudgetPoint(dataVolume: d, epochs: sampleEpochs / d)
            let value = surface.value(point)
            if best == nil || value > best!.1 { best = (point, value) }
        }
        guard let point = best?.0, range.contains(point) else { return nil }
        return point
    }
}

/// A discrete (D, E) choice: D a multiple of the batch size, E whole epochs.
public struct BudgetChoice: Sendable, Codable, Equatable {
    public var dataVolume: Int
    public var epochs: Int
    public var predictedReliability: Double
    public var predictedSeconds: Double

    /// The highest-S point of the anchor range within budget under the measured cost;
    /// the cheapest point of the range when nothing fits.
    static func best(surface: ResponseSurface, cost: ProbeCostModel, budgetSeconds: Double, range: BudgetRange,
                     batchSize: Int, fixedDataVolume: Int?, fixedEpochs: Int?) -> BudgetChoice {
        let volumes = fixedDataVolume.map { [$0] }
            ?? Array(stride(from: Int(range.dataVolume.lowerBound), through: Int(range.dataVolume.upperBound), by: batchSize))
        let epochs = fixedEpochs.map { [$0] } ?? Array(Int(range.epochs.lowerBound)...Int(range.epochs.upperBound))
        var best: BudgetChoice?
        var cheapest: BudgetChoice?
        for d in volumes {
            for e in epochs {
                let point = BudgetPoint(dataVolume: Double(d), epochs: Double(e))
                let choice = BudgetChoice(dataVolume: d, epochs: e, predictedReliability: surface.value(point),
                                          predictedSeconds: cost.measuredSeconds(point))
                if cheapest == nil || choice.predictedSeconds < cheapest!.predictedSeconds { cheapest = choice }
                guard choice.predictedSeconds <= budgetSeconds else { continue }
                if best == nil || choice.predictedReliability > best!.predictedReliability { best = choice }
            }
        }
        return best ?? cheapest!
    }
}

/// Chooses the probe data volume D and epochs E for a per-candidate time budget.
///
/// Calibration, on k candidates (at least 3; by default drawn from the pool across families):
/// 1. a pilot run of every candidate at the smallest anchor volume, scored after each epoch,
///    gives the time per sample-epoch and is the first row of anchors;
/// 2. from it the anchor volumes are set so that the budget frontier D·E ≈ B (the
///    sample-epochs one candidate can afford) lies inside the anchor grid, shrunk when the
///    calibration budget cannot pay for that;
/// 3. two more runs per candidate (middle and top volume, all anchor epochs, scored after
///    each epoch: with a constant learning rate one E_max run holds every epoch anchor)
///    and one reference run at the top corner with an independent seed;
/// 4. reliability of an anchor = mean over probes of Kendall's tau between its raw scores of
///    the k candidates and the reference's (at the top corner this is seed stability);
/// 5. S(D, E) is fitted by least squares, the time models too, and (D*, E*) is the best
///    feasible point under the measured cost.
public struct BudgetAdaptiveEvaluator {
    public let suite: ProbeSuite
    /// Anchor epochs 1…maximumAnchorEpochs (read off single runs).
    public var maximumAnchorEpochs: Int
    /// Smallest anchor volume (the pilot run), in samples.
    public var pilotDataVolume: Int
    public var seed: UInt64
    /// Calibration candidates run side by side like the candidates they calibrate for, so
    /// that the measured cost is the cost under the same load; budgets are in runner-seconds.
    public var runs: ConcurrentRuns = .sequential

    public init(suite: ProbeSuite, maximumAnchorEpochs: Int = 3, pilotDataVolume: Int = 64, seed: UInt64 = 0) {
        self.suite = suite
        self.maximumAnchorEpochs = maximumAnchorEpochs
        self.pilotDataVolume = pilotDataVolume
        self.seed = seed
    }

    /// Splits a total budget the way `rank` and `search` both spend it: calibration may use
    /// `calibrationFraction` of it (less what `secondsSpent()` already reports gone), the rest
    /// is shared by `candidateCount` candidates, and the plan is then re-solved for the time
    /// really left, since calibration rarely takes exactly its share.
    public func plan(calibrationCandidates: [Architecture], totalBudgetSeconds: Double, candidateCount: Int,
                     calibrationFraction: Double, secondsSpent: () -> Double,
                     progress: (CalibrationProgress) -> Void = { _ in }) throws -> BudgetPlan {
        let plan = try plan(calibrationCandidates: calibrationCandidates,
                            perCandidateBudgetSeconds: (1 - calibrationFraction) * totalBudgetSeconds / Double(candidateCount),
                            calibrationBudgetSeconds: calibrationFraction * totalBudgetSeconds - secondsSpent(),
                            progress: progress)
        return plan.replanned(perCandidateBudgetSeconds: max(totalBudgetSeconds - secondsSpent(), 0) / Double(candidateCount))
    }

    /// Calibrates on `calibrationCandidates` and returns the plan for `perCandidateBudgetSeconds`.
    ///
    /// - Parameter calibrationBudgetSeconds: wall time calibration may take in all; the
    ///   anchors shrink to fit it (nil: anchors sized for the per-candidate budget only).
    /// - Throws: ``ProbeError/badRequest(_:)`` for fewer than 3 candidates or a budget too
    ///   small for one pilot; errors of ``ProbeSuite/evaluate(_:dataVolume:epochs:seed:)``;
    ///   `LeastSquares.Failure` when the fit fails.
    public func plan(calibrationCandidates: [Architecture], perCandidateBudgetSeconds: Double,
                     calibrationBudgetSeconds: Double? = nil,
                     progress: (CalibrationProgress) -> Void = { _ in }) throws -> BudgetPlan {
        let candidates = calibrationCandidates
        guard candidates.count >= 3 else {
            throw ProbeError.badRequest("budget calibration needs at least 3 candidates to rank, got \(candidates.count)")
        }
        guard maximumAnchorEpochs >= 3 else {
            throw ProbeError.badRequest("budget calibration needs at least 3 anchor epochs for a quadratic in E, got \(maximumAnchorEpochs)")
        }
        let start = Date()
        let batch = suite.configuration.batchSize
        let epochs = maximumAnchorEpochs
        let allEpochs = Set(1...epochs)
        let totalRuns = 4 * candidates.count
        var completed = 0
        // trajectories[volume][candidate] = results by epoch
        var trajectories: [Int: [[Int: ProbeResult]]] = [:]
        let pilot = suite.effectiveDataVolume(pilotDataVolume)
        /// Each candidate's run at one volume, in candidate order, with progress as runs finish.
        func runEach(stage: (Int) -> String, _ run: (Architecture) throws -> [Int: ProbeResult]) throws -> [[Int: ProbeResult]] {
            var results = [[Int: ProbeResult]?](repeating: nil, count: candidates.count)
            try runs.forEach(candidates.count, prepare: { index in
                progress(CalibrationProgress(completedRuns: completed, totalRuns: totalRuns, stage: stage(index)))
            }, work: { index, _ in try run(candidates[index]) }, finish: { index, result in
                results[index] = result
                completed += 1
            })
            return results.map { $0! }
        }
        trajectories[pilot] = try runEach(stage: { "pilot \($0 + 1)/\(candidates.count)" }) {
            try suite.evaluateTrajectory($0, dataVolume: pilot, epochs: epochs, scoredEpochs: allEpochs, seed: seed)
        }
        let pilotCost = Self.fitMeasuredCost(trajectories: trajectories)
        let pilotSeconds = Date().timeIntervalSince(start) * Double(runs.runners)
        // The pilot trajectories measured what calibration really costs on these candidates.
        // When even the smallest anchors (pilot + 1 and + 2 batches) would overrun the share
        // by more than 20 %, calibration stops here and (D, E) comes from the measured cost:
        // a 5-minute run once spent 257 s of its 90 s share on anchors and left 1 s per candidate.
        if let calibrationBudgetSeconds {
            let smallestAnchors = Double(epochs * ((pilot + batch) + 2 * (pilot + 2 * batch)))
            let anchorSeconds = Double(candidates.count) * (pilotCost.perSampleEpoch * smallestAnchors + 3 * pilotCost.fixed)
            if pilotSeconds + anchorSeconds > 1.2 * calibrationBudgetSeconds {
                return uncalibratedPlan(perSampleEpoch: pilotCost.perSampleEpoch, fixed: pilotCost.fixed,
                                        calibrationSeconds: Date().timeIntervalSince(start),
                                        perCandidateBudgetSeconds: perCandidateBudgetSeconds)
            }
        }
        // Sample-epochs a candidate can afford, and the calibration's own limit on the grid.
        var frontier = max(Double(4 * batch), (perCandidateBudgetSeconds - pilotCost.fixed) / max(pilotCost.perSampleEpoch, 1e-9))
        if let calibrationBudgetSeconds {
            // Remaining runs per candidate: middle + top trajectories and the reference,
            // ≈ E·(middle + 2·top) sample-epochs + 3 fixed costs, with top = B/2 and middle ≈ B/4.
            let remaining = calibrationBudgetSeconds - pilotSeconds
            let perCandidate = remaining / Double(candidates.count) - 3 * pilotCost.fixed
            let affordable = perCandidate / (pilotCost.perSampleEpoch * Double(epochs) * 1.25)
            frontier = max(Double(4 * batch), min(frontier, affordable))
        }
        // Three distinct volumes at least (a quadratic in D), however small the budget.
        let top = max(suite.effectiveDataVolume(Int(frontier / 2)), pilot + 2 * batch)
        let middle = min(max(suite.effectiveDataVolume(Int((Double(pilot) * Double(top)).squareRoot())), pilot + batch), top - batch)
        for volume in [middle, top] {
            trajectories[volume] = try runEach(stage: { "anchors D \(volume), candidate \($0 + 1)/\(candidates.count)" }) {
                try suite.evaluateTrajectory($0, dataVolume: volume, epochs: epochs, scoredEpochs: allEpochs, seed: seed)
            }
        }
        let references = try runEach(stage: { "reference D \(top) E \(epochs), candidate \($0 + 1)/\(candidates.count)" }) {
            [epochs: try suite.evaluate($0, dataVolume: top, epochs: epochs, seed: seed &+ 0x5EED)]
        }.map { $0[epochs]! }
        progress(CalibrationProgress(completedRuns: completed, totalRuns: totalRuns, stage: "fitting"))
        var anchors: [BudgetAnchor] = []
        for volume in trajectories.keys.sorted() {
            for epoch in 1...epochs {
                let results = trajectories[volume]!.map { $0[epoch]! }
                anchors.append(BudgetAnchor(dataVolume: volume, epochs: epoch,
                                            reliability: Self.reliability(results, reference: references),
                                            seconds: SampleStatistics.mean(results.map(\.seconds))))
            }
        }
        let points = anchors.map { BudgetPoint(dataVolume: Double($0.dataVolume), epochs: Double($0.epochs)) }
        let surface = try ResponseSurface.fit(points: points, values: anchors.map(\.reliability))
        let measured = try LeastSquares.solve(design: points.map { [$0.dataVolume * $0.epochs, 1] }, targets: anchors.map(\.seconds))
        let linear = try LeastSquares.solve(design: points.map { [$0.dataVolume, $0.epochs] }, targets: anchors.map(\.seconds))
        let cost = ProbeCostModel(secondsPerSampleEpoch: max(measured[0], 1e-9), fixedSeconds: max(measured[1], 0),
                                  secondsPerSample: linear[0], secondsPerEpoch: linear[1])
        let range = BudgetRange(dataVolume: Double(pilot)...Double(top), epochs: 1...Double(epochs))
        let placeholder = BudgetChoice(dataVolume: pilot, epochs: 1, predictedReliability: 0, predictedSeconds: 0)
        let plan = BudgetPlan(
            dataVolume: pilot, epochs: 1, coefficients: surface.coefficients, rSquared: surface.rSquared,
            predictedReliability: 0, predictedSeconds: 0, perCandidateBudgetSeconds: perCandidateBudgetSeconds,
            anchors: anchors, referenceDataVolume: top, referenceEpochs: epochs, cost: cost, range: range, batchSize: batch,
            linearCostOptimum: nil, measuredCostOptimum: nil, usedGridFallback: true, dataOnly: placeholder,
            epochsOnly: placeholder, calibrationSeconds: Date().timeIntervalSince(start))
        return plan.replanned(perCandidateBudgetSeconds: perCandidateBudgetSeconds)
    }

    /// A plan for a budget too small to calibrate: two timed runs of `candidate` at one and
    /// eight batches (one epoch; a wide gap, so that timing noise does not swamp the slope)
    /// give the cost model seconds = c·D·E + f, and (D, E) is the
    /// largest D·E that fits the per-candidate budget (the surface is S = D·E: without
    /// calibration, more training is assumed to rank better). Its summary says so.
    ///
    /// - Parameters:
    ///   - oneBatch: the candidate's result at one batch and one epoch, when already measured.
    ///   - perCandidateBudgetSeconds: asked after the measurements, which take time too.
    public func uncalibratedPlan(candidate: Architecture, oneBatch: ProbeResult? = nil,
                                 perCandidateBudgetSeconds: () -> Double) throws -> BudgetPlan {
        let start = Date()
        let batch = suite.configuration.batchSize
        let small = try oneBatch ?? runs.asOneRun { try suite.evaluate(candidate, dataVolume: batch, epochs: 1, seed: seed) }
        let largeVolume = suite.effectiveDataVolume(8 * batch)
        let large = try runs.asOneRun { try suite.evaluate(candidate, dataVolume: largeVolume, epochs: 1, seed: seed) }
        let perSampleEpoch = max(1e-9, (large.seconds - small.seconds) / Double(max(batch, largeVolume - batch)))
        let fixed = max(0, small.seconds - perSampleEpoch * Double(batch))
        return uncalibratedPlan(perSampleEpoch: perSampleEpoch, fixed: fixed, calibrationSeconds: Date().timeIntervalSince(start),
                                perCandidateBudgetSeconds: perCandidateBudgetSeconds())
    }

    /// The largest D·E that seconds = perSampleEpoch·D·E + fixed fits in the per-candidate
    /// budget, without anchors.
    func uncalibratedPlan(perSampleEpoch: Double, fixed: Double, calibrationSeconds: Double,
                          perCandidateBudgetSeconds: Double) -> BudgetPlan {
        let batch = suite.configuration.batchSize
        let cost = ProbeCostModel(secondsPerSampleEpoch: perSampleEpoch, fixedSeconds: fixed, secondsPerSample: perSampleEpoch,
                                  secondsPerEpoch: fixed)
        let range = BudgetRange(dataVolume: Double(batch)...Double(suite.configuration.maximumDataVolume / batch * batch),
                                epochs: 1...Double(maximumAnchorEpochs))
        let placeholder = BudgetChoice(dataVolume: batch, epochs: 1, predictedReliability: 0, predictedSeconds: 0)
        let plan = BudgetPlan(
            dataVolume: batch, epochs: 1, coefficients: [0, 0, 0, 0, 0, 1e-6], rSquared: 0, predictedReliability: 0,
            predictedSeconds: 0, perCandidateBudgetSeconds: 0, anchors: [], referenceDataVolume: 0,
            referenceEpochs: 0, cost: cost, range: range, batchSize: batch, linearCostOptimum: nil, measuredCostOptimum: nil,
            usedGridFallback: true, dataOnly: placeholder, epochsOnly: placeholder, calibrationSeconds: calibrationSeconds)
        return plan.replanned(perCandidateBudgetSeconds: perCandidateBudgetSeconds)
    }

    /// Seconds a calibration on `candidates` candidates needs at the least: four runs each
    /// (pilot, two anchor trajectories, reference) of `maximumAnchorEpochs` epochs, the last
    /// three at 1.5 and 2 times the pilot volume or more, from one timed pilot-sized epoch.
    public func minimumCalibrationSeconds(candidates: Int, pilotEpochSeconds: Double) -> Double {
        Double(candidates * maximumAnchorEpochs) * pilotEpochSeconds * (1 + 1.5 + 2 + 2)
    }

    /// Mean over probes of Kendall's tau between `results` and `reference` (same candidates,
    /// same order); a diverged score takes the worst value, a probe without spread counts 0.
    static func reliability(_ results: [ProbeResult], reference: [ProbeResult]) -> Double {
        let anchor = ProbeAggregation.totals(results), truth = ProbeAggregation.totals(reference)
        var total = 0.0
        for kind in ProbeKind.allCases {
            total += RankCorrelation.kendallTau(anchor.map { $0.standardized[kind]! }, truth.map { $0.standardized[kind]! }) ?? 0
        }
        return total / Double(ProbeKind.allCases.count)
    }

    /// seconds ≈ perSampleEpoch·D·E + fixed over every run and epoch so far.
    static func fitMeasuredCost(trajectories: [Int: [[Int: ProbeResult]]]) -> (perSampleEpoch: Double, fixed: Double) {
        var design: [[Double]] = [], targets: [Double] = []
        for (volume, candidateTrajectories) in trajectories {
            for trajectory in candidateTrajectories {
                for (epoch, result) in trajectory {
                    design.append([Double(volume * epoch), 1])
                    targets.append(result.seconds)
                }
            }
        }
        guard let solution = try? LeastSquares.solve(design: design, targets: targets), solution[0] > 0 else {
            let mean = targets.isEmpty ? 1 : SampleStatistics.mean(targets)
            let sampleEpochs = design.isEmpty ? 1 : SampleStatistics.mean(design.map { $0[0] })
            return (mean / max(sampleEpochs, 1), 0)
        }
        return (solution[0], max(0, solution[1]))
    }
}
