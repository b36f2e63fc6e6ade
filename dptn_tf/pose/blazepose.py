"""BlazePose, MediaPipe's single-person pose model, on TF Lite: a photo -> 18 COCO-18 keypoints.

The pipeline is MediaPipe's for a still image (`pose_landmark_cpu.pbtxt`, static mode), written
in numpy so that no MediaPipe install is needed (its wheel cannot live beside TensorFlow 2.21):

1. the person detector sees the whole photo letterboxed into 224x224 and gives, for its most
   confident person, the mid-hip centre and a point whose distance and direction from it encode
   the body's size and rotation (weighted non-maximum suppression merges the overlapping boxes);
2. the landmark model sees a 256x256 crop of the photo rotated upright around that centre and
   gives 33 landmarks with a visibility each (refined on its heatmaps);
3. the landmarks are projected back into the photo, and the 33 are mapped to OpenPose's COCO-18.

The models run on `ai-edge-litert` when it is installed, else on TensorFlow's `tf.lite`. Their
files (`pose_detection.tflite`, `pose_landmark_full.tflite`, Apache-2.0) are found like every
weight file (`dptn_tf.files.weight_files`) and checked against their SHA-256.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from dptn_tf.console import stderr_silenced, wants_quiet
from dptn_tf.files import weight_files
from dptn_tf.pose.skeleton import MISSING, NUM_JOINTS, NoPersonFound

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
MIN_DETECTION_SCORE = 0.5  # MediaPipe Pose's min_detection_confidence
MIN_PRESENCE = 0.5  # ... and its min_tracking_confidence, the landmark model's "pose present"
NMS_MIN_IOU = 0.3
ROI_SCALE = 1.25  # the detector's body box is enlarged this much before the landmark crop
HEATMAP_KERNEL = 7
MIN_HEATMAP_CONFIDENCE = 0.5
NUM_LANDMARKS = 33
VISIBILITY_THRESHOLD = 0.5

# COCO-18 joint i is BlazePose landmark COCO18_FROM_BLAZEPOSE[i]; a pair means their midpoint.
# OpenPose's order: nose, neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist, right
# hip/knee/ankle, left hip/knee/ankle, right eye, left eye, right ear, left ear, each side being
# the person's own (BlazePose's 2 is the left eye, 5 the right; 7 the left ear, 8 the right).
COCO18_FROM_BLAZEPOSE = (0, (11, 12), 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8,
                         7)  # fmt: skip


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def blazepose_to_coco18(landmarks, visibility, threshold: float = VISIBILITY_THRESHOLD):
    """33 BlazePose landmarks `[33, 2]` with their visibility `[33]` -> float `[18, 2]`.

    A joint whose visibility is below `threshold` is -1 (missing); the neck, the midpoint of the
    shoulders, is present when both shoulders are.
    """
    landmarks = np.asarray(landmarks, np.float64)
    visibility = np.asarray(visibility, np.float64)
    keypoints = np.full((NUM_JOINTS, 2), float(MISSING))
    for joint, source in enumerate(COCO18_FROM_BLAZEPOSE):
        source = list(np.atleast_1d(source))
        if visibility[source].min() >= threshold:
            keypoints[joint] = landmarks[source].mean(axis=0)
    return keypoints


def _detector_anchors() -> np.ndarray:
    """The detector's 2,254 SSD anchor centres `(y, x)` in [0, 1] (MediaPipe's SsdAnchors options:
    strides 8, 16, 32, 32, 32 at 224 pixels, two anchors per layer, fixed size 1)."""
    anchors = []
    for stride, layers in ((8, 1), (16, 1), (32, 3)):
        cells = math.ceil(DETECTOR_SIZE / stride)
        centres = (np.arange(cells) + 0.5) / cells
        y, x = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([y, x], axis=-1).reshape(-1, 1, 2)
        anchors.append(np.repeat(grid, 2 * layers, axis=1).reshape(-1, 2))
    return np.concatenate(anchors)


@dataclass(frozen=True)
class RotatedRect:
    """A rectangle of the photo in pixels (centre, size, clockwise rotation in radians).

    Its own coordinates run over [0, 1] x [0, 1]; `to_photo` maps them into the photo, and `crop`
    samples it into a square tensor the way MediaPipe's ImageToTensor does with OpenCV (output
    pixel i is the rectangle's coordinate i / size; bilinear at 1/32 pixel, rounded to uint8).
    """

    center_y: float
    center_x: float
    height: float
    width: float
    rotation: float = 0.0

    def to_photo(self, points) -> np.ndarray:
        """`[..., 2]` `(y, x)` in the rectangle's [0, 1] coordinates -> photo pixels."""
        points = np.asarray(points, np.float64)
        u = (points[..., 1] - 0.5) * self.width
        v = (points[..., 0] - 0.5) * self.height
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        return np.stack(
            [self.center_y + sin * u + cos * v, self.center_x + cos * u - sin * v], axis=-1
        )

    def crop(self, image: np.ndarray, size: int, replicate_border: bool) -> np.ndarray:
        """float32 `[size, size, 3]` in [0, 1] of uint8 `image`; outside the photo its edge
        pixels are repeated (`replicate_border`) or it is black."""
        steps = np.arange(size) / size
        grid = np.stack(np.meshgrid(steps, steps, indexing="ij"), axis=-1)
        y, x = np.moveaxis((np.round(self.to_photo(grid) * 32) / 32).astype(np.float32), -1, 0)
        height, width = image.shape[:2]
        wy, wx = (y - np.floor(y))[..., None], (x - np.floor(x))[..., None]
        y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
        flat = image.reshape(-1, 3)

        def tap(rows, cols):
            values = flat[np.clip(rows, 0, height - 1) * width + np.clip(cols, 0, width - 1)]
            values = values.astype(np.float32)
            if not replicate_border:
                values *= ((rows >= 0) & (rows < height) & (cols >= 0) & (cols < width))[..., None]
            return values

        top = tap(y0, x0) * (1 - wx) + tap(y0, x0 + 1) * wx
        bottom = tap(y0 + 1, x0) * (1 - wx) + tap(y0 + 1, x0 + 1) * wx
        return np.round(top * (1 - wy) + bottom * wy) / np.float32(255.0)


