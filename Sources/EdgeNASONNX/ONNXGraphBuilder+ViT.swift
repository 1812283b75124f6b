import EdgeNASCore

extension ONNXGraphBuilder {
    /// Patch embedding on images [batch, C, H, W]: Conv(kernel = stride = patch, bias) →
    /// Reshape [0, D, −1] → Transpose → + positional embedding. Engine names:
    /// `prefix.conv.weight|bias`, `prefix.pos` [N, D].
    ///
    /// - Returns: the tokens [batch, N, D], N = (H/patch)·(W/patch) in row-major order.
    public mutating func vitPatchEmbedding(_ images: String, input: ImageShape, patch: Int, embed: Int,
                                           prefix: String = "embed") -> String {
        let tokens = (input.height / patch) * (input.width / patch)
        let kernelShape = [embed, input.channels, patch, patch]
        let weightName = addInitializer("\(prefix).conv.weight", shape: kernelShape,
                                        values: weight("\(prefix).conv.weight", shape: kernelShape))
        let biasName = addInitializer("\(prefix).conv.bias", shape: [embed],
                                      values: weight("\(prefix).conv.bias", shape: [embed]))
        let map = node("Conv", [images, weightName, biasName], name: "\(prefix)/Conv", attributes: [
            Self.attribute("kernel_shape", ints: [patch, patch]),
            Self.attribute("strides", ints: [patch, patch]),
            Self.attribute("pads", ints: [0, 0, 0, 0]),
        ])
        let flat = reshape(map, to: [0, Int64(embed), -1], name: "\(prefix)/Reshape")
        let tokenMajor = node("Transpose", [flat], name: "\(prefix)/Transpose",
                              attributes: [Self.attribute("perm", ints: [0, 2, 1])])
        let position = addInitializer("\(prefix).pos", shape: [tokens, embed],
                                      values: weight("\(prefix).pos", shape: [tokens, embed]))
        return node("Add", [tokenMajor, position], name: "\(prefix)/Add")
    }

    /// One pre-norm transformer layer on tokens [batch, N, D]:
    /// x + proj(MHSA(LN₁(x))), then + fc2(gelu(fc1(LN₂(·)))).
    ///
    /// Attention: MatMul with qkvᵀ + bias → Reshape [0, N, 3, heads, d] → Transpose
    /// [2, 0, 3, 1, 4] → Gather q, k, v → softmax(q·kᵀ · d^(−1/2)) · v → Transpose/Reshape
    /// back to [batch, N, D]. Engine names under `prefix`: `ln1`, `attn.qkv`, `attn.proj`,
    /// `ln2`, `mlp.fc1`, `mlp.fc2`.
    ///
    /// - Returns: the tokens [batch, N, D].
    public mutating func vitLayer(_ x: String, layer: ViTLayer, embed: Int, tokens: Int, prefix: String) -> String {
        let heads = layer.heads
        let headSize = layer.headSize(embed: embed)
        let normalized = layerNormalization(x, prefix: "\(prefix).ln1", features: embed)
        let packed = linear(normalized, prefix: "\(prefix).attn.qkv", inputFeatures: embed, outputFeatures: 3 * embed)
        let split = reshape(packed, to: [0, Int64(tokens), 3, Int64(heads), Int64(headSize)],
                            name: "\(prefix).attn/Reshape_qkv")
        let headMajor = node("Transpose", [split], name: "\(prefix).attn/Transpose_qkv",
                             attributes: [Self.attribute("perm", ints: [2, 0, 3, 1, 4])])  // [3, B, heads, N, d]
        let (query, key, value) = (gather(headMajor, index: 0, name: "\(prefix).attn/Gather_q"),
                                   gather(headMajor, index: 1, name: "\(prefix).attn/Gather_k"),
                                   gather(headMajor, index: 2, name: "\(prefix).attn/Gather_v"))
        let keyTransposed = node("Transpose", [key], name: "\(prefix).attn/Transpose_k",
                                 attributes: [Self.attribute("perm", ints: [0, 1, 3, 2])])
        let scores = node("MatMul", [query, keyTransposed], name: "\(prefix).attn/MatMul_scores")
        let scaled = node("Mul", [scores, scalar(1 / Float(headSize).squareRoot())], name: "\(prefix).attn/Mul_scale")
        let probabilities = node("Softmax", [scaled], name: "\(prefix).attn/Softmax",
                                 attributes: [Self.attribute("axis", int: -1)])
        let attended = node("MatMul", [probabilities, value], name: "\(prefix).attn/MatMul_values")  // [B, heads, N, d]
        let tokenMajor = node("Transpose", [attended], name: "\(prefix).attn/Transpose_heads",
                              attributes: [Self.attribute("perm", ints: [0, 2, 1, 3])])
        let merged = reshape(tokenMajor, to: [0, Int64(tokens), Int64(embed)], name: "\(prefix).attn/Reshape_heads")
        let projected = linear(merged, prefix: "\(prefix).attn.proj", inputFeatures: embed, outputFeatures: embed)
        let afterAttention = node("Add", [x, projected], name: "\(prefix)/Add_attention")

        let hidden = layer.mlpHidden(embed: embed)
        let mlpInput = layerNormalization(afterAttention, prefix: "\(prefix).ln2", features: embed)
        let expanded = linear(mlpInput, prefix: "\(prefix).mlp.fc1", inputFeatures: embed, outputFeatures: hidden)
        let activated = activation(expanded, .gelu, name: "\(prefix).mlp.gelu")
        let contracted = linear(activated, prefix: "\(prefix).mlp.fc2", inputFeatures: hidden, outputFeatures: embed)
        return node("Add", [afterAttention, contracted], name: "\(prefix)/Add_mlp")
    }

    /// Final LayerNorm → mean over tokens → Gemm(transB = 1) on tokens [batch, N, D].
    ///
    /// - Returns: the logits [batch, classes].
    public mutating func tokenClassifier(_ x: String, embed: Int, classes: Int, normalizationPrefix: String = "ln",
                                         prefix: String = "classifier") -> String {
        let normalized = layerNormalization(x, prefix: normalizationPrefix, features: embed)
        // Opset 17's ReduceMean takes its axes as an attribute (an input only from opset 18).
        let pooled = node("ReduceMean", [normalized], name: "\(prefix)/ReduceMean",
                          attributes: [Self.attribute("axes", ints: [1]), Self.attribute("keepdims", int: 0)])
        return gemmClassifier(pooled, prefix: prefix, features: embed, classes: classes)
    }

    /// The whole `vit` network on images [batch, C, H, W] with the engine's names
    /// (`embed`, `layers.i`, `ln`, `classifier`).
    ///
    /// - Returns: the logits [batch, classes].
    public mutating func vitNetwork(_ images: String, body: ViTBody, input: ImageShape, classes: Int) -> String {
        var x = vitPatchEmbedding(images, input: input, patch: body.patch, embed: body.embed)
        let tokens = body.tokenCount(input: input)
        for (index, layer) in body.layers.enumerated() {
            x = vitLayer(x, layer: layer, embed: body.embed, tokens: tokens, prefix: "layers.\(index)")
        }
        return tokenClassifier(x, embed: body.embed, classes: classes)
    }

    /// Reshape with `shape` as an int64 constant (0 copies the input's size; allowzero 0).
    private mutating func reshape(_ x: String, to shape: [Int64], name: String) -> String {
        node("Reshape", [x, int64Constant(shape)], name: name, attributes: [Self.attribute("allowzero", int: 0)])
    }
}
