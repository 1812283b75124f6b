import EdgeNASCore
import EdgeNASSearch
import Foundation
import Testing

struct ConstraintTests {
    @Test func everyAcceptedCandidateMeetsTheLimits() throws {
        let limits = SearchConstraints(maxParams: 60_000, maxLatencyMilliseconds: 6.0)
        var sampler = ConstrainedSampler(constraints: limits, costModel: flopsAsLatency)
        var generator = SeededGenerator(seed: 1)
        var seen = Set<String>()
        for found in 0..<20 {
            let candidate = try sampler.next(excluding: seen, found: found, needed: 20, draw: { tinySpace.sample(using: &$0) }, using: &generator)
            #expect(candidate.cost.params <= 60_000)
            #expect(candidate.cost.predictedLatencyMilliseconds! <= 6.0)
            #expect(candidate.architecture.cost.params == candidate.cost.params)
            seen.insert(candidate.architecture.id)
        }
        #expect(sampler.rejected > 0, "the limits should cut off part of the space")
    }

    @Test func infeasibleLimitNamesTheLimitTheClosestCandidateAndALooserLimit() throws {
        let limits = SearchConstraints(maxParams: 500, maxLatencyMilliseconds: 100)
        var sampler = ConstrainedSampler(constraints: limits, costModel: flopsAsLatency, attemptsPerCandidate: 300)
        var generator = SeededGenerator(seed: 1)
        do {
            _ = try sampler.next(excluding: [], found: 0, needed: 4, draw: { tinySpace.sample(using: &$0) }, using: &generator)
            Issue.record("a 500-parameter limit cannot be met in this space")
        } catch let SearchError.infeasible(report) {
            #expect(report.attempts == 300)
            #expect(report.violations[.params] == 300)
            #expect(report.violations[.latency] == nil)
            let suggestion = try #require(report.suggestedLimits[.params])
            #expect(Int(suggestion) == report.closestCost.params)
            // The suggestion really is the loosest limit needed: the closest candidate is the smallest seen.
            #expect(report.description.contains("--max-params broken by 300 of 300"))
            #expect(report.description.contains("--max-params \(report.closestCost.params)"))
            var generator = SeededGenerator(seed: 1)
            let smallest = (0..<300).map { _ in tinySpace.sample(using: &generator).cost.params }.min()!
            #expect(report.closestCost.params == smallest)
        }
    }

    @Test func limitsMustBePositive() {
        #expect(throws: SearchError.self) { try SearchConstraints(maxParams: 0).validate() }
        #expect(throws: SearchError.self) { try SearchConstraints(maxLatencyMilliseconds: -1).validate() }
        #expect(throws: SearchError.self) { try SearchConstraints(maxLatencyMilliseconds: .nan).validate() }
    }
}

