"""OpenPose's JSON output -> COCO-18 keypoints, for users who run OpenPose themselves.

OpenPose writes one `<image>_keypoints.json` per image: `{"people": [{"pose_keypoints_2d": [x, y,
confidence, ...]}, ...]}`, confidence 0 marking a joint it did not find. The COCO-18 model's 18
joints are DPTN's as they are; BODY_25 (OpenPose's default) has the same joints in the same
order with MidHip inserted at 8 and six foot points appended, which are dropped. OpenPose's own
models are licensed for non-commercial use only, so dptn-tf reads their output and never ships them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dptn_tf.pose.skeleton import MISSING, NUM_JOINTS, NoPersonFound

# COCO-18 joint i is BODY_25 joint BODY25_TO_COCO18[i] (skipping MidHip, 8, and the feet, 19-24).
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
BODY25_JOINTS = 25


def openpose_to_coco18(pose_keypoints_2d) -> np.ndarray:
    """A flat `[x, y, confidence] * joints` list (COCO-18 or BODY_25) -> float `[18, 2]` `(y, x)`,
    -1 where the confidence is 0."""
    values = np.asarray(pose_keypoints_2d, np.float64)
    if values.ndim != 1 or len(values) not in (3 * NUM_JOINTS, 3 * BODY25_JOINTS):
        raise ValueError(
            f"pose_keypoints_2d: expected {3 * NUM_JOINTS} (COCO-18) or "
            f"{3 * BODY25_JOINTS} (BODY_25) numbers, x, y, confidence per joint, "
            f"got shape {values.shape}"
        )
    joints = values.reshape(-1, 3)
    if len(joints) == BODY25_JOINTS:
        joints = joints[list(BODY25_TO_COCO18)]
    keypoints = joints[:, 1::-1].copy()
    keypoints[joints[:, 2] <= 0] = MISSING
    return keypoints


def read_openpose_json(path) -> np.ndarray:
    """The most confident person of an OpenPose JSON file -> float `[18, 2]` `(y, x)`, -1 missing.

    The most confident person is the one with the highest sum of joint confidences.
    """
    path = Path(path)
    try:
        people = json.loads(path.read_text())["people"]
        poses = [person["pose_keypoints_2d"] for person in people]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(
            f'{path}: not an OpenPose JSON file (expected {{"people": '
            f'[{{"pose_keypoints_2d": [...]}}, ...]}})'
        ) from None
    poses = [pose for pose in poses if pose]  # OpenPose writes [] for an empty person slot
    if not poses:
        raise NoPersonFound(f'{path}: no person found (OpenPose\'s "people" is empty)')
    try:
        best = max(poses, key=lambda pose: float(np.sum(np.reshape(pose, (-1, 3))[:, 2])))
        return openpose_to_coco18(best)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
