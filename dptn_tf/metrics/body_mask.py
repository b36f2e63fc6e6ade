"""The person mask of Market-1501's masked LPIPS, drawn from the target pose's keypoints.

Market-1501 backgrounds are unrelated to the pose, so the masked LPIPS compares only the body:
both images (in [-1, 1]) are multiplied by this mask, which zeroes the background to mid grey.
As in DPTN's script, the mask is the union of 8-pixel-wide quadrilaterals along 23 limbs and
discs of radius 4 at the joints, closed with a 5 x 5 square, at the 128 x 64 image size.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import disk, polygon
from skimage.morphology import dilation, erosion

from dptn_tf.pose import MISSING

MARKET_SIZE = (128, 64)
RADIUS = 4
# Joint pairs of the mask (COCO-18 order), wider than the visualisation skeleton: it also joins
# the hips to each other and to the shoulders, so the torso is filled.
MASK_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (1, 16), (1, 17), (8, 11), (11, 5),
    (8, 2), (16, 17),
)  # fmt: skip
_CLOSING = np.ones((5, 5), bool)


def body_mask(keypoints, size: tuple[int, int] = MARKET_SIZE, radius: int = RADIUS) -> np.ndarray:
    """Boolean (H, W) mask of the body given 18 (y, x) keypoints, -1 for a missing joint."""
    keypoints = np.asarray(keypoints, np.float64)
    present = (keypoints != MISSING).all(axis=1)
    mask = np.zeros(size, bool)
    for a, b in MASK_LIMBS:
        along = keypoints[a] - keypoints[b]
        length = np.hypot(*along)
        if not (present[a] and present[b]) or length == 0:
            continue
        normal = radius * np.array([-along[1], along[0]]) / length
        corners = np.stack(
            [
                keypoints[a] + normal,
                keypoints[a] - normal,
                keypoints[b] - normal,
                keypoints[b] + normal,
            ]
        )
        mask[polygon(corners[:, 0], corners[:, 1], shape=size)] = True
    for joint in keypoints[present]:
        mask[disk(tuple(joint), radius, shape=size)] = True
    return erosion(dilation(mask, _CLOSING), _CLOSING)
