#!/usr/bin/env python3
"""Regenerates the PyTorch goldens that the tensor-engine tests compare against.

Run from the repository root:

    python3 scripts/generate-tensor-goldens.py

PyTorch is needed only to regenerate the files; the Swift tests read the committed JSON
in Tests/EdgeNASTensorTests/Fixtures/goldens/ and need nothing but the Swift toolchain.

Every case is computed in float64 from fixed seeds. Inputs are first rounded to float32,
so the goldens are the exact float64 results for the very values the float32 engine
sees. For an operation case the file holds the inputs, the output y, a random tensor R
(`output_weights`) and the gradients of L = sum(y * R) with respect to every input; for
an optimizer case, the initial parameters, each step's gradients and the parameters
after each step. Floats are written with Python's repr (shortest round-trip float64).
"""

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

OUTPUT_DIRECTORY = Path(__file__).resolve().parent.parent / "Tests/EdgeNASTensorTests/Fixtures/goldens"


def uniform(shape, seed, low=-1.0, high=1.0):
    """Seeded uniform values in [low, high), rounded to float32, as float64."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low
    return values.float().double()


def away_from(values, kinks, margin):
    """Moves values closer than `margin` to a kink out to kink ± margin (keeping their side)."""
    for kink in kinks:
        offset = values - kink
        near = offset.abs() < margin
        values = torch.where(near, kink + torch.where(offset < 0, -margin, margin), values)
    return values.float().double()


def encode(tensor):
    tensor = tensor.detach()
    return {"shape": list(tensor.shape), "values": [float(v) for v in tensor.reshape(-1).tolist()]}


def operation_case(name, operation, attributes, inputs, function, seed, state=None):
    """Runs `function(**inputs)`, back-propagates L = sum(y * R) and writes the case.

    `state` holds tensors without gradients that the function may update in place (batch
    norm's running statistics): stored as they are before and after the call."""
    state_before = {key: encode(value) for key, value in (state or {}).items()}
    leaves = {key: value.clone().requires_grad_(True) for key, value in inputs.items()}
    output = function(**leaves)
    weights = uniform(list(output.shape), seed + 1000)
    (output * weights).sum().backward()
    case = {
        "operation": operation,
        "attributes": attributes,
        "inputs": {key: encode(value) for key, value in inputs.items()},
        "output": encode(output),
        "output_weights": encode(weights),
        "gradients": {key: encode(leaf.grad) for key, leaf in leaves.items()},
    }
    if state is not None:
        case["state_before"] = state_before
        case["state_after"] = {key: encode(value) for key, value in state.items()}
    write(name, case)


def write(name, case):
    path = OUTPUT_DIRECTORY / f"{name}.json"
    path.write_text(json.dumps(case, separators=(",", ":")) + "\n")
    print(f"{path.name}: {path.stat().st_size} bytes")


def convolution_cases():
    specifications = [
        # name, input shape, weight shape, bias, stride, padding, groups
        ("conv2d_3x3", [2, 3, 5, 5], [4, 3, 3, 3], False, 1, 1, 1),
        ("conv2d_3x3_stride2_bias", [2, 3, 6, 6], [4, 3, 3, 3], True, 2, 1, 1),
        ("conv2d_groups2_bias", [2, 4, 5, 5], [6, 2, 3, 3], True, 1, 1, 2),
        ("conv2d_depthwise_k3", [2, 4, 5, 5], [4, 1, 3, 3], True, 1, 1, 4),
        ("conv2d_depthwise_k5", [1, 4, 6, 6], [4, 1, 5, 5], False, 1, 2, 4),
        ("conv2d_depthwise_k5_stride2", [2, 4, 7, 7], [4, 1, 5, 5], True, 2, 2, 4),
    ]
    for seed, (name, input_shape, weight_shape, has_bias, stride, padding, groups) in enumerate(specifications, 100):
        inputs = {"x": uniform(input_shape, seed), "weight": uniform(weight_shape, seed + 1)}
        if has_bias:
            inputs["bias"] = uniform([weight_shape[0]], seed + 2)

        def function(x, weight, bias=None, stride=stride, padding=padding, groups=groups):
            return F.conv2d(x, weight, bias, stride=stride, padding=padding, groups=groups)

        operation_case(name, "conv2d", {"stride": stride, "padding": padding, "groups": groups},
                       inputs, function, seed)


def batch_norm_cases():
    momentum, epsilon = 0.1, 1e-5
    for seed, (name, shape, training) in enumerate([
        ("batch_norm_training_rank4", [4, 3, 3, 3], True),
        ("batch_norm_training_rank2", [8, 5], True),
        ("batch_norm_inference_rank4", [2, 3, 3, 3], False),
        ("batch_norm_inference_rank2", [4, 5], False),
    ], 200):
        channels = shape[1]
        inputs = {
            "x": uniform(shape, seed, -2, 2),
            "weight": uniform([channels], seed + 1, 0.5, 1.5),
            "bias": uniform([channels], seed + 2),
        }
        running_mean = uniform([channels], seed + 3, -0.5, 0.5)
        running_variance = uniform([channels], seed + 4, 0.5, 2.0)

        def function(x, weight, bias, training=training, running_mean=running_mean,
                     running_variance=running_variance):
            return F.batch_norm(x, running_mean, running_variance, weight, bias,
                                training=training, momentum=momentum, eps=epsilon)

        attributes = {"training": training, "momentum": momentum, "epsilon": epsilon}
        operation_case(name, "batch_norm", attributes, inputs, function, seed,
                       state={"running_mean": running_mean, "running_variance": running_variance})


def layer_norm_cases():
    for seed, (name, shape) in enumerate([("layer_norm_rank3", [2, 3, 8]), ("layer_norm_rank2", [4, 6])], 300):
        width = shape[-1]
        inputs = {
            "x": uniform(shape, seed, -2, 2),
            "weight": uniform([width], seed + 1, 0.5, 1.5),
            "bias": uniform([width], seed + 2),
        }

        def function(x, weight, bias, width=width):
            return F.layer_norm(x, [width], weight, bias, eps=1e-5)

        operation_case(name, "layer_norm", {"epsilon": 1e-5}, inputs, function, seed)


def attention(qkv, heads):
    """Multi-head self-attention on packed [B, N, 3D] projections (q, k, v in that order)."""
    batch, tokens, packed = qkv.shape
    embed = packed // 3
    q, k, v = qkv.reshape(batch, tokens, 3, heads, embed // heads).permute(2, 0, 3, 1, 4)
    scores = q @ k.transpose(-2, -1) / math.sqrt(embed // heads)
    output = torch.softmax(scores, dim=-1) @ v
    return output.transpose(1, 2).reshape(batch, tokens, embed)


def attention_cases():
    for seed, (name, shape, heads) in enumerate([
        ("attention_heads1", [2, 4, 18], 1),
        ("attention_heads2", [2, 5, 24], 2),
        ("attention_heads4", [1, 6, 24], 4),
    ], 400):
        operation_case(name, "attention", {"heads": heads}, {"qkv": uniform(shape, seed, -2, 2)},
                       lambda qkv, heads=heads: attention(qkv, heads), seed)


def loss_cases():
    for seed, (name, smoothing) in enumerate([("cross_entropy", 0.0), ("cross_entropy_smoothing", 0.1)], 500):
        rows, classes = 6, 5
        generator = torch.Generator().manual_seed(seed + 7)
        labels = torch.randint(0, classes, (rows,), generator=generator)
        operation_case(name, "cross_entropy", {"labels": labels.tolist(), "label_smoothing": smoothing},
                       {"logits": uniform([rows, classes], seed, -3, 3)},
                       lambda logits, labels=labels, smoothing=smoothing:
                           F.cross_entropy(logits, labels, label_smoothing=smoothing),
                       seed)


def elementwise_cases():
    operation_case("gelu", "gelu", {}, {"x": uniform([64], 600, -5, 5)},
                   lambda x: F.gelu(x), 600)
    operation_case("hardswish", "hardswish", {}, {"x": away_from(uniform([64], 601, -5, 5), [-3, 3], 1e-3)},
                   lambda x: F.hardswish(x), 601)
    operation_case("softmax", "softmax", {}, {"x": uniform([3, 7], 602, -4, 4)},
                   lambda x: torch.softmax(x, dim=-1), 602)


def selective_scan(v, delta, b, c, a_log, d):
    """Mamba's selective scan per the spec, token by token: h_t = exp(Δ_t·A) ⊙ h_{t−1} +
    (Δ_t ⊙ v_t) ⊗ B_t, y_t = h_t·C_t + D ⊙ v_t, A = −exp(A_log), h_0 = 0."""
    a = -torch.exp(a_log)
    h = torch.zeros(v.shape[0], v.shape[2], a.shape[1])
    outputs = []
    for t in range(v.shape[1]):
        h = torch.exp(delta[:, t, :, None] * a) * h + (delta[:, t, :, None] * v[:, t, :, None]) * b[:, t, None, :]
        outputs.append((h * c[:, t, None, :]).sum(-1))
    return torch.stack(outputs, 1) + d * v


def selective_scan_cases():
    for seed, (name, batch, tokens, channels, states) in enumerate([
        ("selective_scan", 2, 5, 6, 3),
        ("selective_scan_long", 1, 17, 9, 4),
    ], 800):
        inputs = {
            "v": uniform([batch, tokens, channels], seed, -2, 2),
            "delta": uniform([batch, tokens, channels], seed + 1, 0.05, 1.5),
            "b": uniform([batch, tokens, states], seed + 2),
            "c": uniform([batch, tokens, states], seed + 3),
            "a_log": (torch.log(torch.arange(1, states + 1, dtype=torch.float64)).repeat(channels, 1)
                      + uniform([channels, states], seed + 4, -0.2, 0.2)).float().double(),
            "d": uniform([channels], seed + 5, 0.5, 1.5),
        }
        operation_case(name, "selective_scan", {}, inputs, selective_scan, seed)


def optimizer_cases():
    """Three steps of torch.optim on a rank-2 weight and a rank-1 bias; weight decay only on
    the weight (the engine's default filter: rank > 1)."""
    specifications = [
        ("optimizer_sgd_plain", "sgd", {"learning_rate": 0.1}),
        ("optimizer_sgd_momentum", "sgd", {"learning_rate": 0.1, "momentum": 0.9}),
        ("optimizer_sgd_nesterov", "sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
        ("optimizer_sgd_weight_decay", "sgd", {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
        ("optimizer_adamw", "adamw", {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999,
                                      "epsilon": 1e-8, "weight_decay": 0.1}),
    ]
    for seed, (name, kind, attributes) in enumerate(specifications, 700):
        weight = uniform([3, 4], seed).requires_grad_(True)
        bias = uniform([4], seed + 1).requires_grad_(True)
        initial = {"weight": encode(weight), "bias": encode(bias)}
        decay = attributes.get("weight_decay", 0.0)
        groups = [{"params": [weight], "weight_decay": decay}, {"params": [bias], "weight_decay": 0.0}]
        if kind == "sgd":
            optimizer = torch.optim.SGD(groups, lr=attributes["learning_rate"],
                                        momentum=attributes.get("momentum", 0.0),
                                        nesterov=attributes.get("nesterov", False))
        else:
            optimizer = torch.optim.AdamW(groups, lr=attributes["learning_rate"],
                                          betas=(attributes["beta1"], attributes["beta2"]),
                                          eps=attributes["epsilon"])
        steps = []
        for step in range(3):
            gradients = {"weight": uniform([3, 4], seed + 10 * (step + 1)),
                         "bias": uniform([4], seed + 10 * (step + 1) + 1)}
            weight.grad, bias.grad = gradients["weight"].clone(), gradients["bias"].clone()
            optimizer.step()
            steps.append({"gradients": {key: encode(value) for key, value in gradients.items()},
                          "parameters_after": {"weight": encode(weight), "bias": encode(bias)}})
        write(name, {"optimizer": kind, "attributes": attributes, "parameters": initial, "steps": steps})


def main():
    torch.set_default_dtype(torch.float64)
    OUTPUT_DIRECTORY.mkdir(parents=True, exist_ok=True)
    for stale in OUTPUT_DIRECTORY.glob("*.json"):
        stale.unlink()
    convolution_cases()
    batch_norm_cases()
    layer_norm_cases()
    attention_cases()
    loss_cases()
    elementwise_cases()
    selective_scan_cases()
    optimizer_cases()
    total = sum(path.stat().st_size for path in OUTPUT_DIRECTORY.glob("*.json"))
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
