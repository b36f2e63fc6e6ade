"""Export the inference generator for runtimes without TensorFlow: LiteRT (`.tflite`, phones,
Raspberry Pi, Coral) and ONNX Runtime (`.onnx`, also Triton).

Both files hold one graph, batch one, fixed sizes:

- `source_image` uint8 `[1, H, W, 3]`: the person's window of the photo, resized to
  `data.load_size`;
- `source_keypoints`, `target_keypoints` float32 `[1, 18, 2]` `(y, x)` in pixels of the frame
  `data.old_size`, -1 marking a missing joint;
- -> `image` uint8 `[1, old_H, old_W, 3]` (the result as the test protocol saves it,
  `to_saved_uint8`) and `generated_target` float32 `[1, H, W, 3]` in [-1, 1].

The scaling to [-1, 1], the pose heatmaps and the conversion to uint8 are the library's own
functions (`to_network_input`, `keypoints_to_heatmaps`, `to_saved_uint8`) traced into the
graph, as in the SavedModel's `serving_default`. The runtime
(`dptn_tf.inference.litert_onnx_models`) checks the inputs before they reach it. LiteRT has no
float64 kernels, so its graph renders the heatmaps and the PTM's output norm in float32 (see
`keypoints_to_heatmaps`' `dtype`); ONNX keeps the float64 of the reference.

A version folder `EXPORT_BASE/<version>/` holds `model.tflite` (float32),
`model_float16.tflite` (float16 weights) and `model_int8.tflite` (int8 weights, dynamic-range
quantisation), or `model.onnx` (tf2onnx, opset `ONNX_OPSET`); it is written and renamed whole,
as a SavedModel version is (`dptn_tf.export.savedmodel.write_version`).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from dptn_tf.config import DataConfig
from dptn_tf.data.images import to_network_input
from dptn_tf.export.savedmodel import check_geometry, write_version
from dptn_tf.inference.generation import as_inference_generator, to_saved_uint8
from dptn_tf.keras_internals import all_layers
from dptn_tf.layers.instance_norm import float32_norms
from dptn_tf.pose import NUM_JOINTS, keypoints_to_heatmaps

# Format -> {variant: file name}: what a version folder of that format holds.
FILES = {
    "tflite": {
        "float32": "model.tflite",
        "float16": "model_float16.tflite",
        "int8": "model_int8.tflite",
    },
    "onnx": {"float32": "model.onnx"},
}
ONNX_OPSET = 17


def portable_function(generator: keras.Model, data: DataConfig, dtype=tf.float64):
    """The exported graph around `generator` as a `tf.function` (see the module's docstring);
    `dtype` is the heatmaps' arithmetic."""
    generator = as_inference_generator(generator)
    check_geometry(data)
    mixed = sorted(
        layer.name for layer in all_layers(generator) if layer.dtype_policy.name != "float32"
    )
    if mixed:
        raise ValueError(
            f"the generator computes in reduced precision in {mixed}: LiteRT and "
            "ONNX take a float32 generator "
            "(dptn_tf.training.float32_inference_generator)"
        )
    load_size, old_size = tuple(data.load_size), tuple(data.old_size)

    @tf.function(
        input_signature=[
            tf.TensorSpec((1, *load_size, 3), tf.uint8, name="source_image"),
            tf.TensorSpec((1, NUM_JOINTS, 2), tf.float32, name="source_keypoints"),
            tf.TensorSpec((1, NUM_JOINTS, 2), tf.float32, name="target_keypoints"),
        ]
    )
    def generate(source_image, source_keypoints, target_keypoints):
        def pose(keypoints):
            return keypoints_to_heatmaps(keypoints, old_size, load_size, data.sigma, dtype)

        generated = generator(
            {
                "source_image": to_network_input(source_image[0], load_size)[None],
                "source_pose": pose(source_keypoints),
                "target_pose": pose(target_keypoints),
            },
            training=False,
        )
        return {"generated_target": generated, "image": to_saved_uint8(generated, old_size)}

    return generate


def litert_models(generator: keras.Model, data: DataConfig) -> dict[str, bytes]:
    """{variant: .tflite flatbuffer} of `FILES["tflite"]`, converted from one traced graph.

    The graph goes through a SavedModel in a temporary folder: the converter freezes Keras 3
    variables only from there (given the `tf.function`, it keeps them as resource variables
    that the interpreter reads uninitialised).
    """
    generator = as_inference_generator(generator)
    function = portable_function(generator, data, tf.float32)
    with float32_norms(generator):
        function.get_concrete_function()
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serving_default", function)
    models = {}
    with tempfile.TemporaryDirectory() as folder:
        archive.write_out(folder, verbose=False)
        for variant in FILES["tflite"]:
            converter = tf.lite.TFLiteConverter.from_saved_model(folder)
            if variant != "float32":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if variant == "float16":
                converter.target_spec.supported_types = [tf.float16]
            models[variant] = converter.convert()
    return models


def onnx_models(generator: keras.Model, data: DataConfig, float64: bool = True) -> dict[str, bytes]:
    """{variant: .onnx model} of `FILES["onnx"]` (tf2onnx, `pip install -e ".[export-onnx]"`).

    `float64=False` computes the heatmaps and the PTM's norm in float32, as LiteRT's graph
    does, for ONNX Runtime Web, which has no float64 kernels."""
    try:
        import tf2onnx
    except ImportError:
        raise ImportError(
            'the ONNX export needs tf2onnx: pip install -e ".[export-onnx]"'
        ) from None
    generator = as_inference_generator(generator)
    function = portable_function(generator, data, tf.float64 if float64 else tf.float32)
    with contextlib.nullcontext() if float64 else float32_norms(generator):
        model, _ = tf2onnx.convert.from_function(
            function, function.input_signature, opset=ONNX_OPSET
        )
    return {"float32": model.SerializeToString()}


def export_portable(
    generator: keras.Model,
    export_base: str | Path,
    data: DataConfig,
    format: str,
    version: int | None = None,
) -> str:
    """Write `generator`'s `format` ('tflite' or 'onnx') files to `export_base/<version>/`
    and return that path; versions, locking and refusals as `export_saved_model`'s."""
    if format not in FILES:
        raise ValueError(f"format: expected one of {sorted(FILES)}, got {format!r}")
    convert = litert_models if format == "tflite" else onnx_models

    def write(folder):
        tf.io.gfile.makedirs(str(folder))
        for variant, contents in convert(generator, data).items():
            with tf.io.gfile.GFile(
                tf.io.gfile.join(str(folder), FILES[format][variant]), "wb"
            ) as file:
                file.write(contents)

    return write_version(generator, export_base, data, version, f"export {format}", write)
