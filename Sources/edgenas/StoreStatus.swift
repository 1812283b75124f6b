import EdgeNASSearch
import Foundation

/// `search --store URL --status`: the shared run's progress as a few lines.
struct StoreStatus {
    var text: String

    init(store: RunStore, leaderboard: Leaderboard) throws {
        let units = try store.unitStates()
        let scoring = units.filter { WorkUnit.candidateID(ofScoringKey: $0.unit) != nil }
        let count = { (state: UnitState.State) in scoring.filter { $0.state == state }.count }
        let progress = try store.progress()
        var lines = ["run \(store.location)",
                     "candidates: \(progress.stored), scored \(progress.scored); units: \(count(.done)) done, "
                        + "\(count(.claimed)) claimed, \(count(.pending)) pending, \(count(.failed)) failed"]
        let claimed = units.filter { $0.state == .claimed }
        let workers = Set(claimed.compactMap(\.worker))
        for unit in claimed {
            lines.append(String(format: "  %@: %@, attempt %d, heartbeat %.0f s ago", unit.worker ?? "?", unit.unit, unit.attempts,
                                unit.heartbeatAgeSeconds ?? 0))
        }
        for unit in units where unit.state == .failed {
            lines.append("  failed \(unit.unit): \(unit.reason ?? "")")
        }
        // Worker-seconds per candidate so far, shared among the workers holding claims now.
        let seconds = try store.candidates().compactMap { try $0.evaluation()?.seconds }
        let left = count(.pending) + count(.claimed)
        if left > 0, !seconds.isEmpty, !workers.isEmpty {
            let eta = seconds.reduce(0, +) / Double(seconds.count) * Double(left) / Double(workers.count)
            lines.append(String(format: "ETA of the scoring: %.0f s at %d worker(s)", eta, workers.count))
        }
        for unit in units where [WorkUnit.plan.key, WorkUnit.finalStage.key, WorkUnit.outputs.key].contains(unit.unit) {
            lines.append("\(unit.unit): \(unit.state.rawValue)" + (unit.worker.map { " (\($0))" } ?? ""))
        }
        if let best = leaderboard.winner {
            lines.append(String(format: "best so far: %@ (Params %d, total %.3f)", best.id, best.params, best.total))
        }
        text = lines.joined(separator: "\n")
    }
}
