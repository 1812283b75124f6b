"""Checks and runs exported ONNX models for the EdgeNASONNX tests, all in one process.

Usage: python3 run_onnx_models.py MANIFEST.json

MANIFEST.json:
    {"models": [{"id": "...", "model": "m.onnx", "input": "x.f32", "input_shape": [3, 1, 28, 28],
                 "input_name": "input",
                 "runs": [{"batch": 1, "chunk": 1, "output": "y1.f32"}, {"batch": 3, "chunk": 3, "output": "y3.f32"}]}]}

Inputs and outputs are raw little-endian float32, row-major. A run feeds the first `batch`
items of the input in slices of `chunk` items and writes the concatenated first output.

Prints one JSON object: {"results": [{"id", "checker_error", "run_error", "output_shapes"}]}, where
an error is null or the message. Exits 3 when onnx or onnxruntime cannot be imported.
"""

import json
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as error:
    print(f"python3 cannot import {error.name}", file=sys.stderr)
    sys.exit(3)


def run_model(entry):
    result = {"id": entry["id"], "checker_error": None, "run_error": None, "output_shapes": []}
    try:
        model = onnx.load(entry["model"])
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # the message is the test's evidence
        result["checker_error"] = f"{type(error).__name__}: {error}"
        return result
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(entry["model"], options, providers=["CPUExecutionProvider"])
        shape = entry["input_shape"]
        images = np.fromfile(entry["input"], dtype="<f4").reshape(shape)
        for run in entry["runs"]:
            batch, chunk = run["batch"], run.get("chunk", run["batch"])
            pieces = []
            for start in range(0, batch, chunk):
                feed = {entry.get("input_name", "input"): np.ascontiguousarray(images[start:min(batch, start + chunk)])}
                pieces.append(session.run(None, feed)[0])
            output = np.concatenate(pieces, axis=0).astype("<f4")
            output.tofile(run["output"])
            result["output_shapes"].append(list(output.shape))
    except Exception as error:
        result["run_error"] = f"{type(error).__name__}: {error}"
    return result


def main():
    with open(sys.argv[1]) as file:
        manifest = json.load(file)
    print(json.dumps({"results": [run_model(entry) for entry in manifest["models"]]}))


if __name__ == "__main__":
    main()
