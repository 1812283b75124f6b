import EdgeNASCore
import Foundation
import EdgeNASData
import EdgeNASProbes
import EdgeNASTensor
@testable import EdgeNASSelection
import XCTest

/// A task whose true accuracy per candidate is known; noise shrinks as training grows, so a
/// longer rung tells the candidates apart better, as real training does.
final class FakeTask: TaskTrainer {
    let truth: [String: Double]
    let noise: [String: Double]
    var trainedUnits: [(id: String, fidelity: TaskFidelity)] = []
    let trainingPoolSize: Int
    let secondsPerSampleEpoch: Double
    /// Wall time each unit really takes, whatever its cost model says.
    var sleepSeconds = 0.0
    /// Each unit sleeps as long as its cost model says (secondsPerSampleEpoch × sample passes).
    var sleepsAsCosted = false

    init(truth: [String: Double], noise: [String: Double] = [:], poolSize: Int = 50_000, secondsPerSampleEpoch: Double = 1e-7) {
        self.truth = truth
        self.noise = noise
        self.trainingPoolSize = poolSize
        self.secondsPerSampleEpoch = secondsPerSampleEpoch
    }

    func measureCost(_ architecture: Architecture) throws -> (perSampleEpoch: Double, fixed: Double) { (secondsPerSampleEpoch, 0) }

    func trainAndValidate(_ architecture: Architecture, fidelity: TaskFidelity, seed: UInt64,
                          shouldStop: () -> Bool) throws -> (validationAccuracy: Double, diverged: Bool) {
        let id = architecture.id
        trainedUnits.append((id, fidelity))
        if sleepSeconds > 0 { Thread.sleep(forTimeInterval: sleepSeconds) }
        if sleepsAsCosted { Thread.sleep(forTimeInterval: secondsPerSampleEpoch * Double(fidelity.sampleEpochs)) }
        let accuracy = truth[id]! + (noise[id] ?? 0) * 4096 / Double(fidelity.sampleEpochs)
        return (accuracy, false)
    }
}

