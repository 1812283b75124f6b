import EdgeNASCore
import EdgeNASModels
import EdgeNASONNX
import EdgeNASTensor
import Foundation
import Testing
import TestSupport

/// The engine's MBConv block recomputed from public tensor operations and the network's
/// named weights, in inference mode (the network's block modules are internal).
private func engineBlock(_ x: Tensor, layout: MBConvBlockLayout, activation: Activation,
                         weights: [String: Tensor], prefix: String) -> Tensor {
    let act = ActivationFunction(rawValue: activation.rawValue)!
    func unit(_ x: Tensor, _ name: String, kernel: Int, stride: Int, groups: Int, activated: Bool) -> Tensor {
        let convolved = conv2d(x, weight: weights["\(name).conv.weight"]!, stride: stride, padding: kernel / 2, groups: groups)
        let normalized = batchNorm(convolved, weight: weights["\(name).bn.weight"]!, bias: weights["\(name).bn.bias"]!,
                                   runningMean: weights["\(name).bn.running_mean"]!,
                                   runningVariance: weights["\(name).bn.running_var"]!, training: false)
        return activated ? act(normalized) : normalized
    }
    let hidden = layout.hiddenChannels
    var y = layout.expand > 1 ? unit(x, "\(prefix).expand", kernel: 1, stride: 1, groups: 1, activated: true) : x
    y = unit(y, "\(prefix).depthwise", kernel: layout.kernel, stride: layout.stride, groups: hidden, activated: true)
    if layout.se {
        let pooled = y.globalAveragePooled()
        let reduced = relu(linear(pooled, weight: weights["\(prefix).se.fc1.weight"]!, bias: weights["\(prefix).se.fc1.bias"]!))
        let scale = hardSigmoid(linear(reduced, weight: weights["\(prefix).se.fc2.weight"]!, bias: weights["\(prefix).se.fc2.bias"]!))
        y = y * scale.reshaped([y.shape[0], hidden, 1, 1])
    }
    y = unit(y, "\(prefix).project", kernel: 1, stride: 1, groups: 1, activated: false)
    return layout.hasResidual ? x + y : y
}

/// The engine's transformer layer recomputed from public tensor operations.
private func engineLayer(_ x: Tensor, layer: ViTLayer, weights: [String: Tensor], prefix: String) -> Tensor {
    func w(_ name: String) -> Tensor { weights["\(prefix).\(name)"]! }
    let qkv = linear(layerNorm(x, weight: w("ln1.weight"), bias: w("ln1.bias")), weight: w("attn.qkv.weight"), bias: w("attn.qkv.bias"))
    let y = x + linear(multiHeadSelfAttention(qkv: qkv, heads: layer.heads), weight: w("attn.proj.weight"), bias: w("attn.proj.bias"))
    let hidden = gelu(linear(layerNorm(y, weight: w("ln2.weight"), bias: w("ln2.bias")), weight: w("mlp.fc1.weight"), bias: w("mlp.fc1.bias")))
    return y + linear(hidden, weight: w("mlp.fc2.weight"), bias: w("mlp.fc2.bias"))
}

private func goldenArchitecture(_ id: String) throws -> Architecture {
    let record = try ReferenceData.jsonLines("cost-golden.jsonl").first { $0["id"] as? String == id }!
    return try Architecture(jsonData: ReferenceData.architectureData(of: record))
}

