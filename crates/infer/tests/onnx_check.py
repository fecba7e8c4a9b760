"""Checks ONNX models written by `infer --export-onnx` against Burn's logits.

Called by crates/infer/tests/onnx.rs with a directory holding one sub-directory per model:
model.onnx, input.f32 and logits.f32 (little-endian f32, Burn's input and logits), shape.json.
For each: onnx.checker.check_model (full check, with shape inference), then onnxruntime on the
same input. Prints one JSON object per model: the largest absolute and relative difference of
the logits and probabilities, and how many images get another class. The Rust test decides.
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime


def main(root):
    for case in sorted(pathlib.Path(root).iterdir()):
        shape = json.loads((case / "shape.json").read_text())
        model = onnx.load(case / "model.onnx")
        onnx.checker.check_model(model, full_check=True)
        images = np.fromfile(case / "input.f32", dtype="<f4").reshape(shape["input"])
        burn = np.fromfile(case / "logits.f32", dtype="<f4").reshape(shape["logits"])
        session = onnxruntime.InferenceSession(
            str(case / "model.onnx"), providers=["CPUExecutionProvider"])
        logits, probabilities = session.run(["logits", "probabilities"], {"input": images})
        shifted = np.exp(burn - burn.max(axis=1, keepdims=True))
        burn_probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        difference = np.abs(logits - burn)
        # Images whose two best classes Burn separates by more than the tolerance: an
        # untrained network's near-ties may fall either way in either runtime.
        top_two = np.sort(burn, axis=1)[:, -2:]
        clear = (top_two[:, 1] - top_two[:, 0]) > 1e-4 * np.maximum(1.0, np.abs(top_two[:, 1]))
        other = logits.argmax(axis=1) != burn.argmax(axis=1)
        meta = {p.key: p.value for p in model.metadata_props}
        print(json.dumps({
            "case": case.name,
            "variant": meta.get("lenet.variant"),
            "opset": model.opset_import[0].version,
            "images": int(images.shape[0]),
            "ops": sorted({node.op_type for node in model.graph.node}),
            "max_abs": float(difference.max()),
            "max_rel": float((difference / np.maximum(1.0, np.abs(burn))).max()),
            "max_abs_probability": float(np.abs(probabilities - burn_probabilities).max()),
            "other_class": int(other.sum()),
            "other_class_clear": int((other & clear).sum()),
            "test_accuracy": meta.get("lenet.test_accuracy"),
        }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
