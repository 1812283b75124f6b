import Foundation

/// The score-versus-cost picture of a finished search, as a self-contained SVG: every
/// candidate as a dot, the Pareto front (no other candidate is both cheaper and better) as a
/// line, the winner ringed, and the latency limit as a dashed line. In a search over several
/// families each family has its own marker (circle, square, triangle) and a legend.
public struct ParetoPlot {
    public struct Point: Equatable {
        public var id: String
        public var cost: Double
        public var score: Double
        public var family: String = "mbconv"
    }

    public var points: [Point]
    public var costLabel: String
    public var limit: Double?
    public var winnerID: String?

    /// Plots predicted latency when the run had a table, FLOPs otherwise.
    public init(leaderboard: Leaderboard, latencyLimitMilliseconds: Double?) {
        let hasLatency = leaderboard.entries.allSatisfy { $0.predictedLatencyMilliseconds != nil }
        points = leaderboard.entries.map {
            Point(id: $0.id, cost: hasLatency ? $0.predictedLatencyMilliseconds! : Double($0.flops) / 1e6, score: $0.total,
                  family: $0.family)
        }
        costLabel = hasLatency ? "predicted latency (ms)" : "MFLOPs"
        limit = hasLatency ? latencyLimitMilliseconds : nil
        winnerID = leaderboard.winner?.id
    }

    /// The points on the front, by increasing cost: each scores higher than every cheaper one.
    public var front: [Point] {
        var result: [Point] = []
        for point in points.sorted(by: { ($0.cost, -$0.score) < ($1.cost, -$1.score) }) where point.score > (result.last?.score ?? -.infinity) {
            result.append(point)
        }
        return result
    }

    public func svg(width: Double = 640, height: Double = 420) -> String {
        let margin = (left: 64.0, right: 20.0, top: 30.0, bottom: 52.0)
        let costs = points.map(\.cost) + (limit.map { [$0] } ?? [])
        let scores = points.map(\.score)
        let (costLow, costHigh) = Self.padded(costs.min() ?? 0, costs.max() ?? 1)
        let (scoreLow, scoreHigh) = Self.padded(scores.min() ?? 0, scores.max() ?? 1)
        let plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom
        func x(_ cost: Double) -> Double { margin.left + (cost - costLow) / (costHigh - costLow) * plotWidth }
        func y(_ score: Double) -> Double { margin.top + (1 - (score - scoreLow) / (scoreHigh - scoreLow)) * plotHeight }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="18" text-anchor="middle" font-size="14">Score vs \(costLabel): \(points.count) candidates</text>
            <rect x="\(f(margin.left))" y="\(f(margin.top))" width="\(f(plotWidth))" height="\(f(plotHeight))" fill="none" stroke="#444"/>

            """
        for tick in Self.ticks(costLow, costHigh) {
            svg += "<line x1=\"\(f(x(tick)))\" y1=\"\(f(margin.top + plotHeight))\" x2=\"\(f(x(tick)))\" y2=\"\(f(margin.top + plotHeight + 5))\" stroke=\"#444\"/>"
            svg += "<text x=\"\(f(x(tick)))\" y=\"\(f(margin.top + plotHeight + 18))\" text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        for tick in Self.ticks(scoreLow, scoreHigh) {
            svg += "<line x1=\"\(f(margin.left - 5))\" y1=\"\(f(y(tick)))\" x2=\"\(f(margin.left))\" y2=\"\(f(y(tick)))\" stroke=\"#444\"/>"
            svg += "<text x=\"\(f(margin.left - 8))\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\">\(Self.label(tick))</text>\n"
        }
        svg += "<text x=\"\(f(margin.left + plotWidth / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(costLabel)</text>\n"
        svg += "<text transform=\"translate(16 \(f(margin.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">total score (sum of standardised probe scores)</text>\n"
        if let limit {
            svg += "<line x1=\"\(f(x(limit)))\" y1=\"\(f(margin.top))\" x2=\"\(f(x(limit)))\" y2=\"\(f(margin.top + plotHeight))\" stroke=\"#c33\" stroke-dasharray=\"6 4\"/>"
            svg += "<text x=\"\(f(x(limit) - 4))\" y=\"\(f(margin.top + 14))\" text-anchor=\"end\" fill=\"#c33\">limit \(Self.label(limit))</text>\n"
        }
        let frontPath = front.map { "\(f(x($0.cost))),\(f(y($0.score)))" }.joined(separator: " ")
        if front.count > 1 {
            svg += "<polyline points=\"\(frontPath)\" fill=\"none\" stroke=\"#2a6\" stroke-width=\"2\"/>\n"
        }
        let frontIDs = Set(front.map(\.id))
        let families = Array(Set(points.map(\.family))).sorted()
        for point in points {
            let colour = frontIDs.contains(point.id) ? "#2a6" : "#68a"
            let title = "<title>\(point.id) (\(point.family)): \(Self.label(point.cost)), score \(Self.label(point.score))</title>"
            svg += Self.marker(families.count > 1 ? point.family : "", x: x(point.cost), y: y(point.score), fill: colour, title: title)
        }
        if families.count > 1 {
            for (index, family) in families.enumerated() {
                let top = margin.top + 14 + Double(index) * 16
                svg += Self.marker(family, x: margin.left + 12, y: top - 4, fill: "#68a", title: "")
                svg += "<text x=\"\(f(margin.left + 22))\" y=\"\(f(top))\">\(family)</text>\n"
            }
        }
        if let winner = points.first(where: { $0.id == winnerID }) {
            svg += "<circle cx=\"\(f(x(winner.cost)))\" cy=\"\(f(y(winner.score)))\" r=\"8\" fill=\"none\" stroke=\"#d80\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(f(x(winner.cost) + 10))\" y=\"\(f(y(winner.score) - 8))\" fill=\"#b60\">winner \(winner.id)</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// A family's marker: a square for vit, a triangle for mamba, a circle otherwise.
    static func marker(_ family: String, x: Double, y: Double, fill: String, title: String) -> String {
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        switch family {
        case "vit":
            return "<rect x=\"\(f(x - 4))\" y=\"\(f(y - 4))\" width=\"8\" height=\"8\" fill=\"\(fill)\">\(title)</rect>\n"
        case "mamba":
            return "<polygon points=\"\(f(x)),\(f(y - 5)) \(f(x - 5)),\(f(y + 4)) \(f(x + 5)),\(f(y + 4))\" fill=\"\(fill)\">\(title)</polygon>\n"
        default:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(fill)\">\(title)</circle>\n"
        }
    }

    /// A range with 5 % room on each side (and a unit range around a single value).
    static func padded(_ low: Double, _ high: Double) -> (Double, Double) {
        guard high > low else { return (low - 0.5, high + 0.5) }
        let pad = (high - low) * 0.05
        return (low - pad, high + pad)
    }

    /// About five round tick values inside the range.
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let rough = (high - low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? rough
        var ticks: [Double] = []
        var tick = ceil(low / step) * step
        while tick <= high { ticks.append(tick); tick += step }
        return ticks
    }

    static func label(_ value: Double) -> String {
        let text = String(format: "%.3g", value)
        return text == "-0" ? "0" : text
    }
}
