"""Fit a photo's person into a data set's frame: a window with the frame's aspect around them.

The network and the PATN annotations live in one frame (`data.old_size`, 256x176 for
DeepFashion) that the person fills from head to foot. A photo of another shape or scale is cut
to a window of the frame's aspect around the person's keypoints (kept inside the photo where it
fits, else padded with the photo's edge pixels), and the keypoints follow into its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dptn_tf.pose.skeleton import MISSING

MARGIN = 0.15  # room around the joints (head above the nose, feet below the ankles), per side


@dataclass(frozen=True)
class Window:
    """A rectangle of a photo in its pixels; it may reach past the photo's border."""

    top: int
    left: int
    height: int
    width: int

    def crop(self, image) -> np.ndarray:
        """uint8 `[height, width, 3]`: the window's pixels, the photo's edge repeated beyond it."""
        image = np.asarray(image)
        rows = np.clip(np.arange(self.top, self.top + self.height), 0, image.shape[0] - 1)
        cols = np.clip(np.arange(self.left, self.left + self.width), 0, image.shape[1] - 1)
        return image[rows[:, None], cols[None, :]]

    def keypoints_in(self, keypoints, size=None) -> np.ndarray:
        """Photo keypoints `[18, 2]` `(y, x)` -> the window's pixels, or those of the window
        resized to `size` `(H, W)`; missing joints stay -1."""
        keypoints = np.asarray(keypoints, np.float64)
        scale = np.ones(2) if size is None else np.asarray(size) / [self.height, self.width]
        moved = (keypoints - [self.top, self.left]) * scale
        return np.where(np.any(keypoints == MISSING, axis=-1, keepdims=True), MISSING, moved)

    def within(self, photo_size) -> tuple[slice, slice]:
        """The rows and columns of the window that are pixels of a photo of `photo_size`."""
        height, width = photo_size
        return (
            slice(max(0, -self.top), min(self.height, height - self.top)),
            slice(max(0, -self.left), min(self.width, width - self.left)),
        )


def person_window(keypoints, frame_size, photo_size=None, margin: float = MARGIN) -> Window:
    """The smallest window of `frame_size`'s aspect holding the present joints plus `margin`
    times their extent on each side, centred on them, then moved inside the photo of
    `photo_size` `(H, W)` (if given) along each axis where the photo is long enough."""
    keypoints = np.asarray(keypoints, np.float64)
    present = keypoints[np.all(keypoints != MISSING, axis=-1)]
    if len(present) < 2 or np.all(np.ptp(present, axis=0) == 0):
        raise ValueError(
            f"cannot frame a person from {len(present)} distinct joints; "
            "at least two distinct joints are needed"
        )
    low, high = present.min(axis=0), present.max(axis=0)
    extent = (high - low) + 2 * margin * (high - low).max()
    aspect = frame_size[0] / frame_size[1]
    size = np.array([max(extent[0], extent[1] * aspect)] * 2) / [1, aspect]
    size = np.maximum(np.round(size), 1).astype(np.int64)
    start = np.round((low + high) / 2 - size / 2).astype(np.int64)
    if photo_size is not None:
        room = np.asarray(photo_size) - size
        start = np.where(room >= 0, np.clip(start, 0, np.maximum(room, 0)), start)
    return Window(int(start[0]), int(start[1]), int(size[0]), int(size[1]))
