"""Your photo's person in another pose: the photo cut to its person's window in the model's
frame, the pose placed in that frame, the result put back in the photo's own pixels.

A model is anything called as `model(crop, source_keypoints, target_keypoints)` -> uint8 image
at `model.frame`: `tensorflow_models.GeneratorModel` and `SavedModel`, or
`portable.PortableModel` (LiteRT, ONNX). This module imports no TensorFlow, so the LiteRT and
ONNX path runs where it is not installed; `tools/transfer.py` is the command line and
`dptn_tf.demo` the web page.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dptn_tf.pose import person_window, read_openpose_json, read_photo, resize_uint8

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def pose_in_frame(spec: str, frame, extractor, visibility: float) -> np.ndarray:
    """`--pose` -> float `[18, 2]` `(y, x)` in the frame's pixels, -1 missing.

    A PATN row is parsed by `dptn_tf.data`, which needs TensorFlow; photos and OpenPose files
    do not.
    """
    path = Path(spec)
    if path.suffix.lower() in PHOTO_SUFFIXES + (".json",) and path.is_file():
        if path.suffix.lower() == ".json":
            keypoints = read_openpose_json(path)
            return keypoints if drawn_in_frame(path, frame) else placed_in_frame(keypoints, frame)
        photo = read_photo(path)
        return placed_in_frame(extractor.keypoints(photo, visibility, spec), frame, photo.shape[:2])
    fields = spec.split(":")
    if len(fields) < 2:
        raise ValueError(
            f"--pose {spec!r}: not a photo, an OpenPose .json file nor a PATN row "
            "(name:keypoints_y:keypoints_x)"
        )
    try:
        from dptn_tf.data import parse_keypoints
    except ImportError:
        raise ImportError(
            f"--pose {spec!r}: a PATN row is parsed by dptn_tf.data, which needs "
            "TensorFlow; give a photo or an OpenPose .json file"
        ) from None
    return parse_keypoints(fields[-2], fields[-1], where="--pose").astype(np.float64)


def drawn_in_frame(path: Path, frame) -> bool:
    """Whether an OpenPose JSON file says it was drawn on a canvas of the frame's size (the
    joint editors' `canvas_height`, `canvas_width`): its pose is then already in the frame."""
    try:
        canvas = json.loads(path.read_text())
        return [canvas.get("canvas_height"), canvas.get("canvas_width")] == list(frame)
    except (ValueError, AttributeError):
        return False


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
