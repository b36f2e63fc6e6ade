"""Your photo's person in another pose: the photo cut to its person's window in the model's
frame, the pose placed in that frame, the result put back in the photo's own pixels.

`GeneratorModel` (a `.keras` generator and its configuration) and `SavedModel` (an export's
`serving_default`) compute the same image; `tools/transfer.py` is the command line and
`dptn_tf.demo` the web page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from dptn_tf.config import load_config
from dptn_tf.data import parse_keypoints
from dptn_tf.data.images import resize_uint8, to_network_input
from dptn_tf.inference.attention_maps import cross_attention, overlay, point_attention
from dptn_tf.inference.generation import (
    as_inference_generator,
    load_generator,
    to_saved_uint8,
)
from dptn_tf.pose import keypoints_to_heatmaps, person_window, read_openpose_json, read_photo

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


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

    def inputs(self, crop, source_keypoints, target_keypoints) -> dict:
        """The generator's batch of one, as training and TF Serving see it."""
        load_size, sigma = tuple(self.data.load_size), self.data.sigma
        return {
            "source_image": to_network_input(crop, load_size)[tf.newaxis],
            "source_pose": keypoints_to_heatmaps(source_keypoints[np.newaxis], crop.shape[:2],
                                                 load_size, sigma),
            "target_pose": keypoints_to_heatmaps(target_keypoints[np.newaxis], self.frame,
                                                 load_size, sigma),
        }

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        inputs = self.inputs(crop, source_keypoints, target_keypoints)
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


def pose_in_frame(spec: str, frame, extractor, visibility: float) -> np.ndarray:
    """`--pose` -> float `[18, 2]` `(y, x)` in the frame's pixels, -1 missing."""
    path = Path(spec)
    if path.suffix.lower() in PHOTO_SUFFIXES + (".json",) and path.is_file():
        if path.suffix.lower() == ".json":
            return placed_in_frame(read_openpose_json(path), frame)
        photo = read_photo(path)
        return placed_in_frame(extractor.keypoints(photo, visibility, spec), frame,
                               photo.shape[:2])
    fields = spec.split(":")
    if len(fields) < 2:
        raise ValueError(f"--pose {spec!r}: not a photo, an OpenPose .json file nor a PATN row "
                         "(name:keypoints_y:keypoints_x)")
    return parse_keypoints(fields[-2], fields[-1], where="--pose").astype(np.float64)


def placed_in_frame(keypoints, frame, photo_size=None) -> np.ndarray:
    """A person's keypoints in a photo of `photo_size` -> their pose in the frame (the person's
    window resized to it): float `[18, 2]`, -1 missing."""
    return person_window(keypoints, frame, photo_size).keypoints_in(keypoints, frame)


def transfer(model, photo, pose, extractor, visibility: float, name="source photo") -> np.ndarray:
    """uint8 photo -> uint8 image of its person in `pose`, at the person's window in the photo."""
    return transfer_found(model, photo, extractor.keypoints(photo, visibility, name), pose)


def transfer_found(model, photo, source_keypoints, pose) -> np.ndarray:
    """`transfer` for a photo whose keypoints are already known (the demo finds them once)."""
    window = person_window(source_keypoints, model.frame, photo.shape[:2])
    image = model(window.crop(photo), window.keypoints_in(source_keypoints), pose)
    back = resize_uint8(image, (window.height, window.width))
    return back[window.within(photo.shape[:2])]


def attention_in_source(model: GeneratorModel, photo, source_keypoints, pose,
                        point) -> np.ndarray:
    """Where the last TTB looks in the source for `point` `(y, x)` of `transfer_found`'s image:
    the source crop at the network's input size, tinted red where the attention is high."""
    window = person_window(source_keypoints, model.frame, photo.shape[:2])
    crop = window.crop(photo)
    inputs = model.inputs(crop, window.keypoints_in(source_keypoints), pose)
    rows, cols = window.within(photo.shape[:2])
    load_size = tuple(model.data.load_size)
    in_window = np.add(point, (rows.start, cols.start))
    target = np.clip(in_window * np.divide(load_size, (window.height, window.width)), 0,
                     np.subtract(load_size, 1))
    heatmap = point_attention(cross_attention(model.generator, inputs)[0], [target], load_size)
    return overlay(resize_uint8(crop, load_size), heatmap[0])
