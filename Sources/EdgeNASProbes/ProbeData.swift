import EdgeNASCore
import EdgeNASData
import EdgeNASTensor
import Foundation

/// One probe's generated samples: 3-channel normalised images and their targets.
struct ProbeSamples: Sendable {
    let kind: ProbeKind
    let count: Int
    let resolution: Int
    /// count × 3 × resolution × resolution values.
    let inputs: [Float]
    /// LGJ: count × slots patch indices; CSB, VM: one class per sample; else empty.
    let classTargets: [Int]
    /// OIP, RM, MF: count × outputs values; else empty.
    let regressionTargets: [Float]
    /// LGJ: count × slots flags, true where the slot's patch is distinguishable (scored).
    let scoredSlots: [Bool]
    /// Targets per sample: slots for LGJ, 1 for the other classifications, outputs for regressions.
    let targetsPerSample: Int

    var valuesPerImage: Int { 3 * resolution * resolution }

    /// The samples at `indices` as a [B, 3, R, R] tensor with their targets.
    func batch(_ indices: ArraySlice<Int>) -> (images: Tensor, classes: [Int], regression: Tensor?) {
        let stride = valuesPerImage
        var values = [Float](repeating: 0, count: indices.count * stride)
        var classes: [Int] = []
        var regression: [Float] = []
        inputs.withUnsafeBufferPointer { source in
            values.withUnsafeMutableBufferPointer { target in
                for (position, index) in indices.enumerated() {
                    (target.baseAddress! + position * stride).update(from: source.baseAddress! + index * stride, count: stride)
                }
            }
        }
        let per = targetsPerSample
        for index in indices {
            if !classTargets.isEmpty { classes += classTargets[(index * per)..<((index + 1) * per)] }
            if !regressionTargets.isEmpty { regression += regressionTargets[(index * per)..<((index + 1) * per)] }
        }
        let images = Tensor(shape: [indices.count, 3, resolution, resolution], storage: values)
        return (images, classes, regression.isEmpty ? nil : Tensor(shape: [indices.count, per], storage: regression))
    }
}

/// Fashion-MNIST normalisation of a [0, 1] intensity, used for every probe image.
@inline(__always) func normalised(_ value: Float) -> Float {
    (value - 0.2860) / 0.3530
}

/// Greyscale images in [0, 1] at the probe resolution, split into an evaluation pool and a
/// disjoint training pool so that held-out sets never share an image with training data.
struct RealImagePool: Sendable {
    let resolution: Int
    /// Images as resolution² intensities each.
    let images: [[Float]]
    let labels: [Int]
    let classCount: Int
    let evaluationIndices: [Int]
    let trainingIndices: [Int]

    init(dataset: ImageDataset, resolution: Int, evaluationShare: Int, seed: UInt64) throws {
        guard dataset.count >= 64 else {
            throw ProbeError.badImages("the probe image set holds \(dataset.count) images; it needs at least 64")
        }
        self.resolution = resolution
        var images: [[Float]] = []
        images.reserveCapacity(dataset.count)
        for index in 0..<dataset.count {
            images.append(Self.resampled(Array(dataset.pixels(ofImage: index)), height: dataset.height,
                                         width: dataset.width, to: resolution))
        }
        self.images = images
        labels = dataset.labels.map(Int.init)
        classCount = dataset.classCount
        var order = Array(0..<dataset.count)
        var generator = SeededGenerator(seed: seed)
        shuffleIndices(&order, using: &generator)
        let evaluationCount = min(evaluationShare, dataset.count / 4)
        evaluationIndices = Array(order[..<evaluationCount])
        trainingIndices = Array(order[evaluationCount...])
    }

