"""Poses: the COCO-18 skeleton, the one keypoints -> heatmaps function, and keypoints from photos.

`skeleton` numbers the joints, `heatmaps` renders them for the network, `blazepose` finds them in
a photo (MediaPipe's BlazePose on TF Lite), `openpose` reads OpenPose's JSON, `framing` fits a
photo's person into a data set's frame. Imports only `files` (where the BlazePose model files
are found); data, serving, training and the tools import it.
"""

from dptn_tf.pose.blazepose import BlazePose, blazepose_to_coco18
from dptn_tf.pose.framing import Window, person_window
from dptn_tf.pose.heatmaps import keypoints_to_heatmaps, scale_keypoints
from dptn_tf.pose.openpose import openpose_to_coco18, read_openpose_json
from dptn_tf.pose.skeleton import (
    JOINT_COLORS,
    JOINT_NAMES,
    LIMB_COLORS,
    LIMBS,
    MISSING,
    NUM_JOINTS,
    NoPersonFound,
)

__all__ = [
    "JOINT_COLORS",
    "JOINT_NAMES",
    "LIMBS",
    "LIMB_COLORS",
    "MISSING",
    "NUM_JOINTS",
    "BlazePose",
    "NoPersonFound",
    "Window",
    "blazepose_to_coco18",
    "keypoints_to_heatmaps",
    "openpose_to_coco18",
    "person_window",
    "read_openpose_json",
    "scale_keypoints",
]
