"""Where the Pose Transformer Module looks: TTB cross-attention for chosen target points.

The PTM layer returns its own attention maps (`return_attention_scores=True`); this module only
runs the generator's parts to get them and turns the rows of chosen target positions into
source-image heatmaps. A target position attends over source positions at 1/8 resolution.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from dptn_tf.models import INPUT_NAMES, generator_parts


def cross_attention(generator: keras.Model, inputs: dict, block: int = -1) -> np.ndarray:
    """`[B, Ht*Wt, Hs*Ws]` cross-attention of one TTB (default: the last), averaged over heads."""
    parts = generator_parts(generator)
    if "pose_transformer" not in parts:
        raise ValueError(
            f"generator {generator.name!r} has no Pose Transformer Module "
            "(model.pose_transformer: false), so no attention to show"
        )
    x_s, p_s, p_t = (inputs[k] for k in INPUT_NAMES)
    f_ss = parts["shared_encoder"](tf.concat([x_s, p_s, p_s], -1), training=False)
    f_st = parts["shared_encoder"](tf.concat([x_s, p_s, p_t], -1), training=False)
    f_s = parts["source_encoder"](x_s, training=False)
    ptm = parts["pose_transformer"]
    if not ptm.texture_transfer_blocks:
        raise ValueError("this generator's PTM has no texture transfer block to visualise")
    _, scores = ptm(f_ss, f_st, f_s, return_attention_scores=True)
    name = ptm.texture_transfer_blocks[block].name
    return np.asarray(scores[f"{name}/cross_attention"]).mean(axis=1)


def point_attention(attention: np.ndarray, points, image_size) -> np.ndarray:
    """Source-image heatmaps `[P, H, W]` in [0, 1] for target points `[P, 2]` `(y, x)` in pixels.

    `attention` is one example's `[Ht*Wt, Hs*Ws]` map for an `image_size` input (both at H/8 x W/8).
    """
    height, width = image_size
    rows, cols = height // 8, width // 8
    points = np.asarray(points, np.int64).reshape(-1, 2)
    if np.any(points < 0) or np.any(points >= (height, width)):
        raise ValueError(
            f"points must lie inside the {height}x{width} image, got {points.tolist()}"
        )
    tokens = (points[:, 0] // 8) * cols + points[:, 1] // 8
    maps = attention[tokens].reshape(-1, rows, cols, 1)
    maps = maps / np.maximum(maps.max(axis=(1, 2, 3), keepdims=True), 1e-12)
    return tf.image.resize(maps, (height, width), method="bilinear").numpy()[..., 0]


def overlay(image: np.ndarray, heatmap: np.ndarray, color=(255, 0, 0), strength: float = 0.7):
    """Tint uint8 `image` towards `color` where `heatmap` (in [0, 1]) is high."""
    weight = np.clip(heatmap, 0, 1)[..., None] * strength
    blended = image.astype(np.float32) * (1 - weight) + np.float32(color) * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
