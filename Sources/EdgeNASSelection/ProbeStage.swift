import EdgeNASCore
import EdgeNASProbes
import EdgeNASTensor
import Foundation

/// What the probe stage reports while it runs.
public enum ProbeStageEvent: Sendable {
    case calibration(CalibrationProgress)
    case planned(BudgetPlan)
    /// Candidates from `index` on get a smaller (D, E) because the stage is late.
    case shrunk(fromCandidate: Int, dataVolume: Int, epochs: Int)
    case passStarted(pass: Int, dataVolume: Int, epochs: Int, candidates: Int)
    case scored(pass: Int, done: Int, total: Int, id: String, result: ProbeResult)
}

/// The probe stage's settings.
public struct ProbeStageSettings: Sendable {
    /// Share of the stage's budget spent calibrating (D, E).
    public var calibrationFraction: Double
    /// Calibration candidates, drawn to span the pool's cost range within each family.
    public var calibrationCandidates: Int
    /// Most probe seeds averaged per candidate when time is left after the first pass.
    public var maximumSeeds: Int
    /// Fixed (D, E): skips calibration.
    public var fixedDataVolume: Int?
    public var fixedEpochs: Int?
    public var weights: [ProbeKind: Double]
    public var seed: UInt64
    /// Candidates probed side by side, each on its own threads. Results equal a sequential
    /// run's at the same threads per candidate; the budget is shared as runner-seconds.
    public var runs: ConcurrentRuns

    public init(calibrationFraction: Double = 0.3, calibrationCandidates: Int = 8, maximumSeeds: Int = 3,
                fixedDataVolume: Int? = nil, fixedEpochs: Int? = nil, weights: [ProbeKind: Double] = [:], seed: UInt64 = 0,
                runs: ConcurrentRuns = .sequential) {
        self.runs = runs
        self.calibrationFraction = calibrationFraction
        self.calibrationCandidates = calibrationCandidates
        self.maximumSeeds = maximumSeeds
        self.fixedDataVolume = fixedDataVolume
        self.fixedEpochs = fixedEpochs
        self.weights = weights
        self.seed = seed
    }
}

/// What the probe stage produced.
public struct ProbeStageOutcome: Sendable {
    /// Per candidate, the mean over the probe seeds of each raw score.
    public var results: [ProbeResult]
    /// Σ w_p z_p per candidate, higher is better.
    public var totals: [AggregatedScore]
    public var plan: BudgetPlan?
    public var seedCount: Int
    /// Candidates from this index on were scored at a reduced (D, E).
    public var shrunkAt: Int?
    /// The per-seed results of each pass, for the seed-stability report.
    public var passes: [[ProbeResult]]
}

/// The six probes over a pool within a budget: calibrate (D, E) on candidates spanning the
/// pool's cost range, score every candidate (shrinking (D, E) when late), then spend what is
/// left on whole extra passes with new probe seeds, averaged per candidate.
public struct ProbeStage {
    public let suite: ProbeSuite
    public let settings: ProbeStageSettings

    public init(suite: ProbeSuite, settings: ProbeStageSettings) {
        self.suite = suite
        self.settings = settings
    }

    /// - Throws: ``ProbeError`` for candidates the probes cannot score; `CancellationError`
    ///   when `shouldStop` says so between candidates.
    public func run(_ candidates: [SelectionCandidate], budgetSeconds: Double, events: (ProbeStageEvent) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> ProbeStageOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        // With N runners the budget buys N candidate-seconds per second: every time below is
        // in runner-seconds, which is what the cost model's per-candidate times add up to.
        let runners = Double(settings.runs.runners)
        func secondsSpent() -> Double { (clock.now - start).seconds * runners }
        func secondsLeft() -> Double { budgetSeconds * runners - secondsSpent() }
        let count = candidates.count
        var plan: BudgetPlan?
        var dataVolume = settings.fixedDataVolume ?? 0, epochs = settings.fixedEpochs ?? 0
        if settings.fixedDataVolume == nil || settings.fixedEpochs == nil {
            guard count >= 3 else {
                throw ProbeError.badRequest("calibrating D and E needs at least 3 candidates, got \(count); fix D and E to score fewer")
            }
            let planned = try Self.plan(suite: suite, settings: settings, candidates: candidates.map(\.architecture),
                                        budgetSeconds: budgetSeconds * runners, secondsSpent: secondsSpent,
                                        progress: { events(.calibration($0)) })
            plan = planned
            dataVolume = planned.dataVolume
            epochs = planned.epochs
            events(.planned(planned))
        }
        var schedule = plan.map(ProbeBudgetSchedule.init)
        var shrunkAt: Int?
        var first = [ProbeResult?](repeating: nil, count: count)
        var done = 0
        events(.passStarted(pass: 0, dataVolume: dataVolume, epochs: epochs, candidates: count))
        try settings.runs.forEach(count, prepare: { index -> (dataVolume: Int, epochs: Int) in
            if shouldStop() { throw CancellationError() }
            if var current = schedule {
                // Runs in flight are not counted as left: they are paid for already.
                let setting = current.next(secondsLeft: secondsLeft(), candidatesLeft: count - index)
                if setting.shrunk {
                    events(.shrunk(fromCandidate: index, dataVolume: setting.dataVolume, epochs: setting.epochs))
                    shrunkAt = shrunkAt ?? index
                }
                dataVolume = setting.dataVolume
                epochs = setting.epochs
                schedule = current
            }
            return (dataVolume, epochs)
        }, work: { index, setting in
            try suite.evaluate(candidates[index].architecture, dataVolume: setting.dataVolume, epochs: setting.epochs, seed: settings.seed)
        }, finish: { index, result in
            first[index] = result
            schedule?.record(result)
            done += 1
            events(.scored(pass: 0, done: done, total: count, id: candidates[index].id, result: result))
        })
        // Leftover budget buys extra passes with new probe seeds at one (D, E) sized to the
        // time left, so every candidate gets the same passes and scores stay comparable.
        var passes = [first.map { $0! }]
        while let current = schedule, passes.count < settings.maximumSeeds,
              let extra = current.extraPassSetting(secondsLeft: secondsLeft(), candidates: count) {
            let passSeed = settings.seed &+ UInt64(passes.count) &* 0x9E37_79B9
            let passIndex = passes.count
            events(.passStarted(pass: passIndex, dataVolume: extra.dataVolume, epochs: extra.epochs, candidates: count))
            var pass = [ProbeResult?](repeating: nil, count: count)
            done = 0
            try settings.runs.forEach(count, prepare: { _ in
                if shouldStop() { throw CancellationError() }
            }, work: { index, _ in
                try suite.evaluate(candidates[index].architecture, dataVolume: extra.dataVolume, epochs: extra.epochs, seed: passSeed)
            }, finish: { index, result in
                pass[index] = result
                schedule?.record(result)
                done += 1
                events(.scored(pass: passIndex, done: done, total: count, id: candidates[index].id, result: result))
            })
            passes.append(pass.map { $0! })
        }
        let results = candidates.indices.map { index in ProbeResult.seedAverage(passes.map { $0[index] }) }
        return ProbeStageOutcome(results: results, totals: ProbeAggregation.totals(results, weights: settings.weights), plan: plan,
                                 seedCount: passes.count, shrunkAt: shrunkAt, passes: passes)
    }

