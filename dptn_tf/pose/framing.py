"""Fit a photo's person into a data set's frame: a window with the frame's aspect around them.

The network and the PATN annotations live in one frame (`data.old_size`, 256x176 for
DeepFashion) that the person fills from head to foot. A photo of another shape or scale is cut
to a window of the frame's aspect around the person's keypoints, padded with its edge pixels
where the window passes the photo's border, and the keypoints follow into the window's pixels.
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
        return (slice(max(0, -self.top), min(self.height, height - self.top)),
                slice(max(0, -self.left), min(self.width, width - self.left)))


def person_window(keypoints, frame_size, margin: float = MARGIN) -> Window:
    """The smallest window of `frame_size`'s aspect holding the present joints plus `margin`
    times their extent on each side, centred on them."""
    keypoints = np.asarray(keypoints, np.float64)
    present = keypoints[np.all(keypoints != MISSING, axis=-1)]
    if len(present) < 2 or np.all(np.ptp(present, axis=0) == 0):
        raise ValueError(f"cannot frame a person from {len(present)} distinct joints; "
                         "at least two distinct joints are needed")
    low, high = present.min(axis=0), present.max(axis=0)
    extent = (high - low) + 2 * margin * (high - low).max()
    aspect = frame_size[0] / frame_size[1]
    height = max(extent[0], extent[1] * aspect)
    width = height / aspect
    centre = (low + high) / 2
    return Window(int(round(centre[0] - height / 2)), int(round(centre[1] - width / 2)),
                  max(1, int(round(height))), max(1, int(round(width))))
