"""The COCO-18 skeleton as OpenPose and the PATN annotations number it: joints, limbs, colours,
and what a valid set of keypoints is."""

import numpy as np

NUM_JOINTS = 18
MISSING = -1
# What every consumer of keypoints accepts (the serving graph checks it too, in TensorFlow).
IN_FRAME_RULE = (
    "finite (y, x) pixels within {frame} (0 <= y <= H, 0 <= x <= W), or -1 for a missing joint"
)

# Each side is the person's own. Joints 14-17 are OpenPose's REye, LEye, REar, LEar (the limbs
# below join the right ear, 16, to the right shoulder, 2); PATN's label list calls them
# Leye, Reye, Lear, Rear, a slip that does not change the data.
JOINT_NAMES = (
    "nose", "neck", "Rsho", "Relb", "Rwri", "Lsho", "Lelb", "Lwri", "Rhip",
    "Rkne", "Rank", "Lhip", "Lkne", "Lank", "Reye", "Leye", "Rear", "Lear",
)  # fmt: skip

# The 19 joint pairs drawn as limbs (OpenPose order).
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)  # fmt: skip

# OpenPose's colour wheel: one RGB colour per joint.
JOINT_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip

# Limb i takes colour i of the wheel, as OpenPose's renderer does (the wheel wraps for limb 18).
LIMB_COLORS = tuple(JOINT_COLORS[i % NUM_JOINTS] for i in range(len(LIMBS)))


def editor_skeleton(frame) -> dict:
    """What the joint editor (`dptn_tf/web/joint_editor.js`) draws with, as JSON: the frame,
    joint names, limbs, colours, and the (right, left) pairs that mirroring swaps."""
    index = {name: i for i, name in enumerate(JOINT_NAMES)}
    mirror = [
        [i, index["L" + name[1:]]] for i, name in enumerate(JOINT_NAMES) if name.startswith("R")
    ]
    return {
        "frame": [int(s) for s in frame],
        "names": list(JOINT_NAMES),
        "limbs": [list(limb) for limb in LIMBS],
        "colors": [f"rgb{tuple(c)}" for c in JOINT_COLORS],
        "mirror": mirror,
    }


class NoPersonFound(ValueError):
    """A photo or a pose file with no person in it; the message names the file or the stage."""


def check_keypoints(keypoints, frame, name: str) -> np.ndarray:
    """float32 `[18, 2]` `(y, x)` as `IN_FRAME_RULE` says, `frame` its `(H, W)`; else a
    ValueError naming `name` and the joints at fault."""
    keypoints = np.asarray(keypoints, np.float32)
    if keypoints.shape != (NUM_JOINTS, 2):
        raise ValueError(
            f"{name}: expected [{NUM_JOINTS}, 2] (y, x) keypoints, got shape {keypoints.shape}"
        )
    with np.errstate(invalid="ignore"):
        inside = np.all((keypoints >= 0) & (keypoints <= np.asarray(frame, np.float32)), axis=-1)
    valid = np.all(np.isfinite(keypoints), axis=-1) & (
        np.any(keypoints == MISSING, axis=-1) | inside
    )
    if not valid.all():
        bad = np.flatnonzero(~valid)
        raise ValueError(
            f"{name}: expected {IN_FRAME_RULE.format(frame=tuple(frame))}; not so "
            f"at joints {bad.tolist()}: {keypoints[bad].tolist()}"
        )
    return keypoints
