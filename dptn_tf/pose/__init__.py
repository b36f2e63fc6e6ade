"""Poses: the COCO-18 skeleton (`skeleton`) and the one keypoints -> heatmaps function (`heatmaps`).

Imports nothing from the rest of dptn_tf; data, serving, training and the tools import it.
"""

from dptn_tf.pose.heatmaps import keypoints_to_heatmaps, scale_keypoints
from dptn_tf.pose.skeleton import JOINT_COLORS, JOINT_NAMES, LIMB_COLORS, LIMBS, MISSING, NUM_JOINTS

__all__ = [
    "JOINT_COLORS",
    "JOINT_NAMES",
    "LIMBS",
    "LIMB_COLORS",
    "MISSING",
    "NUM_JOINTS",
    "keypoints_to_heatmaps",
    "scale_keypoints",
]
