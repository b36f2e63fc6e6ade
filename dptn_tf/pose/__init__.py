"""Poses: the COCO-18 skeleton, the one keypoints -> heatmaps function, and keypoints from photos.

`skeleton` numbers the joints, `heatmaps` renders them for the network, `blazepose` finds them in
a photo (MediaPipe's BlazePose on TF Lite or LiteRT), `photos` reads a person's photo upright,
`openpose` reads OpenPose's JSON, `framing` fits a photo's person into a data set's frame. Imports
only `files` (where the BlazePose model files are found) and `console` (to keep TF Lite's C++
lines quiet); data, serving, training, the demo and the tools import it. Only `heatmaps` needs
TensorFlow, and it loads on first use of its names, so the photo -> keypoints -> frame path runs
where TensorFlow is not installed.
"""

import importlib

from dptn_tf.pose.blazepose import BlazePose, blazepose_to_coco18
from dptn_tf.pose.framing import Window, person_window
from dptn_tf.pose.openpose import openpose_to_coco18, read_openpose_json
from dptn_tf.pose.photos import (
    MAX_PHOTO_PIXELS,
    png_bytes,
    read_photo,
    resize_uint8,
    upright_bytes,
)
from dptn_tf.pose.skeleton import (
    IN_FRAME_RULE,
    JOINT_COLORS,
    JOINT_NAMES,
    LIMB_COLORS,
    LIMBS,
    MISSING,
    NUM_JOINTS,
    NoPersonFound,
    check_keypoints,
    editor_skeleton,
)

_NEEDS_TENSORFLOW = {"keypoints_to_heatmaps": "heatmaps", "scale_keypoints": "heatmaps"}


def __getattr__(name):
    if name in _NEEDS_TENSORFLOW:
        module = importlib.import_module(f"dptn_tf.pose.{_NEEDS_TENSORFLOW[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IN_FRAME_RULE",
    "JOINT_COLORS",
    "JOINT_NAMES",
    "LIMBS",
    "LIMB_COLORS",
    "MAX_PHOTO_PIXELS",
    "MISSING",
    "NUM_JOINTS",
    "BlazePose",
    "NoPersonFound",
    "Window",
    "blazepose_to_coco18",
    "check_keypoints",
    "editor_skeleton",
    "keypoints_to_heatmaps",
    "openpose_to_coco18",
    "person_window",
    "png_bytes",
    "read_openpose_json",
    "read_photo",
    "resize_uint8",
    "scale_keypoints",
    "upright_bytes",
]