func sampleArchitectures(_ count: Int, seed: UInt64 = 1, space name: String = "fmnist-mbconv-tiny.json") throws -> [Architecture] {
    let space = try SearchSpace(jsonData: Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(name)")), file: name)
    var generator = SeededGenerator(seed: seed)
    var seen = Set<String>(), result: [Architecture] = []
    while result.count < count {
        let architecture = space.sample(using: &generator)
        if seen.insert(architecture.id).inserted { result.append(architecture) }
    }
    return result
}

final class SelectionRegretTests: XCTestCase {
    func testRegretOfThePickAgainstTheBestFeasible() {
        // Costs 1…4; the limit 2.5 admits the first two, of which the second is better.
        let accuracies = [0.90, 0.92, 0.95, 0.80], costs = [1.0, 2.0, 3.0, 4.0]
        XCTAssertEqual(SelectionRegret.regretPoints(scores: [2, 1, 0, 0], accuracies: accuracies, costs: costs, limit: 2.5)!, 2, accuracy: 1e-9)
        XCTAssertEqual(SelectionRegret.regretPoints(scores: [1, 2, 0, 0], accuracies: accuracies, costs: costs, limit: 2.5)!, 0, accuracy: 1e-9)
        XCTAssertEqual(SelectionRegret.regretPoints(scores: [0, 0, 0, 9], accuracies: accuracies, costs: costs, limit: 4)!, 15, accuracy: 1e-9)
        XCTAssertNil(SelectionRegret.regretPoints(scores: [0, 0, 0, 0], accuracies: accuracies, costs: costs, limit: 0.5))
        XCTAssertEqual(SelectionRegret.randomRegretPoints(accuracies: accuracies, costs: costs, limit: 2.5)!, 1, accuracy: 1e-9)
    }

    func testLimitsSitAtTheQuantilesOfTheCosts() {
        XCTAssertEqual(SelectionRegret.limits(costs: [1, 2, 3, 4, 5]), [2.2, 3, 3.8, 5])
    }

    func testQualityRowsPerFamilyAndRandomPick() throws {
        let accuracies: [Double?] = [0.9, 0.8, 0.7, nil]
        let rows = SelectionQuality.rows(scorers: [("perfect", [3, 2, 1, 0])], families: [.mbconv, .mbconv, .mbconv, .mbconv],
                                         accuracies: accuracies, costs: [1, 1, 1, 1])
        XCTAssertEqual(rows.map(\.scorer), ["perfect", "random"])
        XCTAssertEqual(rows[0].count, 3)
        XCTAssertEqual(rows[0].kendallTau!, 1, accuracy: 1e-12)
        XCTAssertEqual(rows[0].regret!.meanRegretPoints, 0, accuracy: 1e-12)
        XCTAssertEqual(rows[1].regret!.meanRegretPoints, 10, accuracy: 1e-9)
    }
}

final class SuccessiveHalvingTests: XCTestCase {
    func testRungSizesHalveDownToTwo() {
        XCTAssertEqual(SuccessiveHalving.rungSizes(entrants: 12), [12, 6, 3, 2])
        XCTAssertEqual(SuccessiveHalving.rungSizes(entrants: 5), [5, 3, 2])
        XCTAssertEqual(SuccessiveHalving.rungSizes(entrants: 2), [2])
        XCTAssertEqual(SuccessiveHalving.rungSizes(entrants: 1), [1])
    }

    func testHalvingKeepsTheBestAndDoublesTheirTraining() throws {
        let architectures = try sampleArchitectures(8)
        let truth = Dictionary(uniqueKeysWithValues: architectures.enumerated().map { ($1.id, 0.8 + 0.01 * Double($0)) })
        let task = FakeTask(truth: truth)
        let halving = SuccessiveHalving(settings: FinalStageSettings(capacityPriorWeight: 0), trainer: task, store: MemoryRungStore())
        let candidates = architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }
        let outcome = try halving.run(candidates, prior: [:], budgetSeconds: 0.05)
        XCTAssertEqual(outcome.plans.map(\.candidateIDs.count), [8, 4, 2])
        for (earlier, later) in zip(outcome.plans, outcome.plans.dropFirst()) {
            XCTAssertGreaterThanOrEqual(later.fidelity.sampleEpochs, earlier.fidelity.sampleEpochs)
        }
        XCTAssertEqual(Set(outcome.plans[2].candidateIDs), Set(architectures.suffix(2).map(\.id)))
        let ranking = SelectionRanking(candidateIDs: candidates.map(\.id), screeningScore: Array(repeating: 0, count: 8),
                                       finalStage: outcome, prior: [:], priorWeight: 0)
        XCTAssertEqual(ranking.order.first, 7, "the most accurate candidate wins")
        XCTAssertEqual(ranking.order.count, 8)
    }

    func testTheBudgetLimitsEntrantsAndEveryRungFitsTheTimeLeft() throws {
        let architectures = try sampleArchitectures(16)
        let task = FakeTask(truth: Dictionary(uniqueKeysWithValues: architectures.map { ($0.id, 0.9) }), secondsPerSampleEpoch: 1e-3)
        let settings = FinalStageSettings(minimumTrainingSamples: 512, capacityPriorWeight: 0)
        let halving = SuccessiveHalving(settings: settings, trainer: task, store: MemoryRungStore())
        // 1 s at 1 ms per sample pass pays for about 1000 passes: far fewer than 16 × 1024.
        let entrants = halving.entrants(architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }, budgetSeconds: 20,
                                        costs: Dictionary(uniqueKeysWithValues: architectures.map { ($0.id, (1e-3, 0.0)) }))
        XCTAssertLessThan(entrants, 16)
        XCTAssertGreaterThanOrEqual(entrants, 2)
        let passes = SuccessiveHalving.affordableSampleEpochs(seconds: 20, costs: Array(repeating: (1e-3, 0), count: entrants),
                                                              sizes: SuccessiveHalving.rungSizes(entrants: entrants))
        XCTAssertGreaterThanOrEqual(passes, 1024)
    }

    func testParallelTrainersBuyMoreTrainingPerRung() {
        let costs = Array(repeating: (perSampleEpoch: 1e-3, fixed: 0.0), count: 4)
        let serial = SuccessiveHalving.affordableSampleEpochs(seconds: 8, costs: costs, sizes: [4, 2])
        // Rungs of 4 then 2 members: 2 trainers halve both; 4 trainers quarter the first, halve the second.
        XCTAssertEqual(SuccessiveHalving.affordableSampleEpochs(seconds: 8, costs: costs, sizes: [4, 2], trainers: 2), 2 * serial, accuracy: 1e-6)
        XCTAssertEqual(SuccessiveHalving.affordableSampleEpochs(seconds: 8, costs: costs, sizes: [4, 2], trainers: 4), 8.0 / 3 * serial,
                       accuracy: 1e-6)
        XCTAssertEqual(SuccessiveHalving.affordableSampleEpochs(seconds: 8, costs: costs, sizes: [4, 2], trainers: 1), serial)
    }

    func testAResumedStageTrainsNoUnitTwice() throws {
        let architectures = try sampleArchitectures(6)
        let truth = Dictionary(uniqueKeysWithValues: architectures.enumerated().map { ($1.id, 0.8 + 0.01 * Double($0)) })
        let store = MemoryRungStore()
        let candidates = architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }
        let first = FakeTask(truth: truth)
        var units = 0
        let stopping = SuccessiveHalving(settings: FinalStageSettings(), trainer: first, store: store,
                                         events: { if case .unitDone = $0 { units += 1 } }, shouldStop: { units >= 4 })
        XCTAssertThrowsError(try stopping.run(candidates, prior: [:], budgetSeconds: 0.05)) { XCTAssertTrue($0 is CancellationError) }
        XCTAssertEqual(first.trainedUnits.count, 4)
        let second = FakeTask(truth: truth)
        let outcome = try SuccessiveHalving(settings: FinalStageSettings(), trainer: second, store: store)
            .run(candidates, prior: [:], budgetSeconds: 0.05)
        let total = outcome.results.joined().count
        XCTAssertEqual(second.trainedUnits.count, total - 4, "the resumed stage trains only the units not yet stored")
        XCTAssertEqual(outcome.plans[0].fidelity, try XCTUnwrap(store.rungPlan(0)).fidelity)
    }

    /// Units slower than the cost model foresaw use up the budget in rung 0: the stage stops
    /// there instead of training a rung it cannot pay for.
    func testTheStageStopsWhenTheNextRungCannotBePaidFor() throws {
        let architectures = try sampleArchitectures(4)
        let task = FakeTask(truth: Dictionary(uniqueKeysWithValues: architectures.map { ($0.id, 0.9) }))
        task.sleepSeconds = 0.05
        var reasons: [String] = []
        let halving = SuccessiveHalving(settings: FinalStageSettings(), trainer: task, store: MemoryRungStore(),
                                        events: { if case let .skipped(reason) = $0 { reasons.append(reason) } })
        let outcome = try halving.run(architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }, prior: [:], budgetSeconds: 0.12)
        XCTAssertEqual(outcome.plans.count, 1)
        XCTAssertEqual(task.trainedUnits.count, 4)
        XCTAssertEqual(reasons.count, 1)
        XCTAssertTrue(reasons[0].hasPrefix("stopped after rung 0"), reasons[0])
    }

    /// Units slower than the cost model foresaw leave too little time for the planned rungs 1
    /// and 2: the stage cuts its schedule and trains a shorter one instead of stopping after
    /// rung 0 with time unspent.
    func testASlowRungCutsTheScheduleInsteadOfEndingTheStage() throws {
        let architectures = try sampleArchitectures(8)
        let task = FakeTask(truth: Dictionary(uniqueKeysWithValues: architectures.enumerated().map { ($1.id, 0.8 + 0.01 * Double($0)) }))
        task.sleepSeconds = 0.05
        var cuts: [(rung: Int, rungsLeft: Int, members: Int)] = []
        let halving = SuccessiveHalving(settings: FinalStageSettings(), trainer: task, store: MemoryRungStore(), events: {
            if case let .scheduleCut(rung, rungsLeft, members, _) = $0 { cuts.append((rung, rungsLeft, members)) }
        })
        // Rung 0 takes 8 × 0.05 s of the 0.75 s; rungs 1 and 2 at rung 0's training would take
        // 4 × 0.05 + 2 × 0.1 s, more than the 0.35 s left.
        let outcome = try halving.run(architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }, prior: [:], budgetSeconds: 0.75)
        XCTAssertEqual(outcome.plans.count, 2, "one more rung after the cut, then the stage ends")
        XCTAssertEqual(cuts.count, 1)
        XCTAssertEqual(cuts.first?.rung, 1)
        XCTAssertEqual(cuts.first?.rungsLeft, 1)
        XCTAssertLessThanOrEqual(outcome.plans[1].candidateIDs.count, 4)
        XCTAssertGreaterThanOrEqual(outcome.plans[1].fidelity.sampleEpochs, outcome.plans[0].fidelity.sampleEpochs)
        // The survivors are rung 0's best.
        let best = outcome.results[0].sorted { $0.validationAccuracy > $1.validationAccuracy }.prefix(outcome.plans[1].candidateIDs.count)
        XCTAssertEqual(Set(outcome.plans[1].candidateIDs), Set(best.map(\.candidateID)))
    }

    /// With units that take what the cost model says, the stage runs all its rungs and spends
    /// most of its budget (a 5-minute run once planned its entrants for all of the time left
    /// and its check for 92 % of it, and skipped the stage).
    func testWithAnAccurateCostModelTheStageSpendsItsBudget() throws {
        let architectures = try sampleArchitectures(12)
        let task = FakeTask(truth: Dictionary(uniqueKeysWithValues: architectures.enumerated().map { ($1.id, 0.8 + 0.01 * Double($0)) }),
                            secondsPerSampleEpoch: 2e-5)
        task.sleepsAsCosted = true
        var reasons: [String] = []
        let halving = SuccessiveHalving(settings: FinalStageSettings(), trainer: task, store: MemoryRungStore(),
                                        events: { if case let .skipped(reason) = $0 { reasons.append(reason) } })
        // A budget in which all 12 fit at the minimum training, halved down to 2, but not in the
        // 92 % of it that rungs are planned for.
        let candidates = architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }
        let estimated = try halving.estimatedCosts(candidates, measured: { _ in try task.measureCost(architectures[0]) })
        let minimum = Double(FinalStageSettings().minimumTrainingSamples * FinalStageSettings().epochsPerRung)
        let allTwelve = SuccessiveHalving.affordableSampleEpochs(seconds: 1, costs: candidates.map { estimated[$0.id]! },
                                                                 sizes: SuccessiveHalving.rungSizes(entrants: 12))
        let budget = minimum / allTwelve / 0.96
        let clock = ContinuousClock(), start = clock.now
        let outcome = try halving.run(candidates, prior: [:], budgetSeconds: budget)
        let seconds = (clock.now - start).seconds
        XCTAssertEqual(reasons, [])
        XCTAssertLessThan(outcome.plans.first?.candidateIDs.count ?? 0, 12)
        XCTAssertEqual(outcome.results.last?.count, 2, "the stage halves down to 2")
        XCTAssertGreaterThan(seconds, 0.5 * budget)
        XCTAssertLessThan(seconds, 1.5 * budget)
    }

    func testGroupsHalveOnTheirOwn() {
        XCTAssertEqual(SuccessiveHalving.rungSizes(groupCounts: [12]), SuccessiveHalving.rungSizes(entrants: 12))
        XCTAssertEqual(SuccessiveHalving.rungSizes(groupCounts: [5, 3]), [8, 5, 2], "5→3→2 and 3→2")
        XCTAssertEqual(SuccessiveHalving.rungSizes(groupCounts: [4, 2, 1]), [7, 2], "groups of 2 or fewer have been compared")
    }

    /// On a mixed pool halved within families, the family that learns slower in a short
    /// schedule still sends its best on; halved as one pool, it leaves after rung 0.
    func testWithinFamiliesEachFamilyHalvesOnItsOwn() throws {
        let cnns = try sampleArchitectures(4), vits = try sampleArchitectures(4, space: "fmnist-vit.json")
        // Every ViT below every CNN, and the last ViT the best of its family.
        var truth: [String: Double] = [:]
        for (index, cnn) in cnns.enumerated() { truth[cnn.id] = 0.80 + 0.01 * Double(index) }
        for (index, vit) in vits.enumerated() { truth[vit.id] = 0.40 + 0.01 * Double(index) }
        let candidates = zip(cnns, vits).flatMap { [$0, $1] }.map { SelectionCandidate(id: $0.id, architecture: $0) }
        func run(withinFamilies: Bool) throws -> FinalStageOutcome {
            let halving = SuccessiveHalving(settings: FinalStageSettings(capacityPriorWeight: 0), trainer: FakeTask(truth: truth),
                                            store: MemoryRungStore())
            return try halving.run(candidates, prior: [:], budgetSeconds: 0.05, withinFamilies: withinFamilies)
        }
        let pooled = try run(withinFamilies: false)
        XCTAssertEqual(pooled.plans.map(\.candidateIDs.count), [8, 4, 2])
        XCTAssertTrue(Set(pooled.plans[1].candidateIDs).isDisjoint(with: vits.map(\.id)), "pooled, the ViTs leave after rung 0")
        let grouped = try run(withinFamilies: true)
        XCTAssertEqual(grouped.plans.map(\.candidateIDs.count), [8, 4])
        XCTAssertEqual(Set(grouped.plans[1].candidateIDs), Set(cnns.suffix(2).map(\.id) + vits.suffix(2).map(\.id)))
        let ids = candidates.map(\.id)
        let ranking = SelectionRanking(candidateIDs: ids, screeningScore: Array(repeating: 0, count: ids.count), finalStage: grouped,
                                       prior: [:], priorWeight: 0, families: candidates.map(\.architecture.family),
                                       familyScore: candidates.map { $0.architecture.family == .vit ? -10 : 10 })
        XCTAssertEqual(ranking.order.prefix(4).map { ids[$0] }, [cnns[3].id, cnns[2].id, cnns[1].id, cnns[0].id])
        XCTAssertEqual(ids[ranking.order[4]], vits[3].id, "the best ViT leads its family")
    }

    /// Scored within families, a rung's z compares a ViT only with ViTs.
    func testRungScoresWithinFamiliesStandardiseEachFamily() {
        let results = ["c1": 0.80, "c2": 0.82, "v1": 0.30, "v2": 0.31].map {
            RungResult(candidateID: $0.key, rung: 0, fidelity: .init(trainingSamples: 1, epochs: 1), validationAccuracy: $0.value, seconds: 0)
        }
        let families: [String: ArchitectureFamily] = ["c1": .mbconv, "c2": .mbconv, "v1": .vit, "v2": .vit]
        let scores = Dictionary(uniqueKeysWithValues: zip(results.map(\.candidateID),
                                                          SuccessiveHalving.rungScores(results, prior: [:], priorWeight: 0, families: families)))
        XCTAssertEqual(scores["v2"]!, scores["c2"]!, accuracy: 1e-9)
        XCTAssertEqual(scores["v1"]!, scores["c1"]!, accuracy: 1e-9)
        XCTAssertGreaterThan(scores["v2"]!, scores["v1"]!)
    }

    func testThePriorBreaksNoiseInARung() {
        let results = [RungResult(candidateID: "small", rung: 0, fidelity: .init(trainingSamples: 1, epochs: 1), validationAccuracy: 0.801, seconds: 0),
                       RungResult(candidateID: "large", rung: 0, fidelity: .init(trainingSamples: 1, epochs: 1), validationAccuracy: 0.800, seconds: 0),
                       RungResult(candidateID: "bad", rung: 0, fidelity: .init(trainingSamples: 1, epochs: 1), validationAccuracy: 0.5, seconds: 0, diverged: true)]
        let prior = ["small": -1.0, "large": 1.0, "bad": 0.0]
        let without = SuccessiveHalving.rungScores(results, prior: prior, priorWeight: 0)
        XCTAssertGreaterThan(without[0], without[1])
        let with = SuccessiveHalving.rungScores(results, prior: prior, priorWeight: 2)
        XCTAssertGreaterThan(with[1], with[0])
        XCTAssertLessThan(with[2], min(with[0], with[1]), "a diverged candidate ranks last")
    }
}

