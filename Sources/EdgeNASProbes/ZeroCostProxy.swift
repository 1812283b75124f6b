import EdgeNASCore
import EdgeNASData
import EdgeNASModels
import EdgeNASTensor
import Foundation

/// One batch of real images and labels at an architecture's own input shape, the data the
/// zero-cost proxies look at.
public struct ProxyBatch: @unchecked Sendable {
    /// [B, C, H, W], normalised like the training data.
    public var images: Tensor
    public var labels: [Int]

    public init(images: Tensor, labels: [Int]) {
        precondition(images.rank == 4 && images.shape[0] == labels.count,
                     "ProxyBatch: images \(images.shape) vs \(labels.count) labels")
        self.images = images
        self.labels = labels
    }

    /// `count` images of `dataset` drawn with `seed`, normalised with the dataset's own
    /// per-channel mean and std, as a network trained on it sees them.
    public init(dataset: ImageDataset, count: Int = 64, seed: UInt64 = 0) {
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<dataset.count)
        shuffleIndices(&order, using: &generator)
        let batcher = ImageBatcher(normalization: ImageNormalization(of: dataset))
        let (images, labels) = batcher.batch(dataset, indices: order.prefix(min(count, dataset.count)), augment: false,
                                             using: &generator)
        self.init(images: images, labels: labels)
    }
}

extension ProxyBatch {
    /// This batch as an architecture with input `shape` and `classes` outputs takes it, so
    /// that the proxies score any input shape from the same real images.
    ///
    /// Each image is resized bilinearly to height × width (sampling pixel centres, edge
    /// pixels repeated beyond the border) and its channels converted: a one-channel image is
    /// repeated in every channel, a many-channel one averaged for a one-channel input, and
    /// otherwise output channel c takes input channel c mod C. Values stay normalised as
    /// they were (resizing and averaging commute with the normalisation). Labels are taken
    /// modulo `classes`: the proxies only need a loss over the architecture's outputs.
    /// A batch that already fits is returned as it is.
    public func fitted(to shape: ImageShape, classes: Int) -> ProxyBatch {
        let (count, channels, height, width) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let fittedLabels = labels.allSatisfy { $0 < classes } ? labels : labels.map { $0 % max(classes, 1) }
        guard channels != shape.channels || height != shape.height || width != shape.width else {
            return ProxyBatch(images: images, labels: fittedLabels)
        }
        let source = images.storage
        let plane = height * width, targetPlane = shape.height * shape.width
        // Greyscale per image first when the channel counts need averaging.
        var values = [Float](repeating: 0, count: count * shape.channels * targetPlane)
        for sample in 0..<count {
            for targetChannel in 0..<shape.channels {
                var sourcePlane = [Float](repeating: 0, count: plane)
                if shape.channels == 1 && channels > 1 {
                    for channel in 0..<channels {
                        let base = (sample * channels + channel) * plane
                        for pixel in 0..<plane { sourcePlane[pixel] += source[base + pixel] / Float(channels) }
                    }
                } else {
                    let base = (sample * channels + targetChannel % channels) * plane
                    for pixel in 0..<plane { sourcePlane[pixel] = source[base + pixel] }
                }
                let target = (sample * shape.channels + targetChannel) * targetPlane
                for y in 0..<shape.height {
                    let sourceY = min(max((Double(y) + 0.5) * Double(height) / Double(shape.height) - 0.5, 0), Double(height - 1))
                    let y0 = Int(sourceY), y1 = min(y0 + 1, height - 1), fy = Float(sourceY - Double(y0))
                    for x in 0..<shape.width {
                        let sourceX = min(max((Double(x) + 0.5) * Double(width) / Double(shape.width) - 0.5, 0), Double(width - 1))
                        let x0 = Int(sourceX), x1 = min(x0 + 1, width - 1), fx = Float(sourceX - Double(x0))
                        let top = (1 - fx) * sourcePlane[y0 * width + x0] + fx * sourcePlane[y0 * width + x1]
                        let bottom = (1 - fx) * sourcePlane[y1 * width + x0] + fx * sourcePlane[y1 * width + x1]
                        values[target + y * shape.width + x] = (1 - fy) * top + fy * bottom
                    }
                }
            }
        }
        return ProxyBatch(images: Tensor(shape: [count, shape.channels, shape.height, shape.width], storage: values),
                          labels: fittedLabels)
    }
}