    /// The (D, E) plan for `candidates` within `budgetSeconds`, deadline-aware: one timed
    /// pilot epoch says what calibration costs; it runs on as many candidates (spanning the
    /// cost range) as `calibrationFraction` of the budget pays for, and not at all when that
    /// is fewer than three, in which case (D, E) is the most training the cost model fits
    /// (``BudgetAdaptiveEvaluator/uncalibratedPlan(candidate:oneBatch:perCandidateBudgetSeconds:)``).
    public static func plan(suite: ProbeSuite, settings: ProbeStageSettings, candidates architectures: [Architecture],
                            budgetSeconds: Double, secondsSpent: () -> Double,
                            progress: (CalibrationProgress) -> Void) throws -> BudgetPlan {
        var evaluator = BudgetAdaptiveEvaluator(suite: suite, seed: settings.seed)
        evaluator.runs = settings.runs
        // The pilot is the median-cost candidate: the cheapest one made a 6-candidate
        // calibration look affordable that then took 3.3 times its share.
        let pilotIndex = architectures.indices.sorted { (architectures[$0].cost.flops, $0) < (architectures[$1].cost.flops, $1) }[architectures.count / 2]
        // One batch, one epoch: the cheapest probe run, so a tiny budget loses little to it; it
        // underestimates a pilot epoch, which the margins of minimumCalibrationSeconds cover.
        let pilot = try settings.runs.asOneRun {
            try suite.evaluate(architectures[pilotIndex], dataVolume: suite.configuration.batchSize, epochs: 1, seed: settings.seed)
        }
        let calibrationSeconds = settings.calibrationFraction * budgetSeconds - secondsSpent()
        var affordable = min(settings.calibrationCandidates, architectures.count)
        while affordable >= 3,
              evaluator.minimumCalibrationSeconds(candidates: affordable, pilotEpochSeconds: pilot.seconds) > calibrationSeconds {
            affordable -= 1
        }
        guard affordable >= 3 else {
            return try evaluator.uncalibratedPlan(candidate: architectures[pilotIndex], oneBatch: pilot,
                                                  perCandidateBudgetSeconds: { max(0, budgetSeconds - secondsSpent()) / Double(architectures.count) })
        }
        let chosen = calibrationSet(architectures, count: affordable)
        return try evaluator.plan(calibrationCandidates: chosen.map { architectures[$0] }, totalBudgetSeconds: budgetSeconds,
                                  candidateCount: architectures.count, calibrationFraction: settings.calibrationFraction,
                                  secondsSpent: secondsSpent, progress: progress)
    }

    /// Up to `count` indices spanning the cost range: each family's share of the pool (at
    /// least 3 per family where the family has them), taken at evenly spaced FLOPs quantiles
    /// so that calibration sees the small and the large candidates, not a lucky draw.
    public static func calibrationSet(_ architectures: [Architecture], count: Int) -> [Int] {
        let families = ArchitectureFamily.allCases.map { family in architectures.indices.filter { architectures[$0].family == family } }
            .filter { !$0.isEmpty }
        let wanted = min(count, architectures.count)
        var chosen: [Int] = []
        for members in families {
            let share = max(min(3, members.count), Int((Double(wanted) * Double(members.count) / Double(architectures.count)).rounded()))
            let sorted = members.sorted { (architectures[$0].cost.flops, $0) < (architectures[$1].cost.flops, $1) }
            let take = min(share, sorted.count)
            for step in 0..<take {
                let position = take == 1 ? sorted.count / 2 : Int((Double(step) * Double(sorted.count - 1) / Double(take - 1)).rounded())
                if !chosen.contains(sorted[position]) { chosen.append(sorted[position]) }
            }
        }
        return chosen
    }
}