final class CapacityPriorTests: XCTestCase {
    func testPriorOrdersAFamilyByParams() throws {
        let architectures = try sampleArchitectures(5)
        let prior = CapacityPrior.values(architectures)
        let byParams = architectures.indices.sorted { architectures[$0].cost.params < architectures[$1].cost.params }
        XCTAssertEqual(architectures.indices.sorted { prior[$0] < prior[$1] }, byParams)
        XCTAssertEqual(prior.reduce(0, +), 0, accuracy: 1e-9)
    }

    func testCalibrationSetSpansTheCostRange() throws {
        let architectures = try sampleArchitectures(20)
        let chosen = ProbeStage.calibrationSet(architectures, count: 8)
        XCTAssertEqual(chosen.count, 8)
        let flops = architectures.map(\.cost.flops)
        XCTAssertTrue(chosen.contains(flops.indices.min { flops[$0] < flops[$1] }!))
        XCTAssertTrue(chosen.contains(flops.indices.max { flops[$0] < flops[$1] }!))
    }

    func testTaskModePipelineRanksByTheTask() throws {
        let architectures = try sampleArchitectures(6)
        let truth = Dictionary(uniqueKeysWithValues: architectures.enumerated().map { ($1.id, 0.9 - 0.01 * Double($0)) })
        let pipeline = SelectionPipeline(settings: SelectionSettings(mode: .task, finalStage: FinalStageSettings(capacityPriorWeight: 0)),
                                         probeSuite: nil, task: FakeTask(truth: truth))
        let outcome = try pipeline.run(architectures.map { SelectionCandidate(id: $0.id, architecture: $0) }, budgetSeconds: 0.05)
        XCTAssertNil(outcome.probe)
        XCTAssertEqual(outcome.ranking.order.first, 0)
    }
}

