"""Writing synthetic people as a PATN data set (and the preview picture of docs/data.md)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from dptn_tf.data.patn import (
    annotation_path,
    ordered_pairs,
    pairs_path,
    write_annotations,
    write_pairs,
)
from dptn_tf.data.synthetic.people import sample_identity, sample_pose
from dptn_tf.data.synthetic.rendering import render_person
from dptn_tf.files.atomic import replace_directory
from dptn_tf.visualization import draw_skeleton, image_grid

# ---------------------------------------------------------------------------------------------
# Data sets.


def _identity_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """One stream per identity, so counts of other identities never change it."""
    return np.random.default_rng([seed, ("train", "test").index(split), index])


def _encode(image: np.ndarray, image_format: str) -> bytes:
    if image_format == "png":
        return tf.io.encode_png(image).numpy()
    return tf.io.encode_jpeg(image, quality=95, chroma_downsampling=False).numpy()


def make_synthetic_dataset(
    root,
    *,
    image_size=(128, 64),
    num_train_identities: int = 200,
    num_test_identities: int = 50,
    poses_per_identity: int = 8,
    train_pairs_per_identity: int | None = None,
    test_pairs_per_identity: int | None = 8,
    prefix: str = "synthetic",
    seed: int = 0,
    image_format: str = "jpg",
    overwrite: bool = False,
) -> Path:
    """Write a PATN-format root of synthetic people; returns its path.

    Train and test identities are disjoint (names `id<NNNNN>_<pose>`, test identities numbered
    after the train ones); pairs are ordered `(from, to)` pairs of one identity's images, all of
    them when `*_pairs_per_identity` is None. The same arguments always give the same bytes.
    The set is built in a temporary folder beside `root` and renamed into place at the end, so
    an interrupted run leaves no half-written data set.
    """
    if image_format not in ("jpg", "png"):
        raise ValueError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    if poses_per_identity < 2:
        raise ValueError(
            f"poses_per_identity must be at least 2 to make pairs, got {poses_per_identity}"
        )
    root = Path(root)
    if root.exists() and not overwrite:
        raise FileExistsError(f"{root} exists (pass overwrite=True to replace it)")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        splits = (
            ("train", range(num_train_identities), train_pairs_per_identity),
            ("test", range(num_test_identities), test_pairs_per_identity),
        )
        for split, identities, pairs_per_identity in splits:
            (tmp / split).mkdir()
            annotations, pairs = {}, []
            for index in identities:
                rng = _identity_rng(seed, split, index)
                ident = sample_identity(rng)
                number = index if split == "train" else num_train_identities + index
                names = []
                for p in range(poses_per_identity):
                    image, keypoints = render_person(ident, sample_pose(rng), image_size)
                    name = f"id{number:05d}_{p:03d}.{image_format}"
                    (tmp / split / name).write_bytes(_encode(image, image_format))
                    annotations[name] = keypoints
                    names.append(name)
                pairs += ordered_pairs(names, pairs_per_identity, rng)
            write_annotations(annotation_path(tmp, split, prefix), annotations)
            write_pairs(pairs_path(tmp, split, prefix), pairs)
        replace_directory(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def preview_grid(
    num_identities: int = 4, poses: int = 6, image_size=(128, 64), seed: int = 0
) -> np.ndarray:
    """A uint8 picture: one row per identity, each pose shown plain and with its skeleton."""
    cells = []
    for index in range(num_identities):
        rng = _identity_rng(seed, "train", index)
        ident = sample_identity(rng)
        for _ in range(poses):
            image, keypoints = render_person(ident, sample_pose(rng), image_size)
            cells += [image, draw_skeleton(keypoints, image_size, image, fade=0.6)]
    return image_grid(cells, columns=2 * poses)
