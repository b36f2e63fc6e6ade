"""The one function that turns keypoints into heatmaps (and the rescale it centres them on).

The data pipeline, the export's serving signature and every tool call `keypoints_to_heatmaps`,
so the network always sees poses rendered by the same arithmetic as the official code
(`docs/design.md`, "Pose heatmaps").
"""

from __future__ import annotations

import tensorflow as tf

from dptn_tf.pose.skeleton import MISSING


def scale_keypoints(keypoints, old_size, load_size, dtype=tf.float64) -> tf.Tensor:
    """Keypoints annotated at `old_size` -> int32 pixels at `load_size`, missing joints -1.

    `(int(y / old_H * H), int(x / old_W * W))`: the rescale and truncation of the reference,
    in float64 as it computes them (`dtype`: see `keypoints_to_heatmaps`). Heatmaps are centred
    here, and skeletons drawn over `load_size` images should be too. Shapes and `old_size` as in
    `keypoints_to_heatmaps`.
    """
    height, width = (int(s) for s in load_size)
    keypoints = tf.cast(tf.convert_to_tensor(keypoints), dtype)
    old_size = tf.cast(tf.convert_to_tensor(old_size), dtype)[..., tf.newaxis, :]
    scaled = tf.cast(keypoints / old_size * tf.constant([height, width], dtype), tf.int32)
    missing = tf.reduce_any(tf.equal(keypoints, MISSING), axis=-1, keepdims=True)
    return tf.where(missing, tf.constant(MISSING, tf.int32), scaled)  # the cast truncates


def keypoints_to_heatmaps(
    keypoints, old_size, load_size, sigma: float = 6.0, dtype=tf.float64
) -> tf.Tensor:
    """Render keypoints as one Gaussian heatmap channel per joint.

    Args:
      keypoints: float `[..., 18, 2]` `(y, x)` in `old_size` pixel coordinates; a joint with
        either coordinate equal to -1 is missing and gives an all-zero channel.
      old_size: `(H, W)` of the frame the keypoints were annotated in: a python pair, or a
        tensor of shape `[2]` or `[..., 2]` (one size per batch element, as in the serving
        graph, where it is the decoded source image's size).
      load_size: python `(H, W)` of the maps.
      sigma: Gaussian standard deviation in pixels of `load_size`.
      dtype: the arithmetic: float64, the reference's; float32 only for a runtime without
        float64 kernels (LiteRT), where a value may differ by a float32 rounding and a centre
        by one pixel when the rescaled coordinate lies within that rounding of an integer.

    Returns:
      float32 `[..., H, W, 18]`.

    Each joint is centred at `scale_keypoints`. The Gaussian is separable, so it is the product
    of one row profile and one column profile per joint, far cheaper than H*W*18 exponentials.
    """
    height, width = (int(s) for s in load_size)
    keypoints = tf.convert_to_tensor(keypoints)
    present = tf.reduce_all(tf.not_equal(keypoints, MISSING), axis=-1)  # [..., 18]
    centre = tf.cast(scale_keypoints(keypoints, old_size, load_size, dtype), dtype)

    def profile(coordinate, length):  # [..., 18] -> [..., length, 18]
        offsets = tf.range(length, dtype=dtype)[:, tf.newaxis] - coordinate[..., tf.newaxis, :]
        return tf.cast(tf.exp(-tf.square(offsets) / (2.0 * sigma**2)), tf.float32)

    rows = profile(centre[..., 0], height)[..., :, tf.newaxis, :]
    cols = profile(centre[..., 1], width) * tf.cast(present, tf.float32)[..., tf.newaxis, :]
    return rows * cols[..., tf.newaxis, :, :]