    /// Bilinear resampling of 8-bit pixels to a resolution × resolution grid of [0, 1] values.
    static func resampled(_ pixels: [UInt8], height: Int, width: Int, to resolution: Int) -> [Float] {
        if height == resolution && width == resolution { return pixels.map { Float($0) / 255 } }
        var result = [Float](repeating: 0, count: resolution * resolution)
        for y in 0..<resolution {
            for x in 0..<resolution {
                let sourceY = (Double(y) + 0.5) * Double(height) / Double(resolution) - 0.5
                let sourceX = (Double(x) + 0.5) * Double(width) / Double(resolution) - 0.5
                result[y * resolution + x] = bilinear(pixels.map { Float($0) / 255 }, height: height, width: width,
                                                      y: sourceY, x: sourceX)
            }
        }
        return result
    }
}

/// Value of a row-major image at a fractional position; 0 outside.
func bilinear(_ image: [Float], height: Int, width: Int, y: Double, x: Double) -> Float {
    let y0 = Int(floor(y)), x0 = Int(floor(x))
    let fy = Float(y - Double(y0)), fx = Float(x - Double(x0))
    func at(_ row: Int, _ column: Int) -> Float {
        (row >= 0 && row < height && column >= 0 && column < width) ? image[row * width + column] : 0
    }
    return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
}

/// Fisher–Yates through `uniformIndex(below:)` only, so a seed gives the same order everywhere.
func shuffleIndices(_ values: inout [Int], using generator: inout SeededGenerator) {
    guard values.count > 1 else { return }
    for index in stride(from: values.count - 1, to: 0, by: -1) {
        values.swapAt(index, generator.uniformIndex(below: index + 1))
    }
}

/// A uniform Double in [low, high).
func uniform(_ low: Double, _ high: Double, using generator: inout SeededGenerator) -> Double {
    low + (high - low) * generator.uniformUnitInterval()
}

/// Writes a greyscale [0, 1] image into all three channels of a normalised sample.
func writeGrey(_ image: [Float], into values: inout [Float], sample: Int, resolution: Int) {
    let plane = resolution * resolution
    for channel in 0..<3 {
        let base = (sample * 3 + channel) * plane
        for pixel in 0..<plane { values[base + pixel] = normalised(image[pixel]) }
    }
}

/// Generates every probe's training and evaluation samples.
struct ProbeDataGenerator {
    let configuration: ProbeConfiguration
    let pool: RealImagePool

    /// `count` samples of `kind`, from the evaluation pool when `heldOut`.
    func samples(_ kind: ProbeKind, count: Int, heldOut: Bool, seed: UInt64) -> ProbeSamples {
        var generator = SeededGenerator(seed: seed)
        let sources = heldOut ? pool.evaluationIndices : pool.trainingIndices
        switch kind {
        case .lgj: return jigsaw(count: count, sources: sources, using: &generator)
        case .oip: return inpainting(count: count, sources: sources, using: &generator)
        case .rm: return rotation(count: count, sources: sources, using: &generator)
        case .csb: return binding(count: count, using: &generator)
        case .mf: return motion(count: count, using: &generator)
        case .vm: return memory(count: count, sources: sources, using: &generator)
        }
    }

    private var resolution: Int { configuration.resolution }

    private func randomImage(_ sources: [Int], using generator: inout SeededGenerator) -> [Float] {
        pool.images[sources[generator.uniformIndex(below: sources.count)]]
    }

    // MARK: LGJ

    func jigsaw(count: Int, sources: [Int], using generator: inout SeededGenerator) -> ProbeSamples {
        let grid = configuration.jigsawGrid, slots = grid * grid, patch = resolution / grid
        var values = [Float](repeating: 0, count: count * 3 * resolution * resolution)
        var targets: [Int] = [], scored: [Bool] = []
        for sample in 0..<count {
            let image = randomImage(sources, using: &generator)
            var order = Array(0..<slots)
            shuffleIndices(&order, using: &generator)
            let patches = (0..<slots).map { index -> [Float] in
                let (row, column) = (index / grid, index % grid)
                var values: [Float] = []
                for y in 0..<patch { for x in 0..<patch { values.append(image[(row * patch + y) * resolution + column * patch + x]) } }
                return values
            }
            let distinct = ProbeScoring.distinguishablePatches(patches, threshold: configuration.jigsawSimilarityThreshold)
            var shuffled = [Float](repeating: 0, count: resolution * resolution)
            for slot in 0..<slots {
                let source = order[slot]
                let (row, column) = (slot / grid, slot % grid)
                for y in 0..<patch {
                    for x in 0..<patch { shuffled[(row * patch + y) * resolution + column * patch + x] = patches[source][y * patch + x] }
                }
                targets.append(source)
                scored.append(distinct[source])
            }
            writeGrey(shuffled, into: &values, sample: sample, resolution: resolution)
        }
        return ProbeSamples(kind: .lgj, count: count, resolution: resolution, inputs: values, classTargets: targets,
                            regressionTargets: [], scoredSlots: scored, targetsPerSample: slots)
    }

