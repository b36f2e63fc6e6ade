"""The LiteRT and ONNX exports (`dptn_tf.export.litert_onnx`) run without TensorFlow: numpy,
Pillow, and ai-edge-litert for a `.tflite` file or onnxruntime for a `.onnx` file
(`pip install "dptn-tf[lite]"` or `"dptn-tf[onnx]"`).

The inputs are checked as the SavedModel's serving signature checks them: keypoints finite and
within their frame or -1 (`dptn_tf.pose.check_keypoints`), photos read by `read_photo` (the pixel
limit, images that do not decode), each error naming its input.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dptn_tf.pose import MISSING, Window, check_keypoints, resize_uint8

RUNTIMES = {".tflite": "ai-edge-litert", ".onnx": "onnxruntime"}
INPUTS = ("source_image", "source_keypoints", "target_keypoints")
OUTPUTS = ("generated_target", "image")


class _LiteRT:
    """A `.tflite` file's `serving_default` signature on ai-edge-litert's interpreter."""

    def __init__(self, path: Path, num_threads: int | None):
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.runner = interpreter.get_signature_runner("serving_default")
        self.shapes = {
            name: tuple(details["shape"])
            for details in (self.runner.get_input_details(), self.runner.get_output_details())
            for name, details in details.items()
        }

    def __call__(self, inputs: dict) -> dict:
        return self.runner(**inputs)


class _OnnxRuntime:
    """A `.onnx` file on onnxruntime's CPU provider."""

    def __init__(self, path: Path, num_threads: int | None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads or 0  # 0: onnxruntime's choice
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.shapes = {
            node.name: tuple(node.shape)
            for node in (*self.session.get_inputs(), *self.session.get_outputs())
        }

    def __call__(self, inputs: dict) -> dict:
        return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), inputs)))


class PortableModel:
    """A `.tflite` or `.onnx` export, its network size (`load_size`) and output frame (`frame`)
    read from the file.

    `model(crop, source_keypoints, target_keypoints)` is the `photo_transfer` model call;
    `generate` runs the exported graph on inputs already at its sizes.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        path = Path(path)
        if path.suffix not in RUNTIMES:
            raise ValueError(
                f"{path}: expected a .tflite or .onnx export "
                "(export_savedmodel.py --format tflite|onnx)"
            )
        if not path.is_file():
            raise FileNotFoundError(f"{path}: file not found")
        runtime = _LiteRT if path.suffix == ".tflite" else _OnnxRuntime
        try:
            self.runtime = runtime(path, num_threads)
        except ImportError:
            extra = "lite" if path.suffix == ".tflite" else "onnx"
            raise ImportError(
                f'{path} runs on {RUNTIMES[path.suffix]}: pip install "dptn-tf[{extra}]"'
            ) from None
        shapes = self.runtime.shapes
        if sorted(shapes) != sorted(INPUTS + OUTPUTS):
            raise ValueError(
                f"{path}: not a DPTN export (inputs and outputs {sorted(shapes)}, "
                f"expected {sorted(INPUTS + OUTPUTS)})"
            )
        self.path = path
        self.load_size = tuple(int(s) for s in shapes["source_image"][1:3])
        self.frame = tuple(int(s) for s in shapes["image"][1:3])

    def generate(self, source_image, source_keypoints, target_keypoints) -> dict:
        """uint8 `[H, W, 3]` at `load_size`, keypoints `[18, 2]` in the frame ->
        {"image": uint8 at the frame, "generated_target": float32 in [-1, 1] at `load_size`}."""
        source_image = np.asarray(source_image)
        if source_image.shape != (*self.load_size, 3) or source_image.dtype != np.uint8:
            raise ValueError(
                f"source image: expected uint8 {(*self.load_size, 3)}, got "
                f"{source_image.dtype} {source_image.shape}"
            )
        inputs = {"source_image": source_image[np.newaxis]}
        for name, keypoints in (
            ("source_keypoints", source_keypoints),
            ("target_keypoints", target_keypoints),
        ):
            inputs[name] = check_keypoints(keypoints, self.frame, name)[np.newaxis]
        return {name: output[0] for name, output in self.runtime(inputs).items()}

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        """uint8 crop of any size, its keypoints in its pixels, the target pose in the frame's
        -> uint8 image at the frame. The crop is resized to `load_size` by Pillow here, and its
        keypoints carried into the frame, where the graph renders both poses."""
        crop = np.asarray(crop)
        source_keypoints = check_keypoints(source_keypoints, crop.shape[:2], "source_keypoints")
        source = Window(0, 0, *crop.shape[:2]).keypoints_in(source_keypoints, self.frame)
        # A joint on the crop's edge may land a rounding past the frame's.
        source = np.where(source == MISSING, MISSING, np.clip(source, 0, self.frame))
        return self.generate(resize_uint8(crop, self.load_size), source, target_keypoints)["image"]
