import EdgeNASCore
import Foundation

/// Upper limits a candidate must meet; `nil` means no limit on that quantity.
public struct SearchConstraints: Sendable, Codable, Equatable {
    public var maxParams: Int?
    public var maxFLOPs: Int?
    public var maxLatencyMilliseconds: Double?

    public init(maxParams: Int? = nil, maxFLOPs: Int? = nil, maxLatencyMilliseconds: Double? = nil) {
        self.maxParams = maxParams
        self.maxFLOPs = maxFLOPs
        self.maxLatencyMilliseconds = maxLatencyMilliseconds
    }

    public var needsLatency: Bool { maxLatencyMilliseconds != nil }

    /// One line for reports: `Params ≤ 100000, latency ≤ 0.500 ms`, or `none`.
    public var summary: String {
        var parts: [String] = []
        if let maxParams { parts.append("Params ≤ \(maxParams)") }
        if let maxFLOPs { parts.append("FLOPs ≤ \(maxFLOPs)") }
        if let maxLatencyMilliseconds { parts.append(String(format: "latency ≤ %.3f ms", maxLatencyMilliseconds)) }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}

/// The quantities the limits apply to, for one candidate.
public struct CandidateCost: Sendable, Codable, Equatable {
    public var params: Int
    public var flops: Int
    /// Predicted from the device's latency table; nil when no table is used.
    public var predictedLatencyMilliseconds: Double?

    public init(params: Int, flops: Int, predictedLatencyMilliseconds: Double?) {
        self.params = params
        self.flops = flops
        self.predictedLatencyMilliseconds = predictedLatencyMilliseconds
    }
}

/// The limits one can name in an error: which quantity, and the command-line option that sets it.
public enum ConstraintLimit: String, Sendable, CaseIterable, Codable {
    case params, flops, latency

    public var optionName: String {
        switch self {
        case .params: return "--max-params"
        case .flops: return "--max-flops"
        case .latency: return "--max-latency-ms"
        }
    }
}

extension SearchConstraints {
    /// How far `cost` is over each limit it breaks, as a ratio (1.25 = 25 % over); empty when it meets all.
    public func overshoot(of cost: CandidateCost) -> [ConstraintLimit: Double] {
        var ratios: [ConstraintLimit: Double] = [:]
        if let maxParams, cost.params > maxParams { ratios[.params] = Double(cost.params) / Double(max(maxParams, 1)) }
        if let maxFLOPs, cost.flops > maxFLOPs { ratios[.flops] = Double(cost.flops) / Double(max(maxFLOPs, 1)) }
        if let maxLatencyMilliseconds, let latency = cost.predictedLatencyMilliseconds, latency > maxLatencyMilliseconds {
            ratios[.latency] = latency / maxLatencyMilliseconds
        }
        return ratios
    }

    public func isSatisfied(by cost: CandidateCost) -> Bool { overshoot(of: cost).isEmpty }

    /// Checks the limits for what they are before any sampling: positive and finite.
    public func validate() throws {
        if let maxParams, maxParams <= 0 { throw SearchError.badInput("--max-params must be positive, got \(maxParams)") }
        if let maxFLOPs, maxFLOPs <= 0 { throw SearchError.badInput("--max-flops must be positive, got \(maxFLOPs)") }
        if let maxLatencyMilliseconds, !(maxLatencyMilliseconds > 0 && maxLatencyMilliseconds.isFinite) {
            throw SearchError.badInput("--max-latency-ms must be a positive number, got \(maxLatencyMilliseconds)")
        }
    }
}

/// Measures a candidate against the limits: Params and FLOPs analytically, latency from a
/// predictor (the device's latency table) only when a latency limit or report needs it.
public struct CostModel: Sendable {
    /// Predicted milliseconds for an architecture, or nil when no table is in use.
    public let predictLatencyMilliseconds: (@Sendable (Architecture) throws -> Double)?

    public init(predictLatencyMilliseconds: (@Sendable (Architecture) throws -> Double)?) {
        self.predictLatencyMilliseconds = predictLatencyMilliseconds
    }

    public func cost(of architecture: Architecture) throws -> CandidateCost {
        let analytic = architecture.cost
        return CandidateCost(params: analytic.params, flops: analytic.flops,
                             predictedLatencyMilliseconds: try predictLatencyMilliseconds?(architecture))
    }
}

extension CostModel {
    /// The `quantile` (0–1) of predicted latency over `samples` seeded draws from `space`:
    /// a latency limit that keeps that share of the space, whatever the device's speed.
    public func latencyQuantile(_ quantile: Double, of space: SearchSpaceUnion, samples: Int = 1000, seed: UInt64) throws -> Double {
        guard let predictLatencyMilliseconds else {
            throw SearchError.badInput("a latency quantile needs a device and its latency table")
        }
        var generator = SeededGenerator(seed: seed)
        let latencies = try (0..<samples).map { _ in try predictLatencyMilliseconds(space.sample(using: &generator)) }
        return SampleStatistics.quantile(latencies, quantile)
    }
}