    // MARK: OIP

    func inpainting(count: Int, sources: [Int], using generator: inout SeededGenerator) -> ProbeSamples {
        let plane = resolution * resolution, grid = configuration.inpaintingGrid
        let opacity = configuration.occlusionOpacity
        var values = [Float](repeating: 0, count: count * 3 * plane)
        var targets: [Float] = []
        for sample in 0..<count {
            let image = randomImage(sources, using: &generator)
            let size = configuration.occlusionMinimumSize
                + generator.uniformIndex(below: configuration.occlusionMaximumSize - configuration.occlusionMinimumSize + 1)
            let top = generator.uniformIndex(below: resolution - size + 1)
            let left = generator.uniformIndex(below: resolution - size + 1)
            let useNoise = generator.next() & 1 == 0
            let other = randomImage(sources, using: &generator)
            for channel in 0..<3 {
                let base = (sample * 3 + channel) * plane
                for pixel in 0..<plane { values[base + pixel] = normalised(image[pixel]) }
                for y in top..<(top + size) {
                    for x in left..<(left + size) {
                        // Colour noise differs per channel; another image is grey.
                        let occluder = useNoise ? Float(generator.uniformUnitInterval()) : other[y * resolution + x]
                        values[base + y * resolution + x] = normalised((1 - opacity) * image[y * resolution + x] + opacity * occluder)
                    }
                }
            }
            targets += ProbeScoring.averagePooled(image, resolution: resolution, top: top, left: left, size: size, grid: grid)
        }
        return ProbeSamples(kind: .oip, count: count, resolution: resolution, inputs: values, classTargets: [],
                            regressionTargets: targets, scoredSlots: [], targetsPerSample: grid * grid)
    }

    // MARK: RM

    func rotation(count: Int, sources: [Int], using generator: inout SeededGenerator) -> ProbeSamples {
        let crop = configuration.rotationCropSize, span = configuration.rotationCropSourceSize
        let offset = configuration.rotationCropOffset, center = Double(resolution) / 2
        let top = (resolution - crop) / 2
        var values = [Float](repeating: 0, count: count * 3 * resolution * resolution)
        var targets: [Float] = []
        for sample in 0..<count {
            let image = randomImage(sources, using: &generator)
            let angle = uniform(-configuration.rotationMaximumRadians, configuration.rotationMaximumRadians, using: &generator)
            let firstY = center + uniform(-2, 2, using: &generator), firstX = center + uniform(-2, 2, using: &generator)
            let secondY = firstY + uniform(-offset, offset, using: &generator)
            let secondX = firstX + uniform(-offset, offset, using: &generator)
            let (cosine, sine) = (cos(angle), sin(angle))
            var canvas = [Float](repeating: 0, count: resolution * resolution)
            for y in 0..<crop {
                for x in 0..<crop {
                    let u = ((Double(x) + 0.5) / Double(crop) - 0.5) * span
                    let v = ((Double(y) + 0.5) / Double(crop) - 0.5) * span
                    canvas[(top + y) * resolution + x] = bilinear(image, height: resolution, width: resolution,
                                                                  y: firstY + v - 0.5, x: firstX + u - 0.5)
                    // The second view is the source rotated by θ about its centre.
                    let rotatedU = cosine * u - sine * v, rotatedV = sine * u + cosine * v
                    canvas[(top + y) * resolution + resolution - crop + x] = bilinear(
                        image, height: resolution, width: resolution, y: secondY + rotatedV - 0.5, x: secondX + rotatedU - 0.5)
                }
            }
            writeGrey(canvas, into: &values, sample: sample, resolution: resolution)
            targets += [Float(cosine), Float(sine)]
        }
        return ProbeSamples(kind: .rm, count: count, resolution: resolution, inputs: values, classTargets: [],
                            regressionTargets: targets, scoredSlots: [], targetsPerSample: 2)
    }