struct SearchRunnerTests {
    @Test func randomSearchRanksEveryCandidateUnderTheLimits() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SearchDatabase(path: folder.appendingPathComponent(SearchDatabase.fileName).path, create: true)
        let limits = SearchConstraints(maxLatencyMilliseconds: 4.0)
        let scorer = CostDensityScorer()
        let runner = SearchRunner(space: tinySpace, settings: settings(constraints: limits), store: database,
                                  costModel: flopsAsLatency, scorer: scorer)
        let board = try runner.run()
        #expect(board.entries.count == 12)
        #expect(Set(board.entries.map(\.id)).count == 12)
        #expect(board.entries.allSatisfy { $0.predictedLatencyMilliseconds! <= 4.0 })
        #expect(board.entries.map(\.rank) == Array(1...12))
        let totals = board.entries.map(\.total)
        #expect(totals == totals.sorted(by: >))
        #expect(scorer.plansMade == 1)
    }

    @Test func anInterruptedSearchResumesWithoutRescoring() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(SearchDatabase.fileName).path
        let first = CostDensityScorer()
        var polls = 0
        let interrupted = SearchRunner(space: tinySpace, settings: settings(), store: try SearchDatabase(path: path, create: true),
                                       costModel: CostModel(predictLatencyMilliseconds: nil), scorer: first,
                                       shouldStop: { polls += 1; return polls > 5 })
        #expect(throws: SearchError.self) { _ = try interrupted.run() }
        #expect(first.evaluatedIDs.count == 5)

        let second = CostDensityScorer()
        let resumed = SearchRunner(space: tinySpace, settings: settings(), store: try SearchDatabase(path: path, create: false),
                                   costModel: CostModel(predictLatencyMilliseconds: nil), scorer: second)
        let board = try resumed.run()
        #expect(second.evaluatedIDs.count == 7)
        #expect(Set(first.evaluatedIDs).isDisjoint(with: second.evaluatedIDs))
        #expect(second.plansMade == 0 && second.adoptedPlans == 1)

        // The same search run in one go gives the same leaderboard.
        let otherFolder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: otherFolder) }
        let straight = SearchRunner(space: tinySpace, settings: settings(),
                                    store: try SearchDatabase(path: otherFolder.appendingPathComponent("s.sqlite").path, create: true),
                                    costModel: CostModel(predictLatencyMilliseconds: nil), scorer: CostDensityScorer())
        #expect(try straight.run().entries == board.entries)
        // And a finished run's leaderboard is rebuilt from its database alone.
        let reopened = SearchRunner(space: tinySpace, settings: settings(), store: try SearchDatabase(path: path, create: false),
                                    costModel: CostModel(predictLatencyMilliseconds: nil), scorer: CostDensityScorer())
        #expect(try reopened.leaderboard().entries == board.entries)
    }

    @Test func evolutionMutatesScoredParentsWithinTheLimits() throws {
        func run() throws -> [SearchDatabase.CandidateRecord] {
            let folder = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: folder) }
            let database = try SearchDatabase(path: folder.appendingPathComponent("e.sqlite").path, create: true)
            let runner = SearchRunner(space: tinySpace, settings: settings(strategy: .evolution, candidates: 15,
                                                                           constraints: .init(maxLatencyMilliseconds: 4.0)),
                                      store: database, costModel: flopsAsLatency, scorer: CostDensityScorer())
            _ = try runner.run()
            return try database.candidates()
        }
        let records = try run()
        #expect(records.count == 15)
        #expect(records.prefix(5).allSatisfy { $0.origin == "sampled" })
        #expect(records.dropFirst(5).filter { $0.origin.hasPrefix("mutated from ") }.count >= 8)
        #expect(records.allSatisfy { $0.predictedLatencyMilliseconds! <= 4.0 && $0.evaluationJSON != nil })
        for record in records where record.origin.hasPrefix("mutated from ") {
            #expect(tinySpace.contains(try record.architecture()))
        }
        #expect(try run().map(\.id) == records.map(\.id), "a seed names the same search")
    }

    /// One search over an MBConv, a ViT and a Mamba space: every family is drawn, mutations
    /// stay in their parent's space, and all three compete on one leaderboard.
    @Test func oneSearchSpansSeveralFamilies() throws {
        let input = tinySpace.input
        let vit = SearchSpace(name: "vit", input: input, classes: 10,
                              body: .vit(ViTSpace(patch: [7], embed: [32, 48], depth: [1, 2], heads: [1, 2], mlpRatio: [2])))
        let mamba = SearchSpace(name: "mamba", input: input, classes: 10,
                                body: .mamba(MambaSpace(patch: [7], embed: [32, 48], depth: [1, 2], state: [4, 8],
                                                        expand: [1, 2], conv: [2, 4])))
        let union = try SearchSpaceUnion(tinySpace.members + [vit, mamba])
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SearchDatabase(path: folder.appendingPathComponent("u.sqlite").path, create: true)
        let runner = SearchRunner(space: union, settings: settings(strategy: .evolution, candidates: 24),
                                  store: database, costModel: flopsAsLatency, scorer: CostDensityScorer())
        let board = try runner.run()
        #expect(board.entries.count == 24)
        let records = try database.candidates()
        let sampled = try records.filter { $0.origin == "sampled" }.map { try $0.architecture().family }
        #expect(sampled.prefix(3).sorted { $0.rawValue < $1.rawValue } == [.mamba, .mbconv, .vit], "equal shares: one of each first")
        #expect(Set(sampled) == [.mbconv, .vit, .mamba])
        #expect(try ParetoPlot(leaderboard: board, latencyLimitMilliseconds: nil).svg().contains("<polygon"), "mamba marker")
        let report = SearchReport(runName: "u", settings: settings(), tablePath: nil, leaderboard: board, plan: nil, phases: [],
                                  sampling: nil, export: nil).markdown()
        #expect(report.contains("## Families") && report.contains("| mamba |"), "\(report)")
        for record in records {
            let architecture = try record.architecture()
            #expect(union.contains(architecture))
            if record.origin.hasPrefix("mutated from "), let parentID = record.origin.split(separator: " ").last,
               let parent = records.first(where: { $0.id == String(parentID) }) {
                #expect(try parent.architecture().family == architecture.family)
            }
        }
    }

    @Test func outputsAreWrittenForAFinishedRun() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SearchDatabase(path: folder.appendingPathComponent(SearchDatabase.fileName).path, create: true)
        let limits = SearchConstraints(maxLatencyMilliseconds: 4.0)
        let runner = SearchRunner(space: tinySpace, settings: settings(constraints: limits), store: database,
                                  costModel: flopsAsLatency, scorer: CostDensityScorer())
        let board = try runner.run()
        let report = SearchReport(runName: "t", settings: settings(constraints: limits), tablePath: nil, leaderboard: board,
                                  plan: nil, phases: try database.phaseTimes(), sampling: runner.samplingAttempts, export: nil)
        try RunFolder.writeOutputs(in: folder, leaderboard: board, report: report)
        let csv = try String(contentsOf: folder.appendingPathComponent("leaderboard.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("rank,id,params,flops,predicted_latency_ms,score_density,score_params,total,diverged,last_rung,validation_acc\n"))
        #expect(csv.split(separator: "\n").count == 13)
        let winner = try Architecture(contentsOf: folder.appendingPathComponent("winner.json"))
        #expect(winner.id == board.winner!.id)
        let lines = try String(contentsOf: folder.appendingPathComponent("leaderboard.jsonl"), encoding: .utf8).split(separator: "\n")
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["rank"] as? Int == 1 && first["arch"] is [String: Any])
        let svg = try String(contentsOf: folder.appendingPathComponent("pareto.svg"), encoding: .utf8)
        #expect(svg.contains("winner \(board.winner!.id)") && svg.contains("limit 4"))
        let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("latency ≤ 4.000 ms") && markdown.contains("## Time per phase"))
    }
}