@Suite(.serialized) struct PartExportTests {
    /// What the profiler does: one MBConv block, one ViT layer, each in its own small model
    /// with its own input, run in ONNX Runtime against the engine.
    @Test func singleBlockAndSingleTransformerLayerRunAloneInONNXRuntime() throws {
        let directory = try makeTemporaryDirectory("parts")
        defer { try? FileManager.default.removeItem(at: directory) }
        var jobs: [RuntimeJob] = []
        var expected: [String: (values: [Float], shape: [Int])] = [:]

        // MBConv: a strided SE block with expansion, and a residual block without expansion.
        let mbconv = try goldenArchitecture("fmnist-mbconv-03")
        guard case let .mbconv(body) = mbconv.body else { Issue.record("fmnist-mbconv-03 is not mbconv"); return }
        let network = NetworkBuilder.network(for: mbconv, seed: 4)
        perturbNormalization(of: network, seed: 5)
        let weights = Dictionary(uniqueKeysWithValues: network.namedState().map { ($0.name, $0.tensor) })
        let layouts = body.blockLayouts(input: mbconv.input)
        let strided = try #require(layouts.first { $0.se && $0.stride == 2 && $0.expand > 1 })
        let residual = try #require(layouts.first { $0.hasResidual && $0.expand == 1 } ?? layouts.first { $0.hasResidual })
        for (label, layout) in [("block-strided-se", strided), ("block-residual", residual)] {
            let prefix = "stages.\(layout.stageIndex).blocks.\(layout.blockIndex)"
            let input = layout.inputShape, output = layout.outputShape
            var builder = ONNXGraphBuilder(module: network)
            let x = builder.addInput(named: "input", shape: [.batch, .size(input.channels), .size(input.height), .size(input.width)])
            let y = builder.mbconvBlock(x, layout: layout, activation: body.activation)
            builder.addOutput(y, named: "output", shape: [.batch, .size(output.channels), .size(output.height), .size(output.width)])
            let model = try builder.makeModel(graphName: label)
            let url = directory.appendingPathComponent("\(label).onnx")
            try model.write(to: url)

            let shape = [2, input.channels, input.height, input.width]
            let images = randomTensor(shape, seed: 6, low: -2, high: 2, requiresGradient: false)
            expected[label] = (inferenceOutput(of: network) {
                engineBlock(images, layout: layout, activation: body.activation, weights: weights, prefix: prefix)
            }, [2, output.channels, output.height, output.width])
            jobs.append(RuntimeJob(id: label, model: url, input: images.storage, inputShape: shape,
                                   runs: [.init(batch: 1, chunk: 1), .init(batch: 2, chunk: 2)]))
        }

        // ViT: the second layer of a patch-7 network, on tokens [batch, N, D].
        let vit = try goldenArchitecture("fmnist-vit-03")
        guard case let .vit(vitBody) = vit.body else { Issue.record("fmnist-vit-03 is not vit"); return }
        let vitNetwork = NetworkBuilder.network(for: vit, seed: 7)
        perturbNormalization(of: vitNetwork, seed: 8)
        let vitWeights = Dictionary(uniqueKeysWithValues: vitNetwork.namedState().map { ($0.name, $0.tensor) })
        let (tokens, embed) = (vitBody.tokenCount(input: vit.input), vitBody.embed)
        var builder = ONNXGraphBuilder(module: vitNetwork)
        let x = builder.addInput(named: "tokens", shape: [.batch, .size(tokens), .size(embed)])
        let y = builder.vitLayer(x, layer: vitBody.layers[1], embed: embed, tokens: tokens, prefix: "layers.1")
        builder.addOutput(y, named: "output", shape: [.batch, .size(tokens), .size(embed)])
        let url = directory.appendingPathComponent("vit-layer.onnx")
        try builder.makeModel(graphName: "vit-layer").write(to: url)
        let tokenShape = [2, tokens, embed]
        let tokenValues = randomTensor(tokenShape, seed: 9, low: -2, high: 2, requiresGradient: false)
        expected["vit-layer"] = (inferenceOutput(of: vitNetwork) {
            engineLayer(tokenValues, layer: vitBody.layers[1], weights: vitWeights, prefix: "layers.1")
        }, tokenShape)
        jobs.append(RuntimeJob(id: "vit-layer", model: url, input: tokenValues.storage, inputShape: tokenShape,
                               inputName: "tokens", runs: [.init(batch: 1, chunk: 1), .init(batch: 2, chunk: 2)]))

        for result in try PythonONNXRuntime.run(jobs, workingDirectory: directory) {
            #expect(result.checkerError == nil, "\(result.id): \(result.checkerError ?? "")")
            #expect(result.runError == nil, "\(result.id): \(result.runError ?? "")")
            guard result.outputs.count == 2, let (engine, shape) = expected[result.id] else { continue }
            let perItem = engine.count / 2
            #expect(result.outputShapes == [[1] + shape.dropFirst(), shape], "\(result.id)")
            let batchOne = firstDisagreement(result.outputs[0], Array(engine.prefix(perItem)), label: "\(result.id) batch 1")
            let batchTwo = firstDisagreement(result.outputs[1], engine, label: "\(result.id) batch 2")
            #expect(batchOne == nil, "\(batchOne ?? "")")
            #expect(batchTwo == nil, "\(batchTwo ?? "")")
        }
    }

    @Test func partModelsDoNotRequireTheRestOfTheNetworksWeights() throws {
        let architecture = try goldenArchitecture("fmnist-mbconv-00")
        guard case let .mbconv(body) = architecture.body else { Issue.record("not mbconv"); return }
        var builder = ONNXGraphBuilder(module: NetworkBuilder.network(for: architecture))
        let stemShape = body.stemOutputShape(input: architecture.input)
        let x = builder.addInput(named: "input", shape: [.batch, .size(1), .size(28), .size(28)])
        let y = builder.mbconvStem(x, stem: body.stem, inputChannels: 1, activation: body.activation)
        builder.addOutput(y, named: "output", shape: [.batch, .size(stemShape.channels), .size(stemShape.height), .size(stemShape.width)])
        let model = try builder.makeModel(graphName: "stem")
        try ONNXChecker.check(model)
        #expect(throws: ONNXExportError.self) { try builder.makeModel(graphName: "stem", requireEveryWeight: true) }
    }
}