final class ScreeningTests: XCTestCase {
    /// In the pipeline the probes judge families and the prior ranks within one: a candidate's
    /// own probe total does not reorder its family.
    func testPipelineScreeningUsesTheFamilysProbeMeanAndThePrior() {
        let families: [ArchitectureFamily] = [.mbconv, .mbconv, .vit, .vit]
        let prior = [1.0, -1.0, 1.0, -1.0]
        let probes = [0.0, 10.0, -5.0, -6.0]
        let screening = SelectionPipeline.screeningScores(mode: .pipeline, probeTotals: probes, prior: prior, families: families)
        XCTAssertGreaterThan(screening[0], screening[1], "within a family the prior decides")
        XCTAssertGreaterThan(screening[0], screening[2], "the family with the better probe mean ranks first")
        XCTAssertEqual(SelectionPipeline.screeningScores(mode: .probes, probeTotals: probes, prior: prior, families: families), probes)
        XCTAssertEqual(SelectionPipeline.screeningScores(mode: .task, probeTotals: nil, prior: prior, families: families), prior)
    }
}

final class FinalOrderTests: XCTestCase {
    func result(_ id: String, rung: Int, accuracy: Double) -> RungResult {
        RungResult(candidateID: id, rung: rung, fidelity: .init(trainingSamples: 512 << rung, epochs: 2), validationAccuracy: accuracy, seconds: 1)
    }

