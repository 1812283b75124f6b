import EdgeNASTensor
import Foundation
import Testing

// The PyTorch goldens written by scripts/generate-tensor-goldens.py (float64, inputs rounded
// to float32 first). Keys keep the script's snake_case spelling.

/// A tensor as stored in a golden file: its shape and row-major values.
struct GoldenTensor: Decodable {
    let shape: [Int]
    let values: [Double]

    var floats: [Float] { values.map(Float.init) }

    func tensor(requiresGradient: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: floats, requiresGradient: requiresGradient)
    }
}

/// One operation: inputs, output y, the weights R of L = Σ y ⊙ R and dL/d(input).
struct OperationGolden: Decodable {
    struct Attributes: Decodable {
        var stride: Int?
        var padding: Int?
        var groups: Int?
        var heads: Int?
        var training: Bool?
        var momentum: Float?
        var epsilon: Float?
        var labels: [Int]?
        var labelSmoothing: Float?

        enum CodingKeys: String, CodingKey {
            case stride, padding, groups, heads, training, momentum, epsilon, labels
            case labelSmoothing = "label_smoothing"
        }
    }

    let operation: String
    let attributes: Attributes
    let inputs: [String: GoldenTensor]
    let output: GoldenTensor
    let outputWeights: GoldenTensor
    let gradients: [String: GoldenTensor]
    /// Tensors without gradients that the operation updates in place (batch-norm running
    /// statistics), before and after the call.
    let stateBefore: [String: GoldenTensor]?
    let stateAfter: [String: GoldenTensor]?

    enum CodingKeys: String, CodingKey {
        case operation, attributes, inputs, output, gradients
        case outputWeights = "output_weights"
        case stateBefore = "state_before"
        case stateAfter = "state_after"
    }
}

/// Three optimizer steps: initial parameters, then per step the gradients and the
/// parameters after the step.
struct OptimizerGolden: Decodable {
    struct Attributes: Decodable {
        var learningRate: Float
        var momentum: Float?
        var nesterov: Bool?
        var weightDecay: Float?
        var beta1: Float?
        var beta2: Float?
        var epsilon: Float?

        enum CodingKeys: String, CodingKey {
            case momentum, nesterov, beta1, beta2, epsilon
            case learningRate = "learning_rate"
            case weightDecay = "weight_decay"
        }
    }

    struct Step: Decodable {
        let gradients: [String: GoldenTensor]
        let parametersAfter: [String: GoldenTensor]

        enum CodingKeys: String, CodingKey {
            case gradients
            case parametersAfter = "parameters_after"
        }
    }

    let optimizer: String
    let attributes: Attributes
    let parameters: [String: GoldenTensor]
    let steps: [Step]
}

enum GoldenFixtures {
    static let operationNames = [
        "conv2d_3x3", "conv2d_3x3_stride2_bias", "conv2d_groups2_bias",
        "conv2d_depthwise_k3", "conv2d_depthwise_k5", "conv2d_depthwise_k5_stride2",
        "batch_norm_training_rank4", "batch_norm_training_rank2",
        "batch_norm_inference_rank4", "batch_norm_inference_rank2",
        "layer_norm_rank3", "layer_norm_rank2",
        "attention_heads1", "attention_heads2", "attention_heads4",
        "cross_entropy", "cross_entropy_smoothing",
        "gelu", "hardswish", "softmax",
        "selective_scan", "selective_scan_long",
    ]

    static let optimizerNames = [
        "optimizer_sgd_plain", "optimizer_sgd_momentum", "optimizer_sgd_nesterov",
        "optimizer_sgd_weight_decay", "optimizer_adamw",
    ]

    /// The folder of the golden files inside the test bundle.
    static var directory: URL? {
        Bundle.module.url(forResource: "goldens", withExtension: nil, subdirectory: "Fixtures")
    }

    static func load<Golden: Decodable>(_ name: String, as type: Golden.Type) throws -> Golden {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/goldens"),
                               "golden \(name).json is not in the test bundle; run scripts/generate-tensor-goldens.py")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }
}