/// Training-free scores of an untrained network (higher is predicted better).
public enum ZeroCostProxy: String, CaseIterable, Sendable {
    /// Trainable scalars.
    case params
    /// 2 × multiply-accumulates per image.
    case flops
    /// log Σ|θ ⊙ ∂R/∂θ| with all weights replaced by their absolute values and R the summed
    /// output for an all-ones input (BatchNorm with its initial running statistics). The log
    /// keeps the value finite for deep networks and does not change the ranking.
    case synflow
    /// Σ|g ⊙ θ|: connection sensitivity of the cross-entropy loss on the batch.
    case snip
    /// √Σ g²: the loss gradient's norm on the batch.
    case gradNorm = "grad_norm"
    /// NASWOT: log|det K| with K_ij the number of activation units on which samples i and j
    /// agree in sign (the binary-code kernel of Mellor et al.).
    case naswot

    /// The proxy's value for `architecture` initialised from `seed`, on `batch` (any real
    /// images: they are fitted to the architecture's input shape and classes, see
    /// ``ProxyBatch/fitted(to:classes:)``; unused by params and flops).
    public func score(_ architecture: Architecture, batch: ProxyBatch, seed: UInt64 = 0) throws -> Double {
        switch self {
        case .params: return Double(architecture.cost.params)
        case .flops: return Double(architecture.cost.flops)
        default: break
        }
        let input = architecture.input
        let batch = batch.fitted(to: input, classes: architecture.classes)
        let network = NetworkBuilder.network(for: architecture, seed: seed)
        switch self {
        case .synflow: return Self.synflow(network, input: input)
        case .snip, .gradNorm:
            network.setTrainingMode(true)
            crossEntropy(logits: network(batch.images), labels: batch.labels).backward()
            var total = 0.0
            for parameter in network.parameters {
                guard let gradient = parameter.gradient else { continue }
                for (g, w) in zip(gradient, parameter.storage) {
                    total += self == .snip ? abs(Double(g) * Double(w)) : Double(g) * Double(g)
                }
            }
            return self == .snip ? total : total.squareRoot()
        case .naswot: return Self.naswot(network, images: batch.images)
        case .params, .flops: fatalError("handled above")
        }
    }

    private static func synflow(_ network: any FeatureClassifier, input: ImageShape) -> Double {
        network.setTrainingMode(false)
        let parameters = network.parameters
        let saved = parameters.map(\.storage)
        for parameter in parameters { parameter.storage = parameter.storage.map(abs) }
        defer { for (parameter, values) in zip(parameters, saved) { parameter.storage = values } }
        let ones = Tensor.full([1, input.channels, input.height, input.width], 1)
        network(ones).sum().backward()
        var total = 0.0
        for parameter in parameters {
            guard let gradient = parameter.gradient else { continue }
            for (g, w) in zip(gradient, parameter.storage) { total += abs(Double(g) * Double(w)) }
        }
        return total > 0 ? log(total) : -Double.greatestFiniteMagnitude
    }

    private static func naswot(_ network: any FeatureClassifier, images: Tensor) -> Double {
        network.setTrainingMode(true)
        let recorder = ActivationRecorder()
        withoutGradients { recorder.recording { _ = network(images) } }
        let samples = images.shape[0]
        var kernel = [[Double]](repeating: [Double](repeating: 0, count: samples), count: samples)
        for output in recorder.outputs {
            let width = output.count / samples
            output.storage.withUnsafeBufferPointer { values in
                for i in 0..<samples {
                    for j in i..<samples {
                        var agree = 0
                        for unit in 0..<width where (values[i * width + unit] > 0) == (values[j * width + unit] > 0) { agree += 1 }
                        kernel[i][j] += Double(agree)
                        if i != j { kernel[j][i] += Double(agree) }
                    }
                }
            }
        }
        return logAbsoluteDeterminant(kernel) ?? -Double.greatestFiniteMagnitude
    }
}

/// log|det A| by LU with partial pivoting; nil for a singular matrix.
func logAbsoluteDeterminant(_ matrix: [[Double]]) -> Double? {
    var a = matrix
    let n = a.count
    var total = 0.0
    for column in 0..<n {
        let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
        let scale = a.map { $0.map(abs).max() ?? 0 }.max() ?? 0
        guard abs(a[pivot][column]) > 1e-12 * max(scale, 1) else { return nil }
        a.swapAt(column, pivot)
        total += log(abs(a[column][column]))
        for row in (column + 1)..<n {
            let factor = a[row][column] / a[column][column]
            if factor == 0 { continue }
            for k in column..<n { a[row][k] -= factor * a[column][k] }
        }
    }
    return total
}