    /// With a family score (the pipeline), families are ordered by it and each family by its
    /// own training; without one, the pool is one list by rung and rung score.
    func testThePipelineOrdersFamiliesByTheirScoreAndEachFamilyByItsTraining() {
        let ids = ["a", "b", "c", "d"]
        let families: [ArchitectureFamily] = [.mbconv, .mbconv, .vit, .vit]
        // The prior prefers a and c; the training prefers b and c.
        let prior = ["a": 1.0, "b": -1.0, "c": 1.0, "d": -1.0]
        let stage = FinalStageOutcome(plans: [], results: [
            [result("a", rung: 0, accuracy: 0.5), result("b", rung: 0, accuracy: 0.7), result("c", rung: 0, accuracy: 0.6),
             result("d", rung: 0, accuracy: 0.4)],
            [result("b", rung: 1, accuracy: 0.75), result("c", rung: 1, accuracy: 0.65)],
        ])
        let screening = [1.0, -1.0, 1.0, -1.0]
        let pooled = SelectionRanking(candidateIDs: ids, screeningScore: screening, finalStage: stage, prior: prior, priorWeight: 0)
        XCTAssertEqual(pooled.order, [1, 2, 0, 3])
        let byFamily = SelectionRanking(candidateIDs: ids, screeningScore: screening, finalStage: stage, prior: prior, priorWeight: 0,
                                        families: families, familyScore: [2, 2, -2, -2])
        XCTAssertEqual(byFamily.order, [1, 0, 2, 3], "the better family first, each family by its training")
        XCTAssertEqual(byFamily.lastRung, [0, 1, 1, 0])
    }

