"""The PATN data-set format, read with up-front validation and written atomically.

A root (a local path, or a URL of any file system `tf.io.gfile` reads, such as `gs://`) holds
`train/` and `test/` image folders, `<prefix>-annotation-<split>.csv`
(':'-separated `name:keypoints_y:keypoints_x`, each a JSON list of 18 integers, -1 missing) and
`<prefix>-pairs-<split>.csv` (comma-separated `from,to`). DeepFashion's prefix is `fasion-resize`
(sic), Market-1501's `market`.

Everything a training run will touch is checked when the split is loaded, so a bad row or a broken
image stops the run before the first step, with a message naming the file, the line and what was
expected.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from dptn_tf.data.images import decode_rgb
from dptn_tf.files.atomic import write_atomically
from dptn_tf.files.text import TextEncodingError, read_utf8
from dptn_tf.pose import JOINT_NAMES, MISSING, NUM_JOINTS

SPLITS = ("train", "test")
ANNOTATION_COLUMNS = ("name", "keypoints_y", "keypoints_x")
PAIR_COLUMNS = ("from", "to")
# Pixels a keypoint may lie outside its frame (rounding at the frame's edge).
FRAME_MARGIN = 2


class DatasetError(ValueError):
    """A PATN root that does not match the format; the message names the culprit."""


def annotation_path(root, split: str, prefix: str) -> str:
    return tf.io.gfile.join(str(root), f"{prefix}-annotation-{split}.csv")


def pairs_path(root, split: str, prefix: str) -> str:
    return tf.io.gfile.join(str(root), f"{prefix}-pairs-{split}.csv")


def parse_keypoints(y_text: str, x_text: str, where: str = "keypoints") -> np.ndarray:
    """Two JSON lists of 18 integers -> int32 `[18, 2]` `(y, x)`; raises naming `where`."""
    columns = []
    for axis, text in (("keypoints_y", y_text), ("keypoints_x", x_text)):
        try:
            values = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            values = None
        valid = (
            isinstance(values, list)
            and len(values) == NUM_JOINTS
            and all(type(v) is int and v >= MISSING for v in values)
        )
        if not valid:
            raise DatasetError(
                f"{where}: {axis} must be a JSON list of {NUM_JOINTS} integers "
                f"(-1 for a missing joint), got {text!r}"
            )
        columns.append(values)
    return np.asarray(columns, np.int32).T


def format_keypoints(keypoints) -> tuple[str, str]:
    """int `[18, 2]` `(y, x)` -> the two JSON strings of an annotation row."""
    keypoints = np.asarray(keypoints)
    return json.dumps(keypoints[:, 0].tolist()), json.dumps(keypoints[:, 1].tolist())


def _read_rows(path: str, delimiter: str, columns: tuple[str, ...]):
    """Yield `(line number, row dict)` of a CSV whose header must name `columns`."""
    if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
        raise DatasetError(f"{path}: file not found")
    try:
        text = read_utf8(path)
    except TextEncodingError as error:
        raise DatasetError(str(error)) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None or not set(columns) <= set(h.strip() for h in header):
        raise DatasetError(
            f"{path}: line 1: expected a header with columns "
            f"{delimiter.join(columns)!r}, got {delimiter.join(header or [])!r}"
        )
    index = {h.strip(): i for i, h in enumerate(header)}
    for row in reader:
        if not row:
            continue
        line = reader.line_num
        if len(row) != len(header):
            raise DatasetError(
                f"{path}: line {line}: expected {len(header)} {delimiter!r}-separated "
                f"fields ({delimiter.join(header)}), got {len(row)}"
            )
        yield line, {c: row[index[c]].strip() for c in columns}


def require_in_frame(keypoints, frame, where: str) -> None:
    """Raise naming `where` and the joint if a present joint of `[18, 2]` `(y, x)` lies outside
    `frame` `(H, W)` by more than `FRAME_MARGIN` pixels: annotations made at another resolution
    would otherwise train on poses the images do not show."""
    limits = np.asarray(frame, np.float64) + FRAME_MARGIN
    for joint, point in enumerate(np.asarray(keypoints)):
        if np.any(point == MISSING):
            continue
        if np.any(point < -FRAME_MARGIN) or np.any(point > limits):
            raise DatasetError(
                f"{where}: joint {joint} ({JOINT_NAMES[joint]}) at (y, x) = "
                f"({point[0]}, {point[1]}) is outside the {frame[0]}x{frame[1]} frame "
                f"(data.old_size); were the keypoints annotated at another resolution?"
            )


def read_annotations(path, frame=None) -> dict[str, np.ndarray]:
    """Annotation CSV -> {image name: int32 [18, 2] (y, x)}, each row within `frame` `(H, W)`
    when it is given."""
    path = str(path)
    annotations: dict[str, np.ndarray] = {}
    for line, row in _read_rows(path, ":", ANNOTATION_COLUMNS):
        where = f"{path}: line {line} ({row['name']!r})"
        if row["name"] in annotations:
            raise DatasetError(f"{where}: image annotated twice")
        keypoints = parse_keypoints(row["keypoints_y"], row["keypoints_x"], where)
        if frame is not None:
            require_in_frame(keypoints, frame, where)
        annotations[row["name"]] = keypoints
    return annotations


def read_pairs(path) -> list[tuple[int, str, str]]:
    """Pairs CSV -> [(line number, from name, to name)]."""
    path = str(path)
    pairs = []
    for line, row in _read_rows(path, ",", PAIR_COLUMNS):
        if not row["from"] or not row["to"]:
            raise DatasetError(f"{path}: line {line}: expected two image names, got {row}")
        pairs.append((line, row["from"], row["to"]))
    return pairs


def write_annotations(path, annotations: dict) -> None:
    """{name: [18, 2] (y, x)} -> annotation CSV, through a temporary file."""
    lines = [":".join(ANNOTATION_COLUMNS)]
    lines += [":".join((name, *format_keypoints(kp))) for name, kp in annotations.items()]
    write_atomically(path, "\n".join(lines) + "\n")


def ordered_pairs(names, count: int | None, rng) -> list[tuple[str, str]]:
    """The ordered `(from, to)` pairs of one identity's images: all of them, or `count` drawn
    by `rng` without replacement (kept in their order)."""
    pairs = list(itertools.permutations(names, 2))
    if count is not None and count < len(pairs):
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), count, replace=False))]
    return pairs


def write_pairs(path, pairs) -> None:
    """[(from, to)] -> pairs CSV, through a temporary file."""
    lines = [",".join(PAIR_COLUMNS)] + [f"{a},{b}" for a, b in pairs]
    write_atomically(path, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class PatnSplit:
    """One validated split: every image a pair names exists, is annotated and (if checked) decodes.

    `keypoints[i]` belongs to `names[i]`; `pairs` holds `(from, to)` indices into `names`.
    """

    root: str
    split: str
    prefix: str
    image_dir: str
    names: tuple[str, ...]
    keypoints: np.ndarray  # int32 [num_images, 18, 2] (y, x)
    pairs: np.ndarray  # int64 [num_pairs, 2]

    @property
    def num_pairs(self) -> int:
        return len(self.pairs)

    def paths(self) -> list[str]:
        return [tf.io.gfile.join(self.image_dir, name) for name in self.names]

    def pair_names(self) -> list[tuple[str, str]]:
        return [(self.names[a], self.names[b]) for a, b in self.pairs]

    def subset(self, positions) -> PatnSplit:
        """The split restricted to the pairs at `positions` (indices into `pairs`), in order."""
        return dataclasses.replace(self, pairs=self.pairs[positions])

    def spread(self, count: int) -> PatnSplit:
        """`count` pairs (all, if fewer) evenly spaced over the split: several people, where
        the pairs CSV lists one person's pairs together, as PATN's and the synthetic ones do."""
        count = max(1, min(count, self.num_pairs))
        return self.subset(list(range(0, self.num_pairs, self.num_pairs // count))[:count])


def load_split(
    root, split: str, prefix: str, *, old_size=None, check_images: bool = True
) -> PatnSplit:
    """Read and validate one split of a PATN root.

    Args:
      root: the data-set folder.
      split: "train" or "test".
      prefix: file prefix of the CSVs ("fasion-resize", "market", "synthetic", ...).
      old_size: `(H, W)` of the frame the keypoints are annotated in: every keypoint must lie
        in it and, when `check_images`, every image must have that size; None accepts any.
      check_images: decode every image a pair names (in parallel, before training starts) and
        fail naming the first that does not decode or has the wrong size.
    """
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    root = str(root)
    image_dir = tf.io.gfile.join(root, split)
    if not tf.io.gfile.isdir(image_dir):
        raise DatasetError(f"{image_dir}: image folder not found (a PATN root has train/, test/)")
    annotations = read_annotations(annotation_path(root, split, prefix), old_size)
    pairs_file = pairs_path(root, split, prefix)
    rows = read_pairs(pairs_file)
    if not rows:
        raise DatasetError(f"{pairs_file}: empty split: no pairs after the header")

    files = set(tf.io.gfile.listdir(image_dir))
    index: dict[str, int] = {}
    pairs = []
    for line, *names in rows:
        for column, name in zip(PAIR_COLUMNS, names, strict=True):
            where = f"{pairs_file}: line {line}: {column!r} image {name!r}"
            if name not in annotations:
                raise DatasetError(f"{where} has no row in {annotation_path(root, split, prefix)}")
            if name not in files:
                raise DatasetError(f"{where}: no such file in {image_dir}")
            index.setdefault(name, len(index))
        pairs.append([index[n] for n in names])

    names = tuple(index)
    result = PatnSplit(
        root=root,
        split=split,
        prefix=prefix,
        image_dir=image_dir,
        names=names,
        keypoints=np.stack([annotations[n] for n in names]),
        pairs=np.asarray(pairs, np.int64),
    )
    if check_images:
        check_image_files(result.paths(), old_size)
    return result


def check_image_files(paths: list[str], size=None) -> None:
    """Decode each image (parallel tf.data) and raise naming the first broken or mis-sized one."""

    def shape(path):
        return path, tf.shape(decode_rgb(tf.io.read_file(path)))[:2]

    decoded = (
        tf.data.Dataset.from_tensor_slices(paths)
        .map(shape, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
    )
    shapes = {p.decode(): tuple(s.tolist()) for p, s in decoded.as_numpy_iterator()}
    for path in paths:
        if path not in shapes:
            raise DatasetError(f"{path}: cannot be decoded as an image (expected JPEG or PNG)")
        if size is not None and shapes[path] != tuple(size):
            raise DatasetError(
                f"{path}: image is {shapes[path][0]}x{shapes[path][1]}, expected "
                f"{size[0]}x{size[1]} (data.old_size, the frame its keypoints are annotated in)"
            )
