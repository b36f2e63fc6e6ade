"""Every person of a frame: a detector fit for small, distant people, then BlazePose per crop.

BlazePose's own detector sees the whole frame letterboxed into 224 pixels, where the pedestrians
of a street camera are 30-40 pixels tall: on frame 397 of `vtest.avi` its best score is 0.17, and
it only ever gives one person. OpenCV's HOG people detector (Dalal and Triggs' 64x128 window,
over an image pyramid) finds each walker there in 0.1 s. Each of its boxes is cut out as a
square `CROP_SCALE` times the box's height around it, and BlazePose (detector and landmark
model) runs on that crop, where the person fills the picture: 16 to 18 of the 18 joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dptn_tf.data.footage.sources import import_opencv
from dptn_tf.data.footage.tracking import covered_share
from dptn_tf.pose import MISSING, BlazePose, NoPersonFound, Window

CROP_SCALE = 1.3  # the square BlazePose sees, in box heights (1.2-2.0 all give 16-18 joints)
MIN_DETECTOR_SCORE = 0.3  # HOG's SVM margin; vtest's walkers score 0.8-5, its false boxes < 0.5
HOG_STRIDE = (8, 8)
HOG_SCALE = 1.05
MAX_SHARE = 0.5  # a box covered this much by a better-scoring one is the same person again
# The clothes: the torso (shoulders to hips) and the legs (hips to knees), each its own histogram.
CLOTHES = (((2, 5), (8, 11)), ((8, 11), (9, 12)))


@dataclass(frozen=True)
class Person:
    """One person in one frame: the detector's box `(top, left, height, width)` in frame pixels,
    its score, the COCO-18 keypoints `[18, 2]` `(y, x)` in frame pixels (-1 missing; None where
    BlazePose found no pose in the box), and the colours of the box's middle (`colors`), which
    tell people apart when their boxes meet."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray | None
    colors: np.ndarray | None = None

    def to_json(self) -> dict:
        def listed(array, digits):
            return None if array is None else np.round(array, digits).tolist()

        return {
            "box": [round(v, 2) for v in self.box],
            "score": round(self.score, 4),
            "keypoints": listed(self.keypoints, 2),
            "colors": listed(self.colors, 4),
        }

    @classmethod
    def from_json(cls, data: dict) -> Person:
        def array(value):
            return None if value is None else np.asarray(value, np.float64)

        return cls(
            tuple(data["box"]), float(data["score"]), array(data["keypoints"]),
            array(data.get("colors")),
        )  # fmt: skip


class PeopleFinder:
    """HOG boxes, then BlazePose in each; loaded once for every frame of every input."""

    def __init__(self, weights_dir=None, runtime: str = "auto", min_score=MIN_DETECTOR_SCORE):
        cv2 = import_opencv()
        if not hasattr(cv2, "HOGDescriptor"):
            raise ImportError(
                f"OpenCV {cv2.__version__} has no HOGDescriptor (OpenCV 5 moved it out of the "
                'main module): pip install "opencv-python-headless<5"'
            )
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.pose = BlazePose(weights_dir, runtime)
        self.min_score = min_score

    def in_frame(self, frame: np.ndarray) -> list[Person]:
        """Every person HOG finds in a uint8 RGB frame, with BlazePose's keypoints."""
        boxes, scores = self.hog.detectMultiScale(
            np.ascontiguousarray(frame[..., ::-1]), winStride=HOG_STRIDE, padding=(8, 8),
            scale=HOG_SCALE,
        )  # fmt: skip
        found = sorted(
            ((float(score), (float(top), float(left), float(height), float(width)))
             for (left, top, width, height), score in zip(boxes, np.ravel(scores))
             if score >= self.min_score),
            reverse=True,
        )  # fmt: skip
        people: list[Person] = []
        for score, box in found:  # best first; a box mostly inside a better one is dropped
            if all(covered_share(box, p.box) <= MAX_SHARE for p in people):
                keypoints = self._keypoints_in_box(frame, box)
                people.append(Person(box, score, keypoints, self._colors(frame, box, keypoints)))
        return people

    def in_photo(self, photo: np.ndarray, name: str) -> list[Person]:
        """The one person of a photo a person took of someone (BlazePose on the whole photo)."""
        try:
            keypoints = self.pose.keypoints(photo, name=name)
        except NoPersonFound:
            return []
        present = keypoints[np.all(keypoints != MISSING, axis=-1)]
        if not len(present):  # a person, but no joint visible enough: the no_pose filter's
            return [Person((0.0, 0.0, *map(float, photo.shape[:2])), 1.0, None)]
        low, high = present.min(axis=0), present.max(axis=0)
        return [Person((*map(float, low), *map(float, high - low)), 1.0, keypoints)]

    def _colors(self, frame, box, keypoints) -> np.ndarray | None:
        """The median CIELAB colour `[L, a, b, L, a, b]` of the torso and of the thighs, as the
        keypoints place them (else the box's upper and lower middle): the clothes, which tell
        people apart where their boxes meet (medians, so that background at the edges does not
        count)."""
        cv2 = import_opencv()
        top, left, height, width = box
        regions = [
            (top + 0.2 * height, top + 0.5 * height, left + 0.3 * width, left + 0.7 * width),
            (top + 0.5 * height, top + 0.75 * height, left + 0.3 * width, left + 0.7 * width),
        ]
        if keypoints is not None:
            for part, (upper, lower) in enumerate(CLOTHES):
                joints = keypoints[list(upper + lower)]
                if np.all(joints != MISSING):
                    (y0, x0), (y1, x1) = joints.min(axis=0), joints.max(axis=0)
                    regions[part] = (y0, y1, x0, x1)
        colors = []
        for y0, y1, x0, x1 in regions:
            rows = slice(max(0, round(y0)), max(round(y0) + 1, round(y1)))
            cols = slice(max(0, round(x0)), max(round(x0) + 1, round(x1)))
            pixels = np.ascontiguousarray(frame[rows, cols]).astype(np.float32) / 255.0
            if not pixels.size:
                return None
            lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab).reshape(-1, 3)
            colors.append(np.median(lab, axis=0))
        return np.concatenate(colors)

    def _keypoints_in_box(self, frame, box) -> np.ndarray | None:
        top, left, height, width = box
        side = round(CROP_SCALE * height)
        window = Window(
            round(top + height / 2 - side / 2), round(left + width / 2 - side / 2), side, side
        )
        try:
            keypoints = self.pose.keypoints(np.ascontiguousarray(window.crop(frame)))
        except NoPersonFound:
            return None
        missing = np.all(keypoints == MISSING, axis=-1, keepdims=True)
        keypoints = np.where(missing, MISSING, keypoints + [window.top, window.left])
        outside = np.any((keypoints < 0) | (keypoints > np.subtract(frame.shape[:2], 1)), axis=-1)
        keypoints[outside] = MISSING
        return keypoints