    // MARK: CSB

    /// RGB of red, green, blue, yellow.
    static let colours: [(Float, Float, Float)] = [(0.95, 0.15, 0.1), (0.15, 0.85, 0.2), (0.2, 0.3, 0.95), (0.95, 0.9, 0.15)]

    /// Whether the pixel at offset (dy, dx) from a box's top-left lies inside the shape.
    static func insideShape(_ shape: Int, dy: Double, dx: Double, size: Double) -> Bool {
        let (u, v) = (dx / size - 0.5, dy / size - 0.5)  // centred, in [−0.5, 0.5]
        switch shape {
        case 0: return abs(u) <= 0.5 && abs(v) <= 0.5                       // square
        case 1: return u * u + v * v <= 0.25                                // disc
        case 2: return v >= -0.5 && v <= 0.5 && abs(u) <= (v + 0.5) / 2     // triangle, apex up
        default: return (abs(u) <= 0.17 && abs(v) <= 0.5) || (abs(v) <= 0.17 && abs(u) <= 0.5)  // cross
        }
    }

    func binding(count: Int, using generator: inout SeededGenerator) -> ProbeSamples {
        let plane = resolution * resolution
        let shapes = ProbeConfiguration.shapeCount, colours = ProbeConfiguration.colourCount
        var values = [Float](repeating: 0, count: count * 3 * plane)
        var labels: [Int] = []
        for sample in 0..<count {
            var rgb = [Float](repeating: 0, count: 3 * plane)
            for index in rgb.indices { rgb[index] = Float(0.12 * generator.uniformUnitInterval()) }
            let targetShape = generator.uniformIndex(below: shapes), targetColour = generator.uniformIndex(below: colours)
            let distractorShape = (targetShape + 1 + generator.uniformIndex(below: shapes - 1)) % shapes
            let distractorColour = (targetColour + 1 + generator.uniformIndex(below: colours - 1)) % colours
            let targetSize = configuration.targetMinimumSize
                + generator.uniformIndex(below: configuration.targetMaximumSize - configuration.targetMinimumSize + 1)
            let distractorSize = configuration.distractorMinimumSize
                + generator.uniformIndex(below: configuration.distractorMaximumSize - configuration.distractorMinimumSize + 1)
            let targetTop = generator.uniformIndex(below: resolution - targetSize + 1)
            let targetLeft = generator.uniformIndex(below: resolution - targetSize + 1)
            // The distractor avoids the target's box when it can (bounded tries, then it may overlap).
            var distractorTop = 0, distractorLeft = 0
            for _ in 0..<20 {
                distractorTop = generator.uniformIndex(below: resolution - distractorSize + 1)
                distractorLeft = generator.uniformIndex(below: resolution - distractorSize + 1)
                let apart = distractorTop + distractorSize <= targetTop || targetTop + targetSize <= distractorTop
                    || distractorLeft + distractorSize <= targetLeft || targetLeft + targetSize <= distractorLeft
                if apart { break }
            }
            let brightness = Float(uniform(0.75, 1, using: &generator))
            for (shape, colour, size, top, left) in [(distractorShape, distractorColour, distractorSize, distractorTop, distractorLeft),
                                                     (targetShape, targetColour, targetSize, targetTop, targetLeft)] {
                let (red, green, blue) = Self.colours[colour]
                for y in 0..<size {
                    for x in 0..<size where Self.insideShape(shape, dy: Double(y) + 0.5, dx: Double(x) + 0.5, size: Double(size)) {
                        let pixel = (top + y) * resolution + left + x
                        rgb[pixel] = red * brightness
                        rgb[plane + pixel] = green * brightness
                        rgb[2 * plane + pixel] = blue * brightness
                    }
                }
            }
            for index in rgb.indices { values[sample * 3 * plane + index] = normalised(rgb[index]) }
            labels.append(targetShape * colours + targetColour)
        }
        return ProbeSamples(kind: .csb, count: count, resolution: resolution, inputs: values, classTargets: labels,
                            regressionTargets: [], scoredSlots: [], targetsPerSample: 1)
    }

