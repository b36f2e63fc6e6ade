"""The generator as TensorFlow runs it, for `photo_transfer`: `GeneratorModel` (a `.keras`
generator and its configuration) and `SavedModel` (an export's `serving_default`) compute the same
image; `dptn_tf.inference.portable` runs the LiteRT and ONNX exports without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from dptn_tf.config import load_config
from dptn_tf.data.images import to_network_input
from dptn_tf.inference.generation import (
    as_inference_generator,
    load_generator,
    to_saved_uint8,
)
from dptn_tf.pose import keypoints_to_heatmaps


class GeneratorModel:
    """A `.keras` generator with the geometry of its configuration."""

    def __init__(self, path: Path, config_path: Path | None, overrides):
        config_path = config_path or path.parent / "config.yaml"
        if not config_path.is_file():
            raise FileNotFoundError(f"{config_path}: not found; give --config, the YAML the "
                                    "generator was trained with (e.g. configs/fashion.yaml)")
        self.data = load_config(config_path, overrides).data
        self.frame = tuple(self.data.old_size)
        self.generator = as_inference_generator(load_generator(path))

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        load_size, sigma = tuple(self.data.load_size), self.data.sigma
        inputs = {
            "source_image": to_network_input(crop, load_size)[tf.newaxis],
            "source_pose": keypoints_to_heatmaps(source_keypoints[np.newaxis], crop.shape[:2],
                                                 load_size, sigma),
            "target_pose": keypoints_to_heatmaps(target_keypoints[np.newaxis], self.frame,
                                                 load_size, sigma),
        }
        return to_saved_uint8(self.generator(inputs, training=False), self.frame)[0].numpy()


class SavedModel:
    """An exported version's `serving_default` signature; its output size is the frame."""

    def __init__(self, path: Path):
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"{path}: no saved_model.pb (give a version folder, e.g. "
                                    "exports/dptn/1)")
        self.serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        self.frame = tuple(self.serve.structured_outputs["image"].shape[1:3])

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        outputs = self.serve(
            source_image=tf.constant([tf.io.encode_png(crop).numpy()]),
            source_keypoints=tf.constant(source_keypoints[np.newaxis], tf.float32),
            target_keypoints=tf.constant(target_keypoints[np.newaxis], tf.float32))
        return outputs["image"][0].numpy()
