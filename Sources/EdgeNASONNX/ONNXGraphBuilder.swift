import EdgeNASCore
import EdgeNASTensor
import Foundation

/// One axis of a graph input or output: the symbolic batch or a fixed size.
public enum ONNXDimension: Hashable, Sendable, CustomStringConvertible {
    /// The batch axis, `dim_param` ``ONNXGraphBuilder/batchDimensionName``.
    case batch
    /// A fixed size, `dim_value`.
    case size(Int)

    /// `batch` or the size, for messages.
    public var description: String {
        switch self {
        case .batch: return ONNXGraphBuilder.batchDimensionName
        case let .size(size): return String(size)
        }
    }
}

/// Builds an ONNX graph (IR 8, opset 17) from the engine's named tensors, one network part
/// at a time, so that a whole network or a single part (stem, one MBConv block, head, one
/// transformer layer) can become its own model.
///
/// Weights are looked up by the engine's parameter names (`stem.conv.weight`,
/// `stages.0.blocks.1.se.fc1.weight`, `layers.2.attn.qkv.bias`, …); every part method
/// takes the name prefix of its module. Values flow between parts as graph value names:
/// declare an input with ``addInput(named:shape:)``, pass its name through the parts,
/// declare the last value an output with ``addOutput(_:named:shape:)`` and call
/// ``makeModel(graphName:documentation:metadata:requireEveryWeight:)``.
///
/// Inference semantics: BatchNorm uses its running statistics and is folded into the
/// preceding convolution (weight·scale, bias = shift with scale = γ/√(σ²+ε) and
/// shift = β − μ·scale). Lookups never fail on the spot: missing or mis-shaped weights are
/// collected and reported together by `makeModel`.
///
/// ```swift
/// var builder = ONNXGraphBuilder(weights: network.namedState())
/// let input = builder.addInput(named: "input", shape: [.batch, .size(16), .size(28), .size(28)])
/// let output = builder.mbconvBlock(input, layout: layout, activation: .relu6)
/// builder.addOutput(output, named: "output", shape: [.batch, .size(24), .size(14), .size(14)])
/// let model = try builder.makeModel(graphName: "block")
/// ```
public struct ONNXGraphBuilder: Sendable {
    /// The ONNX IR version written: 8, the newest that Debian's libonnx 1.12 checker accepts.
    public static let irVersion: Int64 = 8
    /// The default-domain opset imported: 17 (LayerNormalization, HardSwish; no Gelu).
    public static let opsetVersion: Int64 = 17
    /// `dim_param` of the symbolic batch axis.
    public static let batchDimensionName = "batch"
    /// ε of every BatchNorm and LayerNorm, as the architecture format fixes it.
    public static let normalizationEpsilon: Float = 1e-5

    /// A weight as the engine holds it.
    struct StoredWeight: Sendable {
        var shape: [Int]
        var values: [Float]
    }

    private let weights: [String: StoredWeight]
    private let weightNames: [String]
    private var usedWeights: Set<String> = []
    private var missingWeights: [String] = []
    private var misshapedWeights: [String] = []

    private var nodes: [Onnx_NodeProto] = []
    private var initializers: [Onnx_TensorProto] = []
    private var graphInputs: [Onnx_ValueInfoProto] = []
    private var graphOutputs: [Onnx_ValueInfoProto] = []
    private var takenNames: Set<String> = []
    private var constantNames: [String: String] = [:]

    /// A builder that reads weights from `namedTensors` (a module's `namedState()`:
    /// parameters and BatchNorm running statistics).
    public init(weights namedTensors: [(name: String, tensor: Tensor)]) {
        var weights: [String: StoredWeight] = [:]
        for (name, tensor) in namedTensors where weights[name] == nil {
            weights[name] = StoredWeight(shape: tensor.shape, values: tensor.storage)
        }
        self.weights = weights
        self.weightNames = namedTensors.map(\.name)
    }

    /// A builder that reads the weights of `module` (its `namedState()`).
    public init(module: any Module) {
        self.init(weights: module.namedState())
    }

    // MARK: - Graph inputs and outputs

    /// Declares a float32 graph input and returns its value name.
    @discardableResult
    public mutating func addInput(named name: String, shape: [ONNXDimension]) -> String {
        let unique = uniqueName(name)
        graphInputs.append(Self.valueInfo(unique, shape: shape))
        return unique
    }