struct SearchDatabaseTests {
    @Test func foreignAndCorruptFilesAreRefusedUntouched() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let garbage = folder.appendingPathComponent("garbage.sqlite")
        try Data("this is not a database, but someone's notes".utf8).write(to: garbage)
        let foreign = folder.appendingPathComponent("foreign.sqlite")
        let other = try SearchDatabaseTests.makeForeignDatabase(at: foreign.path)
        for url in [garbage, foreign] {
            let before = try Data(contentsOf: url)
            do {
                _ = try SearchDatabase(path: url.path, create: true)
                Issue.record("\(url.lastPathComponent) should be refused")
            } catch let SearchError.runDatabase(message) {
                #expect(message.contains(url.path) && message.contains("untouched"))
            }
            #expect(try Data(contentsOf: url) == before)
        }
        _ = other
    }

    @Test func resumingWithoutADatabaseSaysHowToStart() {
        #expect(throws: SearchError.self) { _ = try SearchDatabase(path: "/nonexistent/run/search.sqlite", create: false) }
    }

    /// An SQLite file written by another program: valid, but not ours.
    static func makeForeignDatabase(at path: String) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()", path]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

struct LatencyQuantileTests {
    @Test func aQuantileLimitKeepsAboutThatShareOfTheSpace() throws {
        let limit = try flopsAsLatency.latencyQuantile(0.3, of: tinySpace, samples: 2000, seed: 3)
        var generator = SeededGenerator(seed: 99)
        let fresh = (0..<2000).map { _ in Double(tinySpace.sample(using: &generator).cost.flops) / 1e6 }
        let kept = Double(fresh.filter { $0 <= limit }.count) / 2000
        #expect(abs(kept - 0.3) < 0.05)
        #expect(throws: SearchError.self) { _ = try CostModel(predictLatencyMilliseconds: nil).latencyQuantile(0.5, of: tinySpace, seed: 0) }
    }
}
