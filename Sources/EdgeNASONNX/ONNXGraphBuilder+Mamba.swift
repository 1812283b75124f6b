import EdgeNASCore
import Foundation

/// How an exported Mamba layer computes its selective scan, in standard opset-17 operators.
///
/// `scanOperator` is the default: on the 25 reference Mamba architectures (16 and 49 tokens) it
/// ran 8% faster than the unrolled form in ONNX Runtime, loaded 2.8× faster and made a 10%
/// smaller file; the cumulative-sum form was faster still but gave NaN on 24 of the 25. See
/// `benchmarks/mamba-onnx-scan.md`.
public enum MambaScanForm: String, CaseIterable, Sendable {
    /// One Mul and one Add per token on precomputed exp(Δ·A) and Δ·v·B.
    case unrolled
    /// ONNX's `Scan` operator over the tokens, with the one-step body h = decay ⊙ h + X.
    case scanOperator = "scan"
    /// The closed form h_t = exp(L_t) ⊙ Σ_{s≤t} exp(−L_s) ⊙ Δ_s·v_s·B_s with L = CumSum(Δ·A):
    /// a constant number of nodes, but exp(−L) overflows float32 once Σ Δ·|A| passes about 88,
    /// which long sequences and large state indices reach.
    case cumulativeSum = "cumsum"
}

extension ONNXGraphBuilder {
    /// One bidirectional Mamba layer on tokens [batch, N, d]: x + out(y ⊙ silu(z)) with u, z
    /// the halves of inp(LN(x)) and y = forward(u) + flip(backward(flip(u))). Engine names
    /// under `prefix`: `ln`, `inp`, `fwd`, `bwd`, `out`.
    ///
    /// - Returns: the tokens [batch, N, d].
    public mutating func mambaLayer(_ x: String, layer: MambaLayer, embed: Int, deltaRank: Int, tokens: Int,
                                    prefix: String, scanForm: MambaScanForm = .scanOperator) -> String {
        let inner = layer.innerChannels(embed: embed)
        let normalized = layerNormalization(x, prefix: "\(prefix).ln", features: embed)
        let projected = linear(normalized, prefix: "\(prefix).inp", inputFeatures: embed, outputFeatures: 2 * inner,
                               bias: false)
        let u = lastAxisSlice(projected, 0..<inner, name: "\(prefix)/Slice_u")
        let z = lastAxisSlice(projected, inner..<(2 * inner), name: "\(prefix)/Slice_z")
        let forward = scanDirection(u, layer: layer, channels: inner, deltaRank: deltaRank, tokens: tokens,
                                    prefix: "\(prefix).fwd", scanForm: scanForm)
        let reversed = reverseTokens(u, tokens: tokens, name: "\(prefix).bwd/Reverse_input")
        let backward = reverseTokens(scanDirection(reversed, layer: layer, channels: inner, deltaRank: deltaRank,
                                                   tokens: tokens, prefix: "\(prefix).bwd", scanForm: scanForm),
                                     tokens: tokens, name: "\(prefix).bwd/Reverse_output")
        let y = node("Add", [forward, backward], name: "\(prefix)/Add_directions")
        let gated = node("Mul", [y, activation(z, .silu, name: "\(prefix).gate")], name: "\(prefix)/Mul_gate")
        let output = linear(gated, prefix: "\(prefix).out", inputFeatures: inner, outputFeatures: embed, bias: false)
        return node("Add", [x, output], name: "\(prefix)/Add_residual")
    }

    /// The whole `mamba` network on images [batch, C, H, W] with the engine's names
    /// (`embed`, `layers.i`, `ln`, `classifier`).
    ///
    /// - Returns: the logits [batch, classes].
    public mutating func mambaNetwork(_ images: String, body: MambaBody, input: ImageShape, classes: Int,
                                      scanForm: MambaScanForm = .scanOperator) -> String {
        var x = vitPatchEmbedding(images, input: input, patch: body.patch, embed: body.embed)
        let tokens = body.tokenCount(input: input)
        for (index, layer) in body.layers.enumerated() {
            x = mambaLayer(x, layer: layer, embed: body.embed, deltaRank: body.deltaRank, tokens: tokens,
                           prefix: "layers.\(index)", scanForm: scanForm)
        }
        return tokenClassifier(x, embed: body.embed, classes: classes)
    }

