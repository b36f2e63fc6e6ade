"""Fréchet Inception Distance as DPTN's metrics script computes it.

Each folder's images are read in name order, resized bilinearly to 299 x 299 one by one and fed
to InceptionV3 in batches of 64; as in the script, the images of an incomplete last batch are left
out (a folder of fewer than 64 images is one batch). The pool3 features give a mean and covariance
per folder, and the distance between the two Gaussians is the FID. The real set's statistics are
cached in an `.npz` whose name hashes the folder, its files and the weights, so a changed folder
or other weights never reuse a stale cache.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy import linalg

from dptn_tf.data.images import decode_rgb
from dptn_tf.files.atomic import atomic_path
from dptn_tf.metrics.images import list_images
from dptn_tf.metrics.inception import FEATURES, INPUT_SIZE

BATCH_SIZE = 64
DEFAULT_CACHE_DIR = Path("~/.keras/dptn_tf/fid_stats")


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), in float64.

    A nearly singular product (fewer samples than dimensions) can make the square root
    non-finite; then `eps` is added to both diagonals, as the standard implementations do.
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(
            f"statistics do not match: means {mu1.shape} and {mu2.shape}, "
            f"covariances {sigma1.shape} and {sigma2.shape}"
        )
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(
            f"FID: singular covariance product; adding {eps} to the diagonals", stacklevel=2
        )
        offset = np.eye(len(mu1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"FID: matrix square root has imaginary parts up to {np.abs(covmean.imag).max()}"
            )
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


@dataclass(frozen=True)
class Statistics:
    """Mean and covariance of one image set's features, and how many images they came from."""

    mu: np.ndarray
    sigma: np.ndarray
    num_images: int

    @classmethod
    def of(cls, features: np.ndarray, what: str) -> Statistics:
        features = np.asarray(features, np.float64)
        count, dims = features.shape
        if count < 2:
            raise ValueError(f"FID of {what}: needs at least 2 images, got {count}")
        if count < dims:
            warnings.warn(
                f"FID of {what}: {count} images for {dims} features; the covariance is singular "
                "and the FID is biased (the paper's figures use thousands of images)",
                stacklevel=3,
            )
        return cls(features.mean(axis=0), np.cov(features, rowvar=False), count)


def images_used(count: int, batch_size: int = BATCH_SIZE) -> int:
    """How many images the official batching reads: full batches only, or all if under one batch."""
    return count if count < batch_size else count // batch_size * batch_size


def _inception_input(path: tf.Tensor) -> tf.Tensor:
    """[0, 1] image at 299 x 299, bilinear with half-pixel centres (torch's align_corners=False)."""
    image = tf.cast(decode_rgb(tf.io.read_file(path)), tf.float32) / 255.0
    return tf.image.resize(image, (INPUT_SIZE, INPUT_SIZE), method="bilinear")


def inception_features(
    model: keras.Model, files: list, batch_size: int = BATCH_SIZE, verbose: bool = True
) -> np.ndarray:
    """Pool3 features of `files` in order, for the `images_used` first of them."""
    count = images_used(len(files), batch_size)
    batch = min(batch_size, len(files))
    dataset = (
        tf.data.Dataset.from_tensor_slices([str(f) for f in files[:count]])
        .map(_inception_input, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch)
        .prefetch(tf.data.AUTOTUNE)
    )
    progress = keras.utils.Progbar(count, unit_name="image", verbose=int(verbose))
    features = []
    for images in dataset:
        features.append(model.predict_on_batch(images))
        progress.add(len(images))
    return np.concatenate(features).reshape(count, FEATURES)


def folder_statistics(
    model: keras.Model,
    folder: str | Path,
    batch_size: int = BATCH_SIZE,
    verbose: bool = True,
) -> Statistics:
    """Statistics of the images of `folder` (not cached: for generated sets)."""
    return Statistics.of(
        inception_features(model, list_images(folder), batch_size, verbose), str(folder)
    )


def _cache_file(
    folder: Path,
    files: list[Path],
    weights_file: str | Path,
    model_name: str,
    batch_size: int,
    cache_dir: Path,
) -> Path:
    key = {
        "folder": str(folder.resolve()),
        "files": [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files],
        "weights": (Path(weights_file).name, Path(weights_file).stat().st_size),
        "model": model_name,
        "batch_size": batch_size,
    }
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
    return cache_dir / f"{folder.resolve().name}-{model_name}-{digest}.npz"


def cached_folder_statistics(
    model: keras.Model,
    folder: str | Path,
    weights_file: str | Path,
    cache_dir: str | Path | None = None,
    batch_size: int = BATCH_SIZE,
    verbose: bool = True,
) -> tuple[Statistics, Path]:
    """Statistics of a real image folder, read from / written to the `.npz` cache (atomically)."""
    folder = Path(folder)
    files = list_images(folder)
    cache_dir = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser()
    cache = _cache_file(folder, files, weights_file, model.name, batch_size, cache_dir)
    if cache.is_file():
        with np.load(cache) as stored:
            return Statistics(stored["mu"], stored["sigma"], int(stored["num_images"])), cache
    stats = Statistics.of(inception_features(model, files, batch_size, verbose), str(folder))
    with atomic_path(cache) as tmp:
        np.savez(tmp, mu=stats.mu, sigma=stats.sigma, num_images=stats.num_images)
    return stats, cache
