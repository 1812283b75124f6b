import EdgeNASCore
import EdgeNASTensor

/// A small MobileNet-like CNN built directly from the engine's layers, for the engine demo
/// and smoke tests: conv 3×3 → two depthwise-separable stride-2 blocks → pooling → linear.
public final class DemoConvNet: FeatureClassifier {
    let stem: Conv2d, stemNorm: BatchNorm
    let depthwise1: Conv2d, depthwiseNorm1: BatchNorm, pointwise1: Conv2d, pointwiseNorm1: BatchNorm
    let depthwise2: Conv2d, depthwiseNorm2: BatchNorm, pointwise2: Conv2d, pointwiseNorm2: BatchNorm
    public let classifier: Linear
    public var featureCount: Int { classifier.weight.shape[1] }

    /// - Parameters:
    ///   - inChannels: image channels (1 for Fashion-MNIST).
    ///   - classes: number of output logits.
    ///   - width: channels after the stem; the blocks double it twice.
    public init(inChannels: Int = 1, classes: Int = 10, width: Int = 24, seed: UInt64 = 0) {
        var generator = SeededGenerator(seed: seed)
        stem = Conv2d(inChannels: inChannels, outChannels: width, kernel: 3, using: &generator)
        stemNorm = BatchNorm(channels: width)
        depthwise1 = Conv2d(inChannels: width, outChannels: width, kernel: 3, stride: 2, groups: width, using: &generator)
        depthwiseNorm1 = BatchNorm(channels: width)
        pointwise1 = Conv2d(inChannels: width, outChannels: 2 * width, kernel: 1, using: &generator)
        pointwiseNorm1 = BatchNorm(channels: 2 * width)
        depthwise2 = Conv2d(inChannels: 2 * width, outChannels: 2 * width, kernel: 3, stride: 2, groups: 2 * width,
                            using: &generator)
        depthwiseNorm2 = BatchNorm(channels: 2 * width)
        pointwise2 = Conv2d(inChannels: 2 * width, outChannels: 4 * width, kernel: 1, using: &generator)
        pointwiseNorm2 = BatchNorm(channels: 4 * width)
        classifier = Linear(inFeatures: 4 * width, outFeatures: classes, using: &generator)
    }

    public var ownParameters: [(name: String, tensor: Tensor)] { [] }

    public var children: [(name: String, module: any Module)] {
        [("stem", stem), ("stem_bn", stemNorm),
         ("dw1", depthwise1), ("dw1_bn", depthwiseNorm1), ("pw1", pointwise1), ("pw1_bn", pointwiseNorm1),
         ("dw2", depthwise2), ("dw2_bn", depthwiseNorm2), ("pw2", pointwise2), ("pw2_bn", pointwiseNorm2),
         ("fc", classifier)]
    }

    public func features(_ images: Tensor) -> Tensor {
        var x = relu(stemNorm(stem(images)))
        x = relu(depthwiseNorm1(depthwise1(x)))
        x = relu(pointwiseNorm1(pointwise1(x)))
        x = relu(depthwiseNorm2(depthwise2(x)))
        x = relu(pointwiseNorm2(pointwise2(x)))
        return x.globalAveragePooled()
    }
}