    /// conv → SiLU → selective scan on u [batch, N, e]; engine names under `prefix`: `conv`,
    /// `dt1`, `dt2`, `B`, `C`, `A_log`, `D`.
    private mutating func scanDirection(_ u: String, layer: MambaLayer, channels: Int, deltaRank: Int, tokens: Int,
                                        prefix: String, scanForm: MambaScanForm) -> String {
        let v = activation(causalTokenConvolution(u, channels: channels, kernel: layer.conv, prefix: "\(prefix).conv"),
                           .silu, name: "\(prefix).conv")
        let low = linear(v, prefix: "\(prefix).dt1", inputFeatures: channels, outputFeatures: deltaRank, bias: false)
        let delta = node("Softplus", [linear(low, prefix: "\(prefix).dt2", inputFeatures: deltaRank, outputFeatures: channels)],
                         name: "\(prefix)/Softplus")
        let b = linear(v, prefix: "\(prefix).B", inputFeatures: channels, outputFeatures: layer.state, bias: false)
        let c = linear(v, prefix: "\(prefix).C", inputFeatures: channels, outputFeatures: layer.state, bias: false)
        // A = −exp(A_log) is a constant of the exported model.
        let a = addInitializer("\(prefix).A", shape: [channels, layer.state],
                               values: weight("\(prefix).A_log", shape: [channels, layer.state]).map { -Foundation.exp($0) })
        let skip = addInitializer("\(prefix).D", shape: [channels], values: weight("\(prefix).D", shape: [channels]))

        // Per token and channel: log-decay Δ·A and input Δ·v·B, both [batch, N, e, state].
        let logDecay = node("Mul", [unsqueeze(delta, axis: 3, name: "\(prefix)/Unsqueeze_delta"), a],
                            name: "\(prefix)/Mul_log_decay")
        let scaledInput = node("Mul", [delta, v], name: "\(prefix)/Mul_delta_v")
        let stateInput = node("Mul", [unsqueeze(scaledInput, axis: 3, name: "\(prefix)/Unsqueeze_input"),
                                      unsqueeze(b, axis: 2, name: "\(prefix)/Unsqueeze_B")],
                              name: "\(prefix)/Mul_input_B")
        let states: String
        switch scanForm {
        case .unrolled:
            states = unrolledRecurrence(logDecay: logDecay, input: stateInput, tokens: tokens, prefix: prefix)
        case .scanOperator:
            states = scanOperatorRecurrence(logDecay: logDecay, input: stateInput, prefix: prefix)
        case .cumulativeSum:
            states = cumulativeSumRecurrence(logDecay: logDecay, input: stateInput, prefix: prefix)
        }
        let readOut = node("Mul", [states, unsqueeze(c, axis: 2, name: "\(prefix)/Unsqueeze_C")], name: "\(prefix)/Mul_C")
        let y = node("ReduceSum", [readOut, int64Constant([3])], name: "\(prefix)/ReduceSum_state",
                     attributes: [Self.attribute("keepdims", int: 0)])
        return node("Add", [y, node("Mul", [v, skip], name: "\(prefix)/Mul_D")], name: "\(prefix)/Add_D")
    }

    /// h_t = exp(Δ_t·A) ⊙ h_{t−1} + X_t token by token (h_0 = 0), stacked to [batch, N, e, state].
    /// One Split of each operand into its tokens (kept as [batch, 1, e, state]) and one
    /// Concat of the states: the recurrence itself is one Mul and one Add per token.
    private mutating func unrolledRecurrence(logDecay: String, input: String, tokens: Int, prefix: String) -> String {
        guard tokens > 1 else { return input }
        let decays = splitTokens(node("Exp", [logDecay], name: "\(prefix)/Exp_decay"), tokens: tokens,
                                 name: "\(prefix)/Split_decay")
        let inputs = splitTokens(input, tokens: tokens, name: "\(prefix)/Split_input")
        var states = [inputs[0]]
        for t in 1..<tokens {
            let kept = node("Mul", [decays[t], states[t - 1]], name: "\(prefix)/Mul_decay_\(t)")
            states.append(node("Add", [kept, inputs[t]], name: "\(prefix)/Add_state_\(t)"))
        }
        return node("Concat", states, name: "\(prefix)/Concat_states", attributes: [Self.attribute("axis", int: 1)])
    }

    /// Split along the token axis into `tokens` values of one token each (opset 13+: the sizes are an input).
    private mutating func splitTokens(_ x: String, tokens: Int, name: String) -> [String] {
        let outputs = (0..<tokens).map { uniqueName("\(name)_\($0)") }
        appendNode("Split", inputs: [x, int64Constant([Int64](repeating: 1, count: tokens))], outputs: outputs, name: outputs[0],
                   attributes: [Self.attribute("axis", int: 1)])
        return outputs
    }