def _load_interpreter(path, runtime: str, num_threads: int | None):
    """A TF Lite interpreter of `path`, ready to run: ai-edge-litert's if `runtime` allows it."""
    if runtime not in ("auto", "litert", "tflite"):
        raise ValueError(f"runtime: expected 'auto', 'litert' or 'tflite', got {runtime!r}")
    interpreter_class = None
    if runtime != "tflite":
        try:
            from ai_edge_litert.interpreter import Interpreter as interpreter_class
        except ImportError:
            if runtime == "litert":
                raise ImportError(
                    "runtime 'litert' needs ai-edge-litert: pip install -e \".[keypoints]\""
                ) from None
    if interpreter_class is None:
        import tensorflow as tf

        interpreter_class = tf.lite.Interpreter
    # The interpreter's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to
    # file descriptor 2 as it is made ready; a quiet command (dptn_tf.console) hides it.
    with stderr_silenced(wants_quiet()):
        interpreter = interpreter_class(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    return interpreter


class _Model:
    """One TF Lite model: float32 image in, its outputs as a list of arrays without the batch."""

    def __init__(self, file: weight_files.WeightFile, folder, runtime: str, num_threads):
        path = weight_files.find_weight_file(file, folder)
        self.path = weight_files.check_weight_file(file, path)
        self.interpreter = _load_interpreter(self.path, runtime, num_threads)
        self.runtime = type(self.interpreter).__module__.split(".")[0]
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = [d["index"] for d in self.interpreter.get_output_details()]

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        self.interpreter.set_tensor(self.input, tensor[np.newaxis].astype(np.float32))
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(i)[0] for i in self.outputs]


def _by_shape(outputs, *shapes):
    """The outputs picked by their shape (the models' output order is not documented)."""
    picked = []
    for shape in shapes:
        matches = [o for o in outputs if o.shape == shape]
        if len(matches) != 1:
            raise ValueError(
                f"expected one model output of shape {shape}, got {[o.shape for o in outputs]}"
            )
        picked.append(matches[0])
    return picked


def _iou(box, boxes):
    """Intersection over union of one `(ymin, xmin, ymax, xmax)` box with each of `boxes`."""
    low, high = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    intersection = np.prod(np.clip(high - low, 0, None), axis=-1)

    def area(b):
        return np.prod(b[..., 2:] - b[..., :2], axis=-1)

    return intersection / np.maximum(area(box) + area(boxes) - intersection, 1e-12)


