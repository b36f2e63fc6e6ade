"""Pictures for people: skeletons drawn from keypoints, image grids, [-1, 1] floats to uint8.

Used by the tools, the documentation's pictures and the TensorBoard image callback. Everything
here is numpy in, uint8 numpy out.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.draw import disk, line_aa

from dptn_tf.pose import JOINT_COLORS, LIMB_COLORS, LIMBS, MISSING

_LABEL_HEIGHT = 16  # pixels of an image grid's row of column labels; the text is 11 high


def to_uint8(images) -> np.ndarray:
    """Float images in [-1, 1] (any leading shape) -> uint8 in [0, 255]."""
    images = np.asarray(images, np.float32)
    return np.clip((images + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def draw_skeleton(
    keypoints, image_size, image=None, *, radius: int = 2, fade: float = 0.0
) -> np.ndarray:
    """Draw a COCO-18 skeleton with OpenPose colours.

    Args:
      keypoints: `[18, 2]` `(y, x)` pixels in `image_size` coordinates, -1 for missing (a limb
        is drawn only when both its joints are present).
      image_size: `(H, W)` of the result.
      image: optional uint8 `[H, W, 3]` to draw over (black when None).
      radius: joint disc radius in pixels.
      fade: blend the image this far towards white first, so the skeleton stands out.

    Returns:
      uint8 `[H, W, 3]`.
    """
    height, width = (int(s) for s in image_size)
    if image is None:
        canvas = np.zeros((height, width, 3), np.float32)
    else:
        canvas = np.asarray(image, np.float32).copy()
        if canvas.shape != (height, width, 3):
            raise ValueError(f"image has shape {canvas.shape}, expected {(height, width, 3)}")
        canvas += (255.0 - canvas) * fade
    points = np.asarray(keypoints).astype(np.int64)
    present = np.all(points != MISSING, axis=-1)

    for (a, b), color in zip(LIMBS, LIMB_COLORS, strict=True):
        if not (present[a] and present[b]):
            continue
        rows, cols, value = line_aa(*points[a], *points[b])
        keep = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        rows, cols, value = rows[keep], cols[keep], value[keep, None]
        canvas[rows, cols] = canvas[rows, cols] * (1 - value) + np.float32(color) * value
    for joint in np.flatnonzero(present):
        rows, cols = disk(tuple(points[joint]), radius, shape=(height, width))
        canvas[rows, cols] = JOINT_COLORS[joint]
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def image_grid(
    images, columns: int, *, padding: int = 2, background: int = 255, labels=None, scale: int = 1
) -> np.ndarray:
    """Tile same-sized uint8 `[H, W, 3]` images row by row into one uint8 picture.

    `scale` enlarges every image that many times (nearest neighbour: pixels stay sharp), so a
    128x64 picture is readable on a screen; `labels` (one per column) go in a row of text on top.
    """
    images = [np.asarray(image) for image in images]
    if not images:
        raise ValueError("image_grid needs at least one image")
    height, width = images[0].shape[:2]
    for i, image in enumerate(images):
        if image.shape != (height, width, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"image {i}: expected uint8 {(height, width, 3)}, got {image.dtype} {image.shape}"
            )
    if labels is not None and len(labels) != columns:
        raise ValueError(f"image_grid: {len(labels)} labels for {columns} columns")
    if scale != 1:
        images = [image.repeat(scale, axis=0).repeat(scale, axis=1) for image in images]
        height, width = height * scale, width * scale
    header = _LABEL_HEIGHT if labels is not None else 0
    rows = -(-len(images) // columns)
    grid = np.full(
        (header + rows * (height + padding) + padding, columns * (width + padding) + padding, 3),
        background,
        np.uint8,
    )
    for i, image in enumerate(images):
        top = header + padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    if labels is not None:
        picture = Image.fromarray(grid)
        draw = ImageDraw.Draw(picture)
        font = ImageFont.load_default(size=_LABEL_HEIGHT - 5)
        for column, label in enumerate(labels):
            centre = padding + column * (width + padding) + width / 2
            draw.text(
                (centre, _LABEL_HEIGHT / 2 + 1), label, fill=(0, 0, 0), font=font, anchor="mm"
            )
        grid = np.asarray(picture)
    return grid