    /// Scan over axis 1 of exp(Δ·A) and X with the state h (zeros of X's first token's shape):
    /// body h′ = decay ⊙ h + x, emitting h′ as the scan output.
    private mutating func scanOperatorRecurrence(logDecay: String, input: String, prefix: String) -> String {
        let decay = node("Exp", [logDecay], name: "\(prefix)/Exp_decay")
        let first = gather(input, index: 0, axis: 1, name: "\(prefix)/Gather_first")
        let initial = node("Mul", [first, scalar(0)], name: "\(prefix)/Mul_initial_state")
        var body = Onnx_GraphProto()
        body.name = "\(prefix)/scan_body"
        func bodyNode(_ type: String, _ inputs: [String], _ output: String) -> Onnx_NodeProto {
            var node = Onnx_NodeProto()
            node.opType = type
            node.name = output
            node.input = inputs
            node.output = [output]
            return node
        }
        body.node = [bodyNode("Mul", ["decay_t", "state_in"], "kept"), bodyNode("Add", ["kept", "x_t"], "state_out"),
                     bodyNode("Identity", ["state_out"], "state_t")]
        body.input = ["state_in", "decay_t", "x_t"].map { Self.valueInfo($0, shape: nil) }
        body.output = ["state_out", "state_t"].map { Self.valueInfo($0, shape: nil) }
        var bodyAttribute = Onnx_AttributeProto()
        bodyAttribute.name = "body"
        bodyAttribute.type = .graph
        bodyAttribute.g = body
        let finalState = uniqueName("\(prefix)/Scan_final_state")
        let states = uniqueName("\(prefix)/Scan_states")
        appendNode("Scan", inputs: [initial, decay, input], outputs: [finalState, states], name: states, attributes: [
            bodyAttribute,
            Self.attribute("num_scan_inputs", int: 2),
            Self.attribute("scan_input_axes", ints: [1, 1]),
            Self.attribute("scan_output_axes", ints: [1]),
        ])
        return states
    }

    /// h = exp(L) ⊙ CumSum(exp(−L) ⊙ X) with L = CumSum(Δ·A) over tokens.
    private mutating func cumulativeSumRecurrence(logDecay: String, input: String, prefix: String) -> String {
        let tokenAxis = int64Constant([1], scalar: true)
        let total = node("CumSum", [logDecay, tokenAxis], name: "\(prefix)/CumSum_log_decay")
        let undone = node("Mul", [node("Exp", [node("Neg", [total], name: "\(prefix)/Neg")], name: "\(prefix)/Exp_undo"), input],
                          name: "\(prefix)/Mul_undo")
        let summed = node("CumSum", [undone, tokenAxis], name: "\(prefix)/CumSum_input")
        return node("Mul", [node("Exp", [total], name: "\(prefix)/Exp_redo"), summed], name: "\(prefix)/Mul_redo")
    }

    /// Depthwise causal Conv1d over tokens [batch, N, e]: Transpose → Conv(group e, pads
    /// [k − 1, 0]) → Transpose back. The engine's `prefix.weight` [e, k] is Conv's [e, 1, k].
    private mutating func causalTokenConvolution(_ x: String, channels: Int, kernel: Int, prefix: String) -> String {
        let weightName = addInitializer("\(prefix).weight", shape: [channels, 1, kernel],
                                        values: weight("\(prefix).weight", shape: [channels, kernel]))
        let biasName = addInitializer("\(prefix).bias", shape: [channels], values: weight("\(prefix).bias", shape: [channels]))
        let channelMajor = node("Transpose", [x], name: "\(prefix)/Transpose_in", attributes: [Self.attribute("perm", ints: [0, 2, 1])])
        let convolved = node("Conv", [channelMajor, weightName, biasName], name: "\(prefix)/Conv", attributes: [
            Self.attribute("kernel_shape", ints: [kernel]),
            Self.attribute("pads", ints: [kernel - 1, 0]),
            Self.attribute("group", int: channels),
        ])
        return node("Transpose", [convolved], name: "\(prefix)/Transpose_out", attributes: [Self.attribute("perm", ints: [0, 2, 1])])
    }

    /// The tokens of [batch, N, …] in reverse order (Gather with N − 1 … 0).
    private mutating func reverseTokens(_ x: String, tokens: Int, name: String) -> String {
        node("Gather", [x, int64Constant((0..<tokens).reversed().map(Int64.init))], name: name,
             attributes: [Self.attribute("axis", int: 1)])
    }

    /// Values `range` of the last axis of a rank-3 value.
    private mutating func lastAxisSlice(_ x: String, _ range: Range<Int>, name: String) -> String {
        node("Slice", [x, int64Constant([Int64(range.lowerBound)]), int64Constant([Int64(range.upperBound)]),
                       int64Constant([2])], name: name)
    }

    /// Unsqueeze (opset 13+: the axes are an input).
    private mutating func unsqueeze(_ x: String, axis: Int, name: String) -> String {
        node("Unsqueeze", [x, int64Constant([Int64(axis)])], name: name)
    }
}