    // MARK: MF

    func motion(count: Int, using generator: inout SeededGenerator) -> ProbeSamples {
        let plane = resolution * resolution, side = Double(resolution), radius = configuration.ballRadius
        var values = [Float](repeating: 0, count: count * 3 * plane)
        var targets: [Float] = []
        for sample in 0..<count {
            var y = uniform(radius, side - radius, using: &generator), x = uniform(radius, side - radius, using: &generator)
            let heading = uniform(0, 2 * Double.pi, using: &generator)
            let speed = uniform(configuration.ballMinimumSpeed, configuration.ballMaximumSpeed, using: &generator)
            var (velocityY, velocityX) = (speed * sin(heading), speed * cos(heading))
            for frame in 0..<ProbeConfiguration.motionFrames {
                if frame == ProbeConfiguration.motionFrames - 1 {
                    targets += [Float(x / side), Float(y / side)]
                    break
                }
                let base = (sample * 3 + frame) * plane
                for row in 0..<resolution {
                    for column in 0..<resolution {
                        // Anti-aliased disc: full inside, linear ramp over the last pixel.
                        let distance = ((Double(row) + 0.5 - y) * (Double(row) + 0.5 - y)
                            + (Double(column) + 0.5 - x) * (Double(column) + 0.5 - x)).squareRoot()
                        values[base + row * resolution + column] = normalised(Float(min(1, max(0, radius + 0.5 - distance))))
                    }
                }
                (y, velocityY) = Self.bounced(y + velocityY, velocityY, low: radius, high: side - radius)
                (x, velocityX) = Self.bounced(x + velocityX, velocityX, low: radius, high: side - radius)
            }
        }
        return ProbeSamples(kind: .mf, count: count, resolution: resolution, inputs: values, classTargets: [],
                            regressionTargets: targets, scoredSlots: [], targetsPerSample: 2)
    }

    /// Reflects a position that left [low, high] back inside and flips its velocity.
    static func bounced(_ position: Double, _ velocity: Double, low: Double, high: Double) -> (Double, Double) {
        if position < low { return (2 * low - position, -velocity) }
        if position > high { return (2 * high - position, -velocity) }
        return (position, velocity)
    }

    // MARK: VM

    /// Sample i has class i mod k, so any prefix of D samples holds D/k per class.
    func memory(count: Int, sources: [Int], using generator: inout SeededGenerator) -> ProbeSamples {
        let classes = min(configuration.memoryClasses, pool.classCount)
        var byClass = [[Int]](repeating: [], count: classes)
        for index in sources where pool.labels[index] < classes { byClass[pool.labels[index]].append(index) }
        for index in byClass.indices { shuffleIndices(&byClass[index], using: &generator) }
        var values = [Float](repeating: 0, count: count * 3 * resolution * resolution)
        var labels: [Int] = []
        for sample in 0..<count {
            let label = sample % classes
            let members = byClass[label]
            // Without replacement while the class lasts (then cycling: only tiny datasets reach that).
            let image = pool.images[members[(sample / classes) % max(1, members.count)]]
            writeGrey(image, into: &values, sample: sample, resolution: resolution)
            labels.append(label)
        }
        return ProbeSamples(kind: .vm, count: count, resolution: resolution, inputs: values, classTargets: labels,
                            regressionTargets: [], scoredSlots: [], targetsPerSample: 1)
    }
}
