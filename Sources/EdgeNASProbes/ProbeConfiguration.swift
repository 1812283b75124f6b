import Foundation

/// The six probe tasks.
public enum ProbeKind: String, CaseIterable, Codable, CodingKeyRepresentable, Sendable, Comparable {
    /// Local-global jigsaw: predict each grid slot's original patch index.
    case lgj
    /// Occlusion inpainting: regress the covered region's original pixels.
    case oip
    /// Rotation matching: predict (cos θ, sin θ) between two crops of one image.
    case rm
    /// Colour-shape binding: classify the target object's shape × colour.
    case csb
    /// Motion forecasting: predict a bouncing ball's next centre.
    case mf
    /// Visual memory: few-shot classification of real images, 2·p_test − p_train.
    case vm

    /// Whether the raw score is an error (lower is better) rather than an accuracy.
    public var lowerIsBetter: Bool {
        switch self {
        case .lgj, .oip, .rm, .mf: return true
        case .csb, .vm: return false
        }
    }

    public static func < (lhs: ProbeKind, rhs: ProbeKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Every constant of the probes, in one place, with the reason for its default.
///
/// Images are `resolution × resolution` with 3 channels, normalised like Fashion-MNIST
/// ((v − 0.2860)/0.3530 for v in [0, 1]); real images are greyscale copied to all three channels.
public struct ProbeConfiguration: Sendable, Equatable {
    /// Side of the square probe images in pixels; must equal every candidate's input size.
    public var resolution: Int = 28
    /// Held-out evaluation samples per probe, shared by all candidates (fixed set, fixed seed).
    public var evaluationCount: Int = 128
    /// Most training samples per probe that `evaluate` may ask for (data is generated once).
    public var maximumDataVolume: Int = 2048
    /// Mini-batch size of probe training; D is rounded to a multiple of it.
    public var batchSize: Int = 32
    /// AdamW peak rate, constant over training: a constant rate makes the model after epoch e
    /// of an E-epoch run the model of an e-epoch run, so calibration reads several epoch
    /// anchors off one run.
    public var learningRate: Float = 2e-3
    /// No weight decay: a few hundred steps are too short for it to matter.
    public var weightDecay: Float = 0
    /// Global gradient-norm clip; keeps brief high-rate runs from diverging.
    public var maximumGradientNorm: Float = 5

    // LGJ
    /// Jigsaw grid side: 2 gives 4 patches of 14×14 (a 3×3 grid of 9×9 patches was not
    /// learnable in a few hundred steps).
    public var jigsawGrid: Int = 2
    /// Patches whose cosine similarity to another patch of the same image is at least γ are
    /// not scored (blank background patches cannot be told apart).
    public var jigsawSimilarityThreshold: Double = 0.95

    // OIP
    /// Side range of the square occluded box, in pixels (inclusive).
    public var occlusionMinimumSize: Int = 10
    public var occlusionMaximumSize: Int = 14
    /// Weight of the occluder in the blend: pixel = (1 − α)·original + α·occluder.
    public var occlusionOpacity: Float = 0.5
    /// The head regresses the box's original pixels average-pooled to an n × n grid.
    public var inpaintingGrid: Int = 7
    /// μ in L2 + μ·|std(prediction) − std(original)|: punishes blurry mean predictions.
    public var inpaintingStandardDeviationWeight: Double = 1

    // RM
    /// Side of each crop on the canvas in pixels (two crops side by side).
    public var rotationCropSize: Int = 14
    /// Source pixels covered by a crop: 20 px of the 28 px image, shown at 14 px.
    public var rotationCropSourceSize: Double = 20
    /// Largest centre offset between the two crops in source pixels (they overlap).
    public var rotationCropOffset: Double = 3
    /// θ is uniform in [−θmax, θmax]: a half turn (π/2 each way) keeps the task learnable in
    /// a few epochs; the full circle stayed at chance in the prototype.
    public var rotationMaximumRadians: Double = Double.pi / 2

    // CSB
    /// Shapes × colours of the target (square, disc, triangle, cross × red, green, blue, yellow).
    public static let shapeCount = 4
    public static let colourCount = 4
    /// Target and distractor side ranges in pixels (the distractor is smaller).
    public var targetMinimumSize: Int = 11
    public var targetMaximumSize: Int = 15
    public var distractorMinimumSize: Int = 6
    public var distractorMaximumSize: Int = 8

    // MF
    /// Frames per sequence: frames 1…T−1 go in the 3 input channels, frame T is predicted.
    public static let motionFrames = 4
    /// Ball radius and speed range in pixels (per frame).
    public var ballRadius: Double = 2.5
    public var ballMinimumSpeed: Double = 2
    public var ballMaximumSpeed: Double = 4

    // VM
    /// Classes of the real dataset used (the first k); m_train = D / k examples each.
    public var memoryClasses: Int = 10

    public init() {}

    /// One line per constant, for logs and reports.
    public var summary: String {
        """
        probe inputs 3×\(resolution)×\(resolution), evaluation sets \(evaluationCount) per probe, batch \(batchSize), \
        AdamW lr \(learningRate) constant, weight decay \(weightDecay), gradient clip \(maximumGradientNorm); \
        heads: one Linear on the pooled features; \
        LGJ grid \(jigsawGrid)×\(jigsawGrid), γ \(jigsawSimilarityThreshold); \
        OIP box \(occlusionMinimumSize)–\(occlusionMaximumSize) px, opacity \(occlusionOpacity), target \(inpaintingGrid)×\(inpaintingGrid), μ \(inpaintingStandardDeviationWeight); \
        RM crops \(rotationCropSize) px of \(rotationCropSourceSize) px, offset ≤ \(rotationCropOffset) px, |θ| ≤ \(String(format: "%.2f", rotationMaximumRadians)) rad; \
        CSB \(Self.shapeCount) shapes × \(Self.colourCount) colours, target \(targetMinimumSize)–\(targetMaximumSize) px, distractor \(distractorMinimumSize)–\(distractorMaximumSize) px; \
        MF T = \(Self.motionFrames), radius \(ballRadius) px, speed \(ballMinimumSpeed)–\(ballMaximumSpeed) px/frame; \
        VM k = \(memoryClasses), m_train = D/k
        """
    }

    /// How a probe's head is trained: cross-entropy over groups of `classes` logits (LGJ has
    /// one group per grid slot), or mean squared error against regression targets.
    public enum Loss: Equatable, Sendable {
        case crossEntropy(classes: Int)
        case meanSquaredError
    }

    public func loss(_ kind: ProbeKind) -> Loss {
        switch kind {
        case .lgj: return .crossEntropy(classes: jigsawGrid * jigsawGrid)
        case .csb, .vm: return .crossEntropy(classes: outputCount(kind))
        case .oip, .rm, .mf: return .meanSquaredError
        }
    }

    /// Head outputs of each probe.
    public func outputCount(_ kind: ProbeKind) -> Int {
        switch kind {
        case .lgj: return jigsawGrid * jigsawGrid * jigsawGrid * jigsawGrid
        case .oip: return inpaintingGrid * inpaintingGrid
        case .rm: return 2
        case .csb: return Self.shapeCount * Self.colourCount
        case .mf: return 2
        case .vm: return memoryClasses
        }
    }
}
