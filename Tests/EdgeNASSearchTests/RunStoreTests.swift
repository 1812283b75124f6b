import EdgeNASCore
import EdgeNASSearch
import Foundation
import Testing
import TestSupport

/// Both run stores, each a fresh run: the SQLite file and a new PostgreSQL database.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }

    /// A location and a way to open more connections to it (one per simulated worker).
    func makeLocation() throws -> String {
        switch self {
        case .sqlite: return "sqlite:" + (try temporaryDirectory().appendingPathComponent("run.sqlite").path)
        case .postgresql: return try TestPostgres.freshDatabase()
        }
    }

    static var available: [StoreKind] { TestPostgres.available ? allCases : [.sqlite] }
}

@Suite struct RunStoreTests {
    /// A store holding `count` candidates of the tiny space with their scoring units.
    static func storeWithCandidates(_ kind: StoreKind, count: Int) throws -> (location: String, store: RunStore, ids: [String]) {
        let location = try kind.makeLocation()
        let store = try RunStores.open(location, create: true)
        var generator = SeededGenerator(seed: 5)
        var seen = Set<String>()
        var candidates: [FeasibleCandidate] = []
        while candidates.count < count {
            let architecture = tinySpace.sample(member: 0, attempt: 0, using: &generator)
            guard seen.insert(architecture.id).inserted else { continue }
            candidates.append(FeasibleCandidate(architecture: architecture,
                                                cost: CandidateCost(params: architecture.cost.params, flops: architecture.cost.flops,
                                                                    predictedLatencyMilliseconds: nil)))
        }
        let records = try store.append(candidates, origin: "sampled")
        try store.registerUnits(records.map { .score(candidateID: $0.id, position: $0.position) } + [.outputs])
        return (location, store, records.map(\.id))
    }

    @Test("the schema: the same named migrations in both stores", arguments: StoreKind.available)
    func bothStoresHaveTheSameNamedMigrations(kind: StoreKind) throws {
        #expect(RunStoreSchema.migrations(.sqlite).map(\.name) == RunStoreSchema.migrations(.postgresql).map(\.name))
        #expect(RunStoreSchema.migrations(.sqlite).map(\.statements.count) == RunStoreSchema.migrations(.postgresql).map(\.statements.count))
        // Opening twice applies nothing twice.
        let location = try kind.makeLocation()
        _ = try RunStores.open(location, create: true)
        let again = try RunStores.open(location, create: false)
        #expect(try again.unitStates().isEmpty)
    }

