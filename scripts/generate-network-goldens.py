#!/usr/bin/env python3
"""Regenerates the whole-network goldens of the PyTorch oracle that the model tests compare against.

Run from the repository root, with the shared reference data beside the repository:

    python3 scripts/generate-network-goldens.py

The networks come from ../shared/reference/pytorch_reference.py (imported, not copied), in
float64, with its own seeded initialisation and A_log, D and the positional embedding
perturbed so that no parameter sits at a special value. For each architecture the file holds
the parameters under the engine's names (the oracle's, with `fc` named `classifier`), the
input images, the logits y, a random tensor R and the gradient of L = sum(y * R) for every
parameter and for the images. Parameters and images are rounded to float32 first, so the
goldens are exact for the very values the float32 engine sees.
"""

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT.parent / "shared" / "reference"))
import pytorch_reference  # noqa: E402

OUTPUT_DIRECTORY = ROOT / "Tests/EdgeNASModelsTests/Fixtures/oracle"

ARCHITECTURES = {
    # 16 tokens, kernel 2, one expand-1 layer.
    "mamba-patch7": {"patch": 7, "embed": 16,
                     "layers": [{"state": 4, "expand": 2, "conv": 2}, {"state": 8, "expand": 1, "conv": 2}]},
    # 49 tokens (the longest scan of the reference space), kernel 4.
    "mamba-patch4": {"patch": 4, "embed": 16,
                     "layers": [{"state": 8, "expand": 2, "conv": 4}, {"state": 4, "expand": 2, "conv": 4}]},
}


def encode(tensor):
    return {"shape": list(tensor.shape), "values": [float(v) for v in tensor.detach().reshape(-1).tolist()]}


def engine_name(name):
    return "classifier." + name[len("fc."):] if name.startswith("fc.") else name


def case(name, body, seed):
    arch = {"format": "edgenas.architecture/1", "family": "mamba",
            "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10, **body}
    torch.manual_seed(seed)
    model = pytorch_reference.build(arch).double()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            if parameter_name.endswith(("A_log", ".D", "pos")):
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
            parameter.copy_(parameter.float().double())
    images = torch.randn(2, 1, 28, 28, generator=generator, dtype=torch.float64).float().double().requires_grad_(True)
    logits = model(images)
    weights = torch.rand(logits.shape, generator=generator, dtype=torch.float64).float().double()
    (logits * weights).sum().backward()
    parameters = dict(model.named_parameters())
    golden = {
        "architecture": arch,
        "parameters": {engine_name(key): encode(value) for key, value in parameters.items()},
        "images": encode(images),
        "logits": encode(logits),
        "output_weights": encode(weights),
        "gradients": {engine_name(key): encode(value.grad) for key, value in parameters.items()},
        "image_gradient": encode(images.grad),
    }
    path = OUTPUT_DIRECTORY / f"{name}.json"
    path.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"{path.name}: {path.stat().st_size} bytes, {sum(p.numel() for p in parameters.values())} parameters")


def main():
    OUTPUT_DIRECTORY.mkdir(parents=True, exist_ok=True)
    for seed, (name, body) in enumerate(ARCHITECTURES.items(), 900):
        case(name, body, seed)


if __name__ == "__main__":
    main()
