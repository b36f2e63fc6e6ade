"""The generator as TensorFlow runs it, for `photo_transfer`: `GeneratorModel` (a `.keras`
generator and its geometry) and `SavedModel` (an export's `serving_default`) compute the same
image; `dptn_tf.inference.litert_onnx_models` runs the LiteRT and ONNX exports without TensorFlow.
`attention_in_source` shows where a `GeneratorModel`'s last TTB looks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from dptn_tf.config import CONFIG_NAME, load_config
from dptn_tf.data.images import to_network_input
from dptn_tf.inference.attention_maps import cross_attention, overlay, point_attention
from dptn_tf.inference.frozen import frozen_forward
from dptn_tf.inference.generation import (
    as_inference_generator,
    load_generator,
    to_saved_uint8,
)
from dptn_tf.models import frame_of, generator_parts
from dptn_tf.pose import keypoints_to_heatmaps, person_window, resize_uint8


class GeneratorModel:
    """A `.keras` generator with its geometry: from `config_path` when given, else the frame the
    file records (`dptn_tf.models.frame_of`), else the `config.yaml` beside it. `config_path`
    is the YAML file `data` came from (None for a recorded frame), what a relative `data.root`
    is found from (`dptn_tf.config.resolve_relative`)."""

    def __init__(self, path: Path, config_path: Path | None = None, overrides=()):
        generator = load_generator(path)
        recorded = frame_of(generator)
        if config_path is None and recorded is not None and not overrides:
            self.data, self.config_path = recorded, None
        else:
            config_path = config_path or Path(path).parent / CONFIG_NAME
            if not Path(config_path).is_file():
                raise FileNotFoundError(
                    f"{config_path}: not found, and {path} records no frame; give --config, "
                    "the YAML the generator was trained with (e.g. configs/fashion.yaml), or "
                    "convert the checkpoint with --dataset or --frame"
                )
            self.data, self.config_path = load_config(config_path, overrides).data, config_path
        self.frame = tuple(self.data.old_size)
        self.generator = as_inference_generator(generator)
        self.forward = frozen_forward(self.generator)

    @property
    def has_attention(self) -> bool:
        """False for a generator without a Pose Transformer Module (the ablation)."""
        return "pose_transformer" in generator_parts(self.generator)

    def inputs(self, crop, source_keypoints, target_keypoints) -> dict:
        """The generator's batch of one, as training and TF Serving see it."""
        load_size, sigma = tuple(self.data.load_size), self.data.sigma
        return {
            "source_image": to_network_input(crop, load_size)[tf.newaxis],
            "source_pose": keypoints_to_heatmaps(
                source_keypoints[np.newaxis], crop.shape[:2], load_size, sigma
            ),
            "target_pose": keypoints_to_heatmaps(
                target_keypoints[np.newaxis], self.frame, load_size, sigma
            ),
        }

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        inputs = self.inputs(crop, source_keypoints, target_keypoints)
        return to_saved_uint8(self.forward(inputs), self.frame)[0].numpy()


class SavedModel:
    """An exported version's `serving_default` signature; its output size is the frame."""

    def __init__(self, path: Path):
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(
                f"{path}: no saved_model.pb (give a version folder, e.g. exports/dptn/1)"
            )
        self.serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        self.frame = tuple(self.serve.structured_outputs["image"].shape[1:3])

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        outputs = self.serve(
            source_image=tf.constant([tf.io.encode_png(crop).numpy()]),
            source_keypoints=tf.constant(source_keypoints[np.newaxis], tf.float32),
            target_keypoints=tf.constant(target_keypoints[np.newaxis], tf.float32),
        )
        return outputs["image"][0].numpy()


def attention_in_source(model: GeneratorModel, photo, source_keypoints, pose, point) -> np.ndarray:
    """Where the last TTB looks in the source for `point` `(y, x)` of `transfer_found`'s image:
    the source crop at the network's input size, tinted red where the attention is high."""
    window = person_window(source_keypoints, model.frame, photo.shape[:2])
    crop = window.crop(photo)
    inputs = model.inputs(crop, window.keypoints_in(source_keypoints), pose)
    rows, cols = window.within(photo.shape[:2])
    load_size = tuple(model.data.load_size)
    in_window = np.add(point, (rows.start, cols.start))
    target = np.clip(
        in_window * np.divide(load_size, (window.height, window.width)),
        0,
        np.subtract(load_size, 1),
    )
    heatmap = point_attention(cross_attention(model.generator, inputs)[0], [target], load_size)
    return overlay(resize_uint8(crop, load_size), heatmap[0])