    /// Declares `value` a float32 graph output called `name`.
    ///
    /// The node that produced `value` is renamed to write `name` directly; a graph input
    /// passed straight through gets an Identity node.
    public mutating func addOutput(_ value: String, named name: String, shape: [ONNXDimension]) {
        precondition(!graphOutputs.contains { $0.name == value || $0.name == name },
                     "addOutput: \(value) or \(name) is already a graph output")
        if value != name {
            precondition(!takenNames.contains(name), "addOutput: the name \(name) is already used in the graph")
            takenNames.insert(name)
            if nodes.contains(where: { $0.output.contains(value) }) {
                for index in nodes.indices {
                    nodes[index].output = nodes[index].output.map { $0 == value ? name : $0 }
                    nodes[index].input = nodes[index].input.map { $0 == value ? name : $0 }
                }
            } else {
                appendNode("Identity", inputs: [value], outputs: [name], name: "\(name)/Identity")
            }
        }
        graphOutputs.append(Self.valueInfo(name, shape: shape))
    }

    // MARK: - Finishing

    /// The model: IR ``irVersion``, opset ``opsetVersion``, producer `edgenas`, the graph
    /// built so far and `metadata` as `metadata_props` (sorted by key).
    ///
    /// - Parameter requireEveryWeight: also refuse weights the graph did not use (for a
    ///   whole network; a single part uses only its own).
    /// - Throws: ``ONNXExportError/weightsMismatch(missing:unexpected:misshaped:)`` listing
    ///   every weight that was missing, unused (when required) or of the wrong shape.
    public func makeModel(graphName: String, documentation: String = "", metadata: [String: String] = [:],
                          requireEveryWeight: Bool = false) throws -> Onnx_ModelProto {
        let unexpected = requireEveryWeight ? weightNames.filter { !usedWeights.contains($0) } : []
        guard missingWeights.isEmpty && misshapedWeights.isEmpty && unexpected.isEmpty else {
            throw ONNXExportError.weightsMismatch(missing: missingWeights, unexpected: unexpected,
                                                  misshaped: misshapedWeights)
        }
        var graph = Onnx_GraphProto()
        graph.name = graphName
        graph.node = nodes
        graph.initializer = initializers
        graph.input = graphInputs
        graph.output = graphOutputs

        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Self.opsetVersion

        var model = Onnx_ModelProto()
        model.irVersion = Self.irVersion
        model.opsetImport = [opset]
        model.producerName = "edgenas"
        model.docString = documentation
        model.graph = graph
        model.metadataProps = metadata.keys.sorted().map { key in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = metadata[key]!
            return entry
        }
        return model
    }

    // MARK: - Weights

    /// The engine tensor `name`, which must have `shape`; zeros (and a recorded problem)
    /// when it is absent or shaped differently.
    mutating func weight(_ name: String, shape: [Int]) -> [Float] {
        usedWeights.insert(name)
        let count = shape.reduce(1, *)
        guard let stored = weights[name] else {
            missingWeights.append(name)
            return [Float](repeating: 0, count: count)
        }
        guard stored.shape == shape else {
            misshapedWeights.append("\(name) (weights \(stored.shape), architecture \(shape))")
            return [Float](repeating: 0, count: count)
        }
        return stored.values
    }

    /// Adds a float32 initializer and returns its (unique) name.
    mutating func addInitializer(_ name: String, shape: [Int], values: [Float]) -> String {
        precondition(shape.reduce(1, *) == values.count, "initializer \(name): shape \(shape) vs \(values.count) values")
        let unique = uniqueName(name)
        var tensor = Onnx_TensorProto()
        tensor.name = unique
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.rawData = Self.littleEndianBytes(values)
        initializers.append(tensor)
        return unique
    }

    /// Adds an int64 initializer (shapes, indices) and returns its name.
    mutating func addInt64Initializer(_ name: String, shape: [Int], values: [Int64]) -> String {
        precondition(shape.reduce(1, *) == values.count, "initializer \(name): shape \(shape) vs \(values.count) values")
        let unique = uniqueName(name)
        var tensor = Onnx_TensorProto()
        tensor.name = unique
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        var bytes = Data(capacity: values.count * 8)
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        tensor.rawData = bytes
        initializers.append(tensor)
        return unique
    }

    /// A shared float32 scalar constant (rank 0), created on first use.
    mutating func scalar(_ value: Float) -> String {
        let key = "f32:\(value.bitPattern)"
        if let name = constantNames[key] { return name }
        let name = addInitializer("const.\(value)", shape: [], values: [value])
        constantNames[key] = name
        return name
    }

    /// A shared int64 constant, rank 0 when `scalar` (one value) and rank 1 otherwise, created on first use.
    mutating func int64Constant(_ values: [Int64], scalar: Bool = false) -> String {
        let key = "i64\(scalar ? "s" : "v"):\(values.map(String.init).joined(separator: ","))"
        if let name = constantNames[key] { return name }
        let label = values.map(String.init).joined(separator: "_")
        let name = addInt64Initializer("const.\(scalar ? "" : "shape.")\(label)", shape: scalar ? [] : [values.count],
                                       values: values)
        constantNames[key] = name
        return name
    }

