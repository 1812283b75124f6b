import EdgeNASCore
import EdgeNASModels
import EdgeNASTensor
import Foundation

/// Where the exported weights come from.
public enum ONNXWeights: Sendable, Equatable {
    /// The engine's seeded initialisation (`NetworkBuilder.network(for:seed:)`), for timing
    /// and deployment checks before training.
    case seeded(UInt64)
    /// A checkpoint written by `edgenas train` (`Checkpoint.save`) for this architecture.
    case checkpoint(URL)
}

/// Exports architectures of every family to ONNX (IR 8, opset 17) with the engine's
/// weights, in inference form.
///
/// The model takes `input` [batch, C, H, W] (symbolic `batch`) and returns `logits`
/// [batch, classes], matching the engine's inference-mode forward pass
/// (`setTrainingMode(false)` and `withoutGradients`). Its `metadata_props` hold the
/// architecture and its cost (``architectureMetadataKey``, ``paramsMetadataKey``,
/// ``flopsMetadataKey``, ``architectureIDMetadataKey``) plus the caller's entries.
///
/// ```swift
/// let model = try ONNXExporter.model(for: architecture, weights: .checkpoint(checkpointURL))
/// try model.write(to: URL(fileURLWithPath: "exports/winner.onnx"))
/// ```
public enum ONNXExporter {
    /// Name of the graph input, [batch, C, H, W].
    public static let inputName = "input"
    /// Name of the graph output, [batch, classes].
    public static let outputName = "logits"
    /// Metadata key of the architecture's canonical JSON.
    public static let architectureMetadataKey = "edgenas.architecture"
    /// Metadata key of the architecture id (first 16 hex digits of the canonical JSON's SHA-256).
    public static let architectureIDMetadataKey = "edgenas.architecture_id"
    /// Metadata key of the trainable parameter count, in decimal.
    public static let paramsMetadataKey = "edgenas.params"
    /// Metadata key of the FLOPs per image (2 · MACs), in decimal.
    public static let flopsMetadataKey = "edgenas.flops"

    /// The keys the exporter writes itself; callers' metadata may not use them.
    public static let reservedMetadataKeys: Set<String> = [
        architectureMetadataKey, architectureIDMetadataKey, paramsMetadataKey, flopsMetadataKey,
    ]

    /// The ONNX model of `architecture` with the weights of `network`.
    ///
    /// `network` must be the engine network of this very architecture (same input channels):
    /// every tensor of its `namedState()` is used, none may be missing or differently shaped.
    /// The network is only read.
    ///
    /// - Parameter metadata: extra `metadata_props` entries, such as
    ///   `edgenas.predicted_latency_ms` and `edgenas.device`.
    ///   - mambaScanForm: how a Mamba layer's scan is written (``MambaScanForm``).
    /// - Throws: ``ONNXExportError/weightsMismatch(missing:unexpected:misshaped:)`` when the network
    ///   does not fit; ``ONNXExportError/reservedMetadataKey(_:)``.
    public static func model(for architecture: Architecture, network: any FeatureClassifier,
                             metadata: [String: String] = [:],
                             mambaScanForm: MambaScanForm = .scanOperator) throws -> Onnx_ModelProto {
        if let reserved = metadata.keys.sorted().first(where: reservedMetadataKeys.contains) {
            throw ONNXExportError.reservedMetadataKey(reserved)
        }
        let input = architecture.input
        var builder = ONNXGraphBuilder(module: network)
        let images = builder.addInput(named: inputName,
                                      shape: [.batch, .size(input.channels), .size(input.height), .size(input.width)])
        let logits: String
        switch architecture.body {
        case let .mbconv(body):
            logits = builder.mbconvNetwork(images, body: body, input: input, classes: architecture.classes)
        case let .vit(body):
            logits = builder.vitNetwork(images, body: body, input: input, classes: architecture.classes)
        case let .mamba(body):
            logits = builder.mambaNetwork(images, body: body, input: input, classes: architecture.classes,
                                          scanForm: mambaScanForm)
        }
        builder.addOutput(logits, named: outputName, shape: [.batch, .size(architecture.classes)])
        let cost = architecture.cost
        var entries = metadata
        entries[architectureMetadataKey] = architecture.canonicalJSON
        entries[architectureIDMetadataKey] = architecture.id
        entries[paramsMetadataKey] = String(cost.params)
        entries[flopsMetadataKey] = String(cost.flops)
        return try builder.makeModel(
            graphName: "edgenas-\(architecture.family.rawValue)-\(architecture.id)",
            documentation: "EdgeNAS \(architecture.family.rawValue) architecture \(architecture.id): \(cost)",
            metadata: entries, requireEveryWeight: true)
    }

    /// The ONNX model of `architecture` with weights from a seed or a checkpoint.
    ///
    /// - Throws: `CheckpointError` when the checkpoint cannot be read or does not fit (`.mismatch` lists the missing,
    ///   unexpected and mis-shaped tensor names); ``ONNXExportError/reservedMetadataKey(_:)``.
    public static func model(for architecture: Architecture, weights: ONNXWeights,
                             metadata: [String: String] = [:]) throws -> Onnx_ModelProto {
        try model(for: architecture, network: network(for: architecture, weights: weights), metadata: metadata)
    }

    /// Builds, checks and atomically writes the model of `architecture` to `url`.
    ///
    /// Nothing is written when any step fails.
    ///
    /// - Returns: the model that was written.
    /// - Throws: what ``model(for:weights:metadata:)`` and ``Onnx_ModelProto/write(to:)`` throw.
    @discardableResult
    public static func export(_ architecture: Architecture, weights: ONNXWeights = .seeded(0),
                              metadata: [String: String] = [:], to url: URL) throws -> Onnx_ModelProto {
        let model = try model(for: architecture, weights: weights, metadata: metadata)
        try model.write(to: url)
        return model
    }

    /// The engine network of `architecture` with the requested weights, in inference mode.
    ///
    /// - Throws: `CheckpointError` from `Checkpoint.restore` (nothing is restored unless every tensor fits).
    public static func network(for architecture: Architecture, weights: ONNXWeights) throws -> any FeatureClassifier {
        let network: any FeatureClassifier
        switch weights {
        case let .seeded(seed):
            network = NetworkBuilder.network(for: architecture, seed: seed)
        case let .checkpoint(url):
            network = NetworkBuilder.network(for: architecture, seed: 0)
            try Checkpoint.restore(network, from: url)
        }
        network.setTrainingMode(false)
        return network
    }
}