    /// The final stage is entered in the prior's order, which is z within each family, so
    /// the leaders of every family are trained, not only those of the family the probes prefer.
    func testTheFinalStageIsEnteredInThePriorsOrder() {
        XCTAssertEqual(SelectionPipeline.finalStageEntryOrder(prior: [1.0, -0.5, 1.2, 0.9, -1.0]), [2, 0, 3, 1, 4])
    }
}

final class ProbeStageTests: XCTestCase {
    /// Bars on noise, 10 classes: enough for the probes' real-image tasks.
    func images(count: Int = 400) -> ImageDataset {
        var generator = SeededGenerator(seed: 1)
        var pixels = [UInt8](repeating: 0, count: count * 784)
        var labels: [UInt8] = []
        for index in 0..<count {
            labels.append(UInt8(index % 10))
            for pixel in 0..<784 where pixel / 56 == index % 10 + 2 || generator.uniformIndex(below: 8) == 0 {
                pixels[index * 784 + pixel] = 200
            }
        }
        return ImageDataset(height: 28, width: 28, pixels: pixels, labels: labels, classCount: 10)
    }

    /// A budget that cannot pay for three calibration candidates is not spent on calibration:
    /// the plan comes from the measured cost alone and says so.
    func testATinyBudgetSkipsCalibration() throws {
        var configuration = ProbeConfiguration()
        configuration.maximumDataVolume = 128
        configuration.evaluationCount = 64
        let suite = try ProbeSuite(configuration: configuration, images: images(), seed: 0)
        let architectures = try sampleArchitectures(4)
        let plan = try ProbeStage.plan(suite: suite, settings: ProbeStageSettings(), candidates: architectures, budgetSeconds: 0.5,
                                       secondsSpent: { 0 }, progress: { _ in })
        XCTAssertTrue(plan.anchors.isEmpty)
        XCTAssertTrue(plan.summary.hasPrefix("budget too small to calibrate"), plan.summary)
        XCTAssertEqual(plan.dataVolume, configuration.batchSize, "nothing larger than one batch fits 0.5 s for 4 candidates")
    }