    static func littleEndianBytes(_ values: [Float]) -> Data {
        #if _endian(little)
        return values.withUnsafeBufferPointer { Data(buffer: $0) }
        #else
        var bytes = Data(count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
        return bytes
        #endif
    }

    // MARK: - Nodes

    /// A name not used yet by any value, initializer or node: `base`, else `base_2`, `base_3`, …
    mutating func uniqueName(_ base: String) -> String {
        var candidate = base
        var counter = 2
        while takenNames.contains(candidate) {
            candidate = "\(base)_\(counter)"
            counter += 1
        }
        takenNames.insert(candidate)
        return candidate
    }

    /// Appends a node whose outputs are already named.
    mutating func appendNode(_ operatorType: String, inputs: [String], outputs: [String], name: String,
                             attributes: [Onnx_AttributeProto] = []) {
        var node = Onnx_NodeProto()
        node.opType = operatorType
        node.name = name
        node.input = inputs
        node.output = outputs
        node.attribute = attributes
        nodes.append(node)
    }

    /// Appends a node with one output named `name` (made unique) and returns that output.
    mutating func node(_ operatorType: String, _ inputs: [String], name: String,
                       attributes: [Onnx_AttributeProto] = []) -> String {
        let output = uniqueName(name)
        appendNode(operatorType, inputs: inputs, outputs: [output], name: output, attributes: attributes)
        return output
    }

    static func attribute(_ name: String, int value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func attribute(_ name: String, ints values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    static func attribute(_ name: String, float value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    /// A float32 value; without `shape`, of unknown rank (a Scan body's values).
    static func valueInfo(_ name: String, shape: [ONNXDimension]?) -> Onnx_ValueInfoProto {
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        if let shape {
            var tensorShape = Onnx_TensorShapeProto()
            tensorShape.dim = shape.map { dimension in
                var dim = Onnx_TensorShapeProto.Dimension()
                switch dimension {
                case .batch: dim.dimParam = batchDimensionName
                case let .size(size): dim.dimValue = Int64(size)
                }
                return dim
            }
            tensorType.shape = tensorShape
        }
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    // MARK: - Shared layers

    /// An activation by its architecture-file name; `name` prefixes the node names.
    ///
    /// relu6 = Clip(x, 0, 6); hswish = HardSwish; silu = x·Sigmoid(x);
    /// gelu = x·0.5·(1 + Erf(x/√2)) (opset 17 has no Gelu).
    mutating func activation(_ x: String, _ activation: Activation, name: String) -> String {
        switch activation {
        case .relu:
            return node("Relu", [x], name: "\(name)/Relu")
        case .relu6:
            return node("Clip", [x, scalar(0), scalar(6)], name: "\(name)/Clip")
        case .hswish:
            return node("HardSwish", [x], name: "\(name)/HardSwish")
        case .silu:
            let gate = node("Sigmoid", [x], name: "\(name)/Sigmoid")
            return node("Mul", [x, gate], name: "\(name)/Mul")
        case .gelu:
            let scaled = node("Div", [x, scalar(Float(2).squareRoot())], name: "\(name)/Div")
            let erf = node("Erf", [scaled], name: "\(name)/Erf")
            let onePlus = node("Add", [erf, scalar(1)], name: "\(name)/Add")
            let product = node("Mul", [x, onePlus], name: "\(name)/Mul")
            return node("Mul", [product, scalar(0.5)], name: "\(name)/Mul_half")
        }
    }

    /// Hard sigmoid relu6(x + 3)/6 = HardSigmoid(alpha 1/6, beta 0.5).
    mutating func hardSigmoid(_ x: String, name: String) -> String {
        node("HardSigmoid", [x], name: "\(name)/HardSigmoid",
             attributes: [Self.attribute("alpha", float: 1 / 6), Self.attribute("beta", float: 0.5)])
    }

    /// Convolution → BatchNorm (running statistics) → optional activation, as one Conv with
    /// the BatchNorm folded in; the engine's names are `prefix.conv.weight` and
    /// `prefix.bn.{weight,bias,running_mean,running_var}`.
    mutating func convolutionUnit(_ x: String, prefix: String, inputChannels: Int, outputChannels: Int,
                                  kernel: Int, stride: Int, groups: Int = 1, activation: Activation?) -> String {
        let weightShape = [outputChannels, inputChannels / groups, kernel, kernel]
        let convolutionWeight = weight("\(prefix).conv.weight", shape: weightShape)
        let gamma = weight("\(prefix).bn.weight", shape: [outputChannels])
        let beta = weight("\(prefix).bn.bias", shape: [outputChannels])
        let mean = weight("\(prefix).bn.running_mean", shape: [outputChannels])
        let variance = weight("\(prefix).bn.running_var", shape: [outputChannels])
        let perOutput = weightShape.dropFirst().reduce(1, *)
        var foldedBias = [Float](repeating: 0, count: outputChannels)
        let foldedWeight = [Float](unsafeUninitializedCapacity: convolutionWeight.count) { folded, initialized in
            convolutionWeight.withUnsafeBufferPointer { original in
                for channel in 0..<outputChannels {
                    // In Double: the engine applies scale and shift in float after the
                    // convolution; folding them in must not add a rounding step of its own.
                    let scale = Double(gamma[channel])
                        / (Double(variance[channel]) + Double(Self.normalizationEpsilon)).squareRoot()
                    foldedBias[channel] = Float(Double(beta[channel]) - Double(mean[channel]) * scale)
                    for index in (channel * perOutput)..<((channel + 1) * perOutput) {
                        folded[index] = Float(Double(original[index]) * scale)
                    }
                }
            }
            initialized = convolutionWeight.count
        }
        let weightName = addInitializer("\(prefix).weight", shape: weightShape, values: foldedWeight)
        let biasName = addInitializer("\(prefix).bias", shape: [outputChannels], values: foldedBias)
        let padding = kernel / 2
        let convolution = node("Conv", [x, weightName, biasName], name: "\(prefix)/Conv", attributes: [
            Self.attribute("kernel_shape", ints: [kernel, kernel]),
            Self.attribute("strides", ints: [stride, stride]),
            Self.attribute("pads", ints: [padding, padding, padding, padding]),
            Self.attribute("group", int: groups),
        ])
        guard let activation else { return convolution }
        return self.activation(convolution, activation, name: prefix)
    }

    /// Linear layer on the last axis of a rank ≥ 2 value: MatMul(x, Wᵀ) + b, with the
    /// engine's `prefix.weight` [out, in] stored transposed as [in, out].
    /// Without `bias`, the layer is the MatMul alone.
    mutating func linear(_ x: String, prefix: String, inputFeatures: Int, outputFeatures: Int,
                         bias hasBias: Bool = true) -> String {
        let engineWeight = weight("\(prefix).weight", shape: [outputFeatures, inputFeatures])
        let transposed = [Float](unsafeUninitializedCapacity: engineWeight.count) { target, initialized in
            engineWeight.withUnsafeBufferPointer { source in
                for row in 0..<outputFeatures {
                    for column in 0..<inputFeatures {
                        target[column * outputFeatures + row] = source[row * inputFeatures + column]
                    }
                }
            }
            initialized = engineWeight.count
        }
        let weightName = addInitializer("\(prefix).weight_transposed", shape: [inputFeatures, outputFeatures],
                                        values: transposed)
        let product = node("MatMul", [x, weightName], name: "\(prefix)/MatMul")
        guard hasBias else { return product }
        let biasName = addInitializer("\(prefix).bias", shape: [outputFeatures],
                                      values: weight("\(prefix).bias", shape: [outputFeatures]))
        return node("Add", [product, biasName], name: "\(prefix)/Add")
    }

    /// Final Linear on a [batch, features] value: Gemm(x, W, b, transB = 1) with the
    /// engine's `prefix.weight` [classes, features] and `prefix.bias`.
    mutating func gemmClassifier(_ x: String, prefix: String, features: Int, classes: Int) -> String {
        let weightName = addInitializer("\(prefix).weight", shape: [classes, features],
                                        values: weight("\(prefix).weight", shape: [classes, features]))
        let biasName = addInitializer("\(prefix).bias", shape: [classes],
                                      values: weight("\(prefix).bias", shape: [classes]))
        return node("Gemm", [x, weightName, biasName], name: "\(prefix)/Gemm",
                    attributes: [Self.attribute("transB", int: 1)])
    }

    /// Gather along `axis` with a scalar index: drops that axis.
    mutating func gather(_ x: String, index: Int64, axis: Int = 0, name: String) -> String {
        node("Gather", [x, int64Constant([index], scalar: true)], name: name, attributes: [Self.attribute("axis", int: axis)])
    }

    /// LayerNormalization over the last axis (ε 1e-5) with `prefix.weight` and `prefix.bias`.
    mutating func layerNormalization(_ x: String, prefix: String, features: Int) -> String {
        let scale = addInitializer("\(prefix).weight", shape: [features], values: weight("\(prefix).weight", shape: [features]))
        let bias = addInitializer("\(prefix).bias", shape: [features], values: weight("\(prefix).bias", shape: [features]))
        return node("LayerNormalization", [x, scale, bias], name: "\(prefix)/LayerNormalization", attributes: [
            Self.attribute("axis", int: -1),
            Self.attribute("epsilon", float: Self.normalizationEpsilon),
        ])
    }
}