    @Test("concurrent claims never hand one unit to two workers", arguments: StoreKind.available)
    func concurrentClaimsAreExclusive(kind: StoreKind) throws {
        let units = 60
        let (location, _, ids) = try Self.storeWithCandidates(kind, count: units)
        let workers = kind == .postgresql ? 32 : 4
        let claimed = Claimed()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            do {
                let store = try RunStores.open(location, create: false)
                while let claim = try store.claimNextScoring(worker: "w\(worker)", policy: ClaimPolicy()) {
                    claimed.add(claim.unit)
                    let id = WorkUnit.candidateID(ofScoringKey: claim.unit)!
                    _ = try store.completeScoring(claim, candidateID: id, evaluation: CandidateEvaluation(rawScores: ["w": Double(worker)], seconds: 0))
                }
            } catch { claimed.fail("\(error)") }
        }
        #expect(claimed.errors.isEmpty, "\(claimed.errors)")
        #expect(claimed.units.count == units)
        #expect(Set(claimed.units).count == units, "a unit was claimed twice")
        let store = try RunStores.open(location, create: false)
        #expect(try store.candidates().allSatisfy { $0.evaluationJSON != nil })
        #expect(Set(try store.candidates().map(\.id)) == Set(ids))
    }

    @Test("a silent claim goes to another worker; the late result is dropped; exhausted units fail", arguments: StoreKind.available)
    func staleClaimsAreRetriedThenFailed(kind: StoreKind) throws {
        let (location, first, _) = try Self.storeWithCandidates(kind, count: 1)
        let second = try RunStores.open(location, create: false)
        let policy = ClaimPolicy(graceSeconds: 0.3, maxAttempts: 2)
        let lost = try #require(try first.claimNextScoring(worker: "a", policy: policy))
        #expect(lost.attempt == 1)
        // Fresh heartbeat: nothing to claim.
        #expect(try second.claimNextScoring(worker: "b", policy: policy) == nil)
        Thread.sleep(forTimeInterval: 0.5)
        let retried = try #require(try second.claimNextScoring(worker: "b", policy: policy))
        #expect(retried.unit == lost.unit && retried.attempt == 2)
        #expect(try !first.heartbeat(lost))
        let id = WorkUnit.candidateID(ofScoringKey: lost.unit)!
        #expect(try !first.completeScoring(lost, candidateID: id, evaluation: CandidateEvaluation(rawScores: ["x": 1], seconds: 0)))
        #expect(try first.candidates()[0].evaluationJSON == nil, "a lost claim's result must not be recorded")

        // The second holder goes silent too: its unit has had both attempts, so it fails with the reason.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try first.claimNextScoring(worker: "c", policy: policy) == nil)
        let state = try #require(try first.unitStates().first { $0.unit == lost.unit })
        #expect(state.state == .failed)
        #expect(state.reason?.contains("no heartbeat from worker b") == true, "\(state.reason ?? "")")
        #expect(try !second.completeScoring(retried, candidateID: id, evaluation: CandidateEvaluation(rawScores: ["x": 2], seconds: 0)))
    }

    @Test("a heartbeat keeps a claim past the grace period; a finished unit is recorded once", arguments: StoreKind.available)
    func heartbeatsKeepClaims(kind: StoreKind) throws {
        let (location, first, _) = try Self.storeWithCandidates(kind, count: 1)
        let second = try RunStores.open(location, create: false)
        let policy = ClaimPolicy(graceSeconds: 0.4, maxAttempts: 3)
        let claim = try #require(try first.claimNextScoring(worker: "a", policy: policy))
        for _ in 0..<4 {
            Thread.sleep(forTimeInterval: 0.2)
            #expect(try first.heartbeat(claim))
            #expect(try second.claimNextScoring(worker: "b", policy: policy) == nil)
        }
        let id = WorkUnit.candidateID(ofScoringKey: claim.unit)!
        let evaluation = CandidateEvaluation(rawScores: ["x": 1], seconds: 0)
        #expect(try first.completeScoring(claim, candidateID: id, evaluation: evaluation))
        // Repeating the commit (a retry after a dropped connection) is harmless and changes nothing.
        #expect(try first.completeScoring(claim, candidateID: id, evaluation: CandidateEvaluation(rawScores: ["x": 9], seconds: 0)))
        #expect(try second.candidates()[0].evaluation() == evaluation)
        #expect(try second.claim(.outputs, worker: "b", policy: policy) != .busy)
    }

    @Test("a named unit is held by one worker at a time and done once", arguments: StoreKind.available)
    func namedUnits(kind: StoreKind) throws {
        let (location, first, _) = try Self.storeWithCandidates(kind, count: 1)
        let second = try RunStores.open(location, create: false)
        guard case let .claimed(claim) = try first.claim(.outputs, worker: "a", policy: ClaimPolicy()) else {
            Issue.record("the first claim of the outputs must succeed")
            return
        }
        #expect(try second.claim(.outputs, worker: "b", policy: ClaimPolicy()) == .busy)
        #expect(try first.finish(claim))
        #expect(try second.claim(.outputs, worker: "b", policy: ClaimPolicy()) == .done)
        #expect(try second.claim(.plan, worker: "b", policy: ClaimPolicy()) == .failed(reason: "the run has no unit plan"))
    }
}

/// What the simulated workers claimed, from many threads.
final class Claimed: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var units: [String] = []
    private(set) var errors: [String] = []
    func add(_ unit: String) { lock.withLock { units.append(unit) } }
    func fail(_ error: String) { lock.withLock { errors.append(error) } }
}