    /// When the pilot trajectories show that even the smallest anchors would overrun the
    /// calibration's share, calibration stops there and plans from the measured cost.
    func testCalibrationThatCannotPayForItsAnchorsStopsAfterThePilot() throws {
        var configuration = ProbeConfiguration()
        configuration.maximumDataVolume = 64
        configuration.evaluationCount = 16
        configuration.batchSize = 8
        let suite = try ProbeSuite(configuration: configuration, images: images(count: 100), seed: 0)
        let evaluator = BudgetAdaptiveEvaluator(suite: suite, pilotDataVolume: 8, seed: 0)
        var stages: [String] = []
        let plan = try evaluator.plan(calibrationCandidates: try sampleArchitectures(3), perCandidateBudgetSeconds: 600,
                                      calibrationBudgetSeconds: 0.001, progress: { stages.append($0.stage) })
        XCTAssertTrue(plan.anchors.isEmpty)
        XCTAssertFalse(stages.contains { $0.hasPrefix("anchors") }, "\(stages)")
        XCTAssertTrue(plan.summary.hasPrefix("budget too small to calibrate"), plan.summary)
        XCTAssertGreaterThan(plan.dataVolume * plan.epochs, configuration.batchSize, "10 minutes per candidate buy more than one batch")
    }

    /// Probes small enough for several candidates in a few seconds of a debug build.
    func smallSuite() throws -> ProbeSuite {
        var configuration = ProbeConfiguration()
        configuration.maximumDataVolume = 32
        configuration.evaluationCount = 16
        configuration.batchSize = 8
        return try ProbeSuite(configuration: configuration, images: images(count: 100), seed: 0)
    }

