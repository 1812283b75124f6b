import Foundation

/// The probes' score functions on plain arrays, so that they can be checked on hand-made
/// predictions. Errors (LGJ, OIP, RM, MF) are lower-is-better, accuracies higher-is-better.
public enum ProbeScoring {
    /// For each patch, whether its cosine similarity to every other patch of the image is
    /// below `threshold`. An all-zero patch has no direction and counts as indistinguishable.
    public static func distinguishablePatches(_ patches: [[Float]], threshold: Double) -> [Bool] {
        let norms = patches.map { patch in patch.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
        return patches.indices.map { index in
            guard norms[index] > 1e-9 else { return false }
            for other in patches.indices where other != index {
                guard norms[other] > 1e-9 else { continue }
                var dot = 0.0
                for (a, b) in zip(patches[index], patches[other]) { dot += Double(a) * Double(b) }
                if dot / (norms[index] * norms[other]) >= threshold { return false }
            }
            return true
        }
    }

    /// LGJ: mean Euclidean distance, in grid cells, between the grid position of the predicted
    /// patch index (argmax of each slot's `slots` logits) and the true one, over scored slots.
    ///
    /// - Parameters:
    ///   - logits: samples × slots × slots values (slot-major per sample).
    ///   - targets: samples × slots true patch indices.
    ///   - scored: samples × slots flags; unflagged slots are left out.
    /// - Returns: the mean distance; 0 when no slot is scored.
    public static func jigsawDistance(logits: [Float], targets: [Int], scored: [Bool], grid: Int) -> Double {
        let slots = grid * grid
        precondition(logits.count == targets.count * slots && scored.count == targets.count,
                     "jigsawDistance: \(logits.count) logits, \(targets.count) targets, \(scored.count) flags for \(slots) slots")
        var total = 0.0, counted = 0
        for position in targets.indices where scored[position] {
            let row = logits[(position * slots)..<((position + 1) * slots)]
            let predicted = row.indices.max { row[$0] < row[$1] }! - position * slots
            let (dy, dx) = (Double(predicted / grid - targets[position] / grid), Double(predicted % grid - targets[position] % grid))
            total += (dy * dy + dx * dx).squareRoot()
            counted += 1
        }
        return counted == 0 ? 0 : total / Double(counted)
    }

    /// OIP: mean over samples of the mean squared error plus μ·|std(prediction) − std(target)|,
    /// each sample's `outputs` values taken together (std over the region's pooled pixels).
    public static func inpaintingError(predictions: [Float], targets: [Float], outputs: Int, standardDeviationWeight mu: Double) -> Double {
        precondition(predictions.count == targets.count && outputs > 0 && targets.count % outputs == 0,
                     "inpaintingError: \(predictions.count) predictions vs \(targets.count) targets of \(outputs)")
        let samples = targets.count / outputs
        guard samples > 0 else { return 0 }
        var total = 0.0
        for sample in 0..<samples {
            let range = (sample * outputs)..<((sample + 1) * outputs)
            let prediction = predictions[range].map(Double.init), target = targets[range].map(Double.init)
            let squared = zip(prediction, target).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(outputs)
            total += squared + mu * abs(populationStandardDeviation(prediction) - populationStandardDeviation(target))
        }
        return total / Double(samples)
    }

    /// RM: mean Euclidean distance between the prediction projected onto the unit circle and
    /// (cos θ, sin θ); a zero prediction has no direction and scores 1 (the circle's radius).
    public static func rotationError(predictions: [Float], targets: [Float]) -> Double {
        precondition(predictions.count == targets.count && targets.count % 2 == 0, "rotationError: sizes \(predictions.count), \(targets.count)")
        let samples = targets.count / 2
        guard samples > 0 else { return 0 }
        var total = 0.0
        for sample in 0..<samples {
            let (x, y) = (Double(predictions[2 * sample]), Double(predictions[2 * sample + 1]))
            let norm = (x * x + y * y).squareRoot()
            guard norm > 1e-12 else { total += 1; continue }
            let (dx, dy) = (x / norm - Double(targets[2 * sample]), y / norm - Double(targets[2 * sample + 1]))
            total += (dx * dx + dy * dy).squareRoot()
        }
        return total / Double(samples)
    }

    /// CSB and VM: fraction of rows whose argmax is the label.
    public static func accuracy(logits: [Float], labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 0 }
        let classes = logits.count / labels.count
        precondition(classes * labels.count == logits.count, "accuracy: \(logits.count) logits for \(labels.count) labels")
        var correct = 0
        for (row, label) in labels.enumerated() {
            let slice = logits[(row * classes)..<((row + 1) * classes)]
            if slice.indices.max(by: { slice[$0] < slice[$1] })! - row * classes == label { correct += 1 }
        }
        return Double(correct) / Double(labels.count)
    }

    /// MF: mean Euclidean distance between predicted and true centres, in image-side units.
    public static func motionError(predictions: [Float], targets: [Float]) -> Double {
        precondition(predictions.count == targets.count && targets.count % 2 == 0, "motionError: sizes \(predictions.count), \(targets.count)")
        let samples = targets.count / 2
        guard samples > 0 else { return 0 }
        var total = 0.0
        for sample in 0..<samples {
            let dx = Double(predictions[2 * sample] - targets[2 * sample])
            let dy = Double(predictions[2 * sample + 1] - targets[2 * sample + 1])
            total += (dx * dx + dy * dy).squareRoot()
        }
        return total / Double(samples)
    }

    /// VM: 2·p_test − p_train, which rewards generalising over memorising.
    public static func memoryScore(testAccuracy: Double, trainingAccuracy: Double) -> Double {
        2 * testAccuracy - trainingAccuracy
    }

    /// The box [top, top+size) × [left, left+size) of a row-major image averaged over a
    /// grid × grid partition (cell boundaries at top + ⌊i·size/grid⌋).
    static func averagePooled(_ image: [Float], resolution: Int, top: Int, left: Int, size: Int, grid: Int) -> [Float] {
        var result: [Float] = []
        for cellY in 0..<grid {
            let y0 = top + cellY * size / grid, y1 = max(y0 + 1, top + (cellY + 1) * size / grid)
            for cellX in 0..<grid {
                let x0 = left + cellX * size / grid, x1 = max(x0 + 1, left + (cellX + 1) * size / grid)
                var sum: Float = 0
                for y in y0..<y1 { for x in x0..<x1 { sum += image[y * resolution + x] } }
                result.append(sum / Float((y1 - y0) * (x1 - x0)))
            }
        }
        return result
    }

    private static func populationStandardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
    }
}