class BlazePose:
    """The person detector and the landmark model, loaded once, for any number of photos.

    Args:
      weights_dir: where the two `.tflite` files are (default: `$DPTN_WEIGHTS_DIR`, else
        `~/.keras/dptn_tf/`); `python tools/fetch_pose_models.py` puts them there.
      runtime: 'auto' (ai-edge-litert if installed, else tf.lite), 'litert' or 'tflite'.
      num_threads: TF Lite's CPU threads (default: its own choice).
    """

    def __init__(
        self,
        weights_dir: str | os.PathLike | None = None,
        runtime: str = "auto",
        num_threads: int | None = None,
    ):
        self.detector = _Model(weight_files.BLAZEPOSE_DETECTOR, weights_dir, runtime, num_threads)
        self.landmark_model = _Model(
            weight_files.BLAZEPOSE_LANDMARKS, weights_dir, runtime, num_threads
        )
        self.runtime = self.detector.runtime
        self._anchors = _detector_anchors()

    def body_region(self, image: np.ndarray, name: str = "photo") -> RotatedRect:
        """The rotated square around the most confident person, as the landmark model wants it."""
        height, width = image.shape[:2]
        side = max(height, width)
        letterbox = RotatedRect(height / 2, width / 2, side, side)  # the photo, padded square
        tensor = letterbox.crop(image, DETECTOR_SIZE, replicate_border=False) * 2.0 - 1.0
        raw, scores = _by_shape(
            self.detector(tensor), (len(self._anchors), 12), (len(self._anchors), 1)
        )
        scores = _sigmoid(np.clip(scores[:, 0], -100, 100))
        best = int(np.argmax(scores))
        if scores[best] < MIN_DETECTION_SCORE:
            raise NoPersonFound(
                f"{name}: no person found (the detector's best score is "
                f"{scores[best]:.2f}, below {MIN_DETECTION_SCORE})"
            )
        # Offsets come as (x, y) pairs in tensor pixels: box centre, box size, then 4 keypoints.
        offsets = raw.reshape(-1, 6, 2)[..., ::-1] / DETECTOR_SIZE
        centres = offsets[:, 0] + self._anchors
        boxes = np.concatenate([centres - offsets[:, 1] / 2, centres + offsets[:, 1] / 2], axis=-1)
        keypoints = offsets[:, 2:] + self._anchors[:, None]
        # Weighted non-maximum suppression, first cluster only: the confident boxes overlapping
        # the best one vote for its keypoints in proportion to their scores.
        votes = (scores >= MIN_DETECTION_SCORE) & (_iou(boxes[best], boxes) > NMS_MIN_IOU)
        weights = scores[votes] / scores[votes].sum()
        hip, scale = letterbox.to_photo(np.tensordot(weights, keypoints[votes], axes=1)[:2])
        (dy, dx) = scale - hip
        size = 2.0 * math.hypot(dy, dx) * ROI_SCALE
        rotation = math.pi / 2 - math.atan2(-dy, dx)
        rotation -= 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))
        return RotatedRect(hip[0], hip[1], size, size, rotation)

    def landmarks(self, image: np.ndarray, name: str = "photo"):
        """uint8 RGB `[H, W, 3]` -> (33 landmarks `(y, x)` in photo pixels, their visibility).

        Raises `NoPersonFound`, its message starting with `name`, when the detector or the
        landmark model finds nobody.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8 or not image.size:
            raise ValueError(
                f"{name}: expected a uint8 RGB image [H, W, 3], got {image.dtype} {image.shape}"
            )
        region = self.body_region(image, name)
        crop = region.crop(image, LANDMARK_SIZE, replicate_border=True)
        raw, presence, heatmap = _by_shape(self.landmark_model(crop), (195,), (1,), (64, 64, 39))
        if presence[0] < MIN_PRESENCE:
            raise NoPersonFound(
                f"{name}: no person found (the landmark model's presence "
                f"score is {presence[0]:.2f}, below {MIN_PRESENCE})"
            )
        raw = raw.reshape(-1, 5)  # x, y, z, visibility, presence per landmark, in crop pixels
        points = _refine_on_heatmap(raw[:, 1::-1] / LANDMARK_SIZE, heatmap)
        return region.to_photo(points[:NUM_LANDMARKS]), _sigmoid(raw[:NUM_LANDMARKS, 3])

    def keypoints(
        self,
        image: np.ndarray,
        visibility_threshold: float = VISIBILITY_THRESHOLD,
        name: str = "photo",
    ):
        """uint8 RGB `[H, W, 3]` -> float `[18, 2]` COCO-18 `(y, x)` in its pixels, -1 missing.

        A joint is missing when its visibility is below `visibility_threshold` or it lies
        outside the photo.
        """
        keypoints = blazepose_to_coco18(*self.landmarks(image, name), visibility_threshold)
        height, width = np.asarray(image).shape[:2]
        outside = np.any((keypoints < 0) | (keypoints > [height - 1, width - 1]), axis=-1)
        keypoints[outside] = MISSING
        return keypoints


def _refine_on_heatmap(points, heatmap):
    """Move each point `(y, x)` in [0, 1] to the sigmoid-weighted mean of the 7x7 heatmap cells
    around it, where the strongest of them reaches MIN_HEATMAP_CONFIDENCE (MediaPipe's
    RefineLandmarksFromHeatmap); points off the heatmap stay where they are."""
    cells = np.asarray(heatmap.shape[:2])
    refined = np.array(points, np.float64)
    half = HEATMAP_KERNEL // 2
    for index, point in enumerate(points):
        centre = (point * cells).astype(np.int64)  # truncation, as the reference's int cast
        if np.any(centre < 0) or np.any(centre >= cells):
            continue
        low, high = np.maximum(centre - half, 0), np.minimum(centre + half + 1, cells)
        confidence = _sigmoid(heatmap[low[0] : high[0], low[1] : high[1], index])
        if confidence.max() >= MIN_HEATMAP_CONFIDENCE:
            rows, cols = np.mgrid[low[0] : high[0], low[1] : high[1]]
            refined[index] = np.array([(rows * confidence).sum(), (cols * confidence).sum()])
            refined[index] /= confidence.sum() * cells
    return refined