    func namedCandidates(_ count: Int) throws -> [SelectionCandidate] {
        try sampleArchitectures(count).enumerated().map { SelectionCandidate(id: "c\($0.offset)", architecture: $0.element) }
    }

    /// Probing candidates side by side gives exactly the scores of probing them one after
    /// another at the same threads per candidate, in the candidates' order.
    func testSideBySideProbingGivesTheSequentialScores() throws {
        let suite = try smallSuite()
        let candidates = try namedCandidates(4)
        func probe(_ runs: ConcurrentRuns) throws -> (ProbeStageOutcome, [String]) {
            var scoredIDs: [String] = []
            let outcome = try ProbeStage(suite: suite, settings: ProbeStageSettings(fixedDataVolume: 16, fixedEpochs: 1, runs: runs))
                .run(candidates, budgetSeconds: 600, events: { if case let .scored(_, _, _, id, _) = $0 { scoredIDs.append(id) } })
            return (outcome, scoredIDs)
        }
        let (sequential, _) = try probe(ConcurrentRuns(runners: 1, threadsPerRunner: 1))
        let (sideBySide, scoredIDs) = try probe(ConcurrentRuns(runners: 2, threadsPerRunner: 1))
        XCTAssertEqual(sideBySide.results.map(\.rawScores), sequential.results.map(\.rawScores))
        XCTAssertEqual(sideBySide.totals.map(\.total), sequential.totals.map(\.total))
        XCTAssertEqual(Set(scoredIDs), Set(candidates.map(\.id)), "every candidate reported once")
        XCTAssertEqual(scoredIDs.count, candidates.count)
    }

    /// A stop request ends side-by-side probing between candidates, as it does a loop.
    func testSideBySideProbingStopsOnRequest() throws {
        let suite = try smallSuite()
        let candidates = try namedCandidates(6)
        var scored = 0
        XCTAssertThrowsError(try ProbeStage(suite: suite, settings: ProbeStageSettings(fixedDataVolume: 8, fixedEpochs: 1,
                                                                                       runs: ConcurrentRuns(runners: 2, threadsPerRunner: 1)))
            .run(candidates, budgetSeconds: 600, events: { if case .scored = $0 { scored += 1 } }, shouldStop: { scored >= 2 })) {
            XCTAssertTrue($0 is CancellationError, "\($0)")
        }
        XCTAssertLessThan(scored, candidates.count)
    }
}
