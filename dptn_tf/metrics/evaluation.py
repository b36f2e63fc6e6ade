"""The paper's evaluation of a folder of generated test images, as DPTN's metrics script runs it.

- Pairs: every `<from>_2_<to>_vis.jpg` against the ground truth `<to>.jpg`.
- SSIM, ssim_256, PSNR, L1, MAE per pair on [0, 1] images; for DeepFashion both images are first
  padded with white to 256 x 256.
- LPIPS per pair on the unpadded images in [-1, 1]; for Market-1501, given the test annotations,
  also the masked LPIPS (body only), over full batches of 64 as the script averages it.
- FID of the generated folder against the real (training) folder.
Per-pair values are averaged; their variances are reported too, as the script does.

Each metric is computed when its weight files are present (the pixel metrics need none); the
missing files are all listed at once, with where to get them, and their metrics left out.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from dptn_tf.data import read_rgb
from dptn_tf.data.patn import read_annotations
from dptn_tf.files import weight_files
from dptn_tf.metrics import fid, image_quality
from dptn_tf.metrics.body_mask import body_mask
from dptn_tf.metrics.images import pair_with_ground_truth
from dptn_tf.metrics.inception import VARIANTS, load_inception_v3
from dptn_tf.metrics.lpips import load_lpips

DATASETS = ("fashion", "market")
# Table 1 of the paper.
PAPER_RESULTS = {
    "fashion": {"ssim": 0.7782, "psnr": 19.1492, "fid": 11.4664, "lpips": 0.1957},
    "market": {"ssim": 0.2854, "psnr": 14.5207, "fid": 18.9946, "lpips": 0.2711},
}
PIXEL_METRICS = {
    "ssim": image_quality.ssim,
    "ssim_256": image_quality.ssim_256,
    "psnr": image_quality.psnr,
    "l1": image_quality.l1,
    "mae": image_quality.mae,
}
MASKED_LPIPS_BATCH = 64
_CHUNK = 16  # pairs read and scored at once


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")


def _read_pair_batch(pairs, shape) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, H, W, 3) generated and ground-truth batches; every image must have `shape`."""
    generated, ground_truth = [], []
    for generated_file, truth_file in pairs:
        image, truth = read_rgb(generated_file), read_rgb(truth_file)
        if image.shape != truth.shape:
            raise ValueError(
                f"size mismatch: generated {generated_file} is {image.shape[0]}x{image.shape[1]}, "
                f"its ground truth {truth_file} is {truth.shape[0]}x{truth.shape[1]}"
            )
        if image.shape != shape:
            raise ValueError(
                f"{generated_file} is {image.shape[0]}x{image.shape[1]}, but the first pair is "
                f"{shape[0]}x{shape[1]}: all results of one evaluation must have one size"
            )
        generated.append(image)
        ground_truth.append(truth)
    return np.stack(generated), np.stack(ground_truth)


def _masks(pairs, annotations_file) -> np.ndarray:
    """Float (N, H, W, 1) body masks of each pair's ground truth, from the annotation file."""
    keypoints = read_annotations(annotations_file)
    masks = []
    for _, truth_file in pairs:
        if truth_file.name not in keypoints:
            raise ValueError(f"{annotations_file}: no keypoints for ground truth {truth_file.name}")
        masks.append(body_mask(keypoints[truth_file.name]))
    return np.stack(masks)[..., None].astype(np.float32)


def score_pairs(
    pairs, dataset: str, lpips_model: keras.Model | None, annotations=None, verbose: bool = True
) -> dict[str, list[float]]:
    """Per-pair SSIM, ssim_256, PSNR, L1, MAE and, with `lpips_model`, LPIPS and (given
    `annotations`) the masked LPIPS."""
    _check_dataset(dataset)
    masks = None
    if lpips_model is not None and annotations is not None:
        masks = _masks(pairs, annotations)
    shape = read_rgb(pairs[0][0]).shape
    names = [*PIXEL_METRICS] + (["lpips"] if lpips_model is not None else [])
    names += ["masked_lpips"] if masks is not None else []
    scores = {name: [] for name in names}
    progress = keras.utils.Progbar(len(pairs), unit_name="pair", verbose=int(verbose))
    for start in range(0, len(pairs), _CHUNK):
        generated, truth = _read_pair_batch(pairs[start : start + _CHUNK], shape)
        unit_generated, unit_truth = generated / 255.0, truth / 255.0
        if dataset == "fashion":
            unit_generated = image_quality.pad_to_256(unit_generated)
            unit_truth = image_quality.pad_to_256(unit_truth)
        for name, metric in PIXEL_METRICS.items():
            scores[name].extend(metric(unit_generated, unit_truth).tolist())
        if lpips_model is not None:
            signed_generated = (generated / 127.5 - 1.0).astype(np.float32)
            signed_truth = (truth / 127.5 - 1.0).astype(np.float32)
            scores["lpips"].extend(
                lpips_model.predict_on_batch([signed_generated, signed_truth]).tolist()
            )
            if masks is not None:
                mask = masks[start : start + _CHUNK]
                masked = lpips_model.predict_on_batch(
                    [signed_generated * mask, signed_truth * mask]
                )
                scores["masked_lpips"].extend(masked.tolist())
        progress.add(len(generated))
    return scores


def metric_weight_files(fid_weights: str = "torchvision") -> dict[str, tuple]:
    """The weight files each network metric needs (`weight_files.WeightFile`s)."""
    return {
        "lpips": (weight_files.ALEXNET, weight_files.LPIPS_ALEX_LINEAR),
        "fid": (VARIANTS[fid_weights][0],),
    }


def missing_weight_files(fid_weights: str = "torchvision", weights_dir=None) -> dict[str, list]:
    """metric -> the weight files it needs that are in none of the folders searched."""
    missing = {}
    for metric, files in metric_weight_files(fid_weights).items():
        for file in files:
            try:
                weight_files.find_weight_file(file, weights_dir)
            except FileNotFoundError:
                missing.setdefault(metric, []).append(file)
    return missing


def missing_weights_message(missing: dict[str, list[dict]], weights_dir=None) -> str:
    """Every missing file (`evaluate`'s `missing_weights`), what it is for and where to get it,
    and the folders searched."""
    lines = ["metrics skipped for want of weight files (nothing is downloaded at run time):"]
    for metric, files in missing.items():
        for file in files:
            lines.append(
                f"  {metric}: {file['file']} ({file['description']})\n      from {file['url']}"
            )
    folders = weight_files.search_folders(weights_dir)
    lines.append("searched: " + ", ".join(str(f) for f in folders))
    lines.append(
        f"copy them into the first folder (choose it with --weights-dir or "
        f"${weight_files.WEIGHTS_DIR_ENV}) and run again"
    )
    return "\n".join(lines)


def evaluate(
    generated_dir: str | os.PathLike,
    ground_truth_dir: str | os.PathLike,
    fid_real_dir: str | os.PathLike,
    dataset: str,
    *,
    weights_dir: str | os.PathLike | None = None,
    fid_weights: str = "torchvision",
    annotations: str | os.PathLike | None = None,
    stats_cache_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> dict:
    """The metrics of `generated_dir` that the weight files present allow, as a JSON-ready dict
    (see `tools/evaluate.py`); `missing_weights` lists what the others need.

    `annotations` (Market-1501's `market-annotation-test.csv`) adds the masked LPIPS.
    The networks are loaded before any image is scored, so a broken weight file fails at once.
    """
    _check_dataset(dataset)
    pairs = pair_with_ground_truth(generated_dir, ground_truth_dir)
    missing = missing_weight_files(fid_weights, weights_dir)
    lpips_model, lpips_files = (None, ()) if "lpips" in missing else load_lpips(weights_dir)
    inception, inception_file = (
        (None, None) if "fid" in missing else load_inception_v3(fid_weights, weights_dir)
    )

    phases = 1 + (inception is not None)
    _announce(
        verbose,
        f"[1/{phases}] SSIM, ssim_256, PSNR, L1, MAE"
        + (", LPIPS" if lpips_model is not None else "")
        + f" of {len(pairs)} pairs",
    )
    scores = score_pairs(pairs, dataset, lpips_model, annotations, verbose)
    images = {"pairs": len(pairs)}
    if "masked_lpips" in scores:
        images["masked_lpips"] = fid.images_used(len(pairs), MASKED_LPIPS_BATCH)
        scores["masked_lpips"] = scores["masked_lpips"][: images["masked_lpips"]]
    metrics = {name: float(np.mean(values)) for name, values in scores.items()}

    cache_file = None
    if inception is not None:
        _announce(
            verbose,
            f"[2/{phases}] FID: InceptionV3 features of the real images in "
            f"{fid_real_dir} (cached after the first run), then of the generated ones",
        )
        real, cache_file = fid.cached_folder_statistics(
            inception, fid_real_dir, inception_file, stats_cache_dir, verbose=verbose
        )
        fake = fid.folder_statistics(inception, generated_dir, verbose=verbose)
        images.update(fid_generated=fake.num_images, fid_real=real.num_images)
        metrics["fid"] = fid.frechet_distance(fake.mu, fake.sigma, real.mu, real.sigma)
    return {
        "dataset": dataset,
        "generated": str(generated_dir),
        "ground_truth": str(ground_truth_dir),
        "fid_real": str(fid_real_dir),
        "metrics": metrics,
        "variance": {name: float(np.var(values)) for name, values in scores.items()},
        "images": images,
        "weights": {
            "inception": None if inception_file is None else str(inception_file),
            "inception_variant": fid_weights,
            "lpips": [str(f) for f in lpips_files],
        },
        "missing_weights": {
            metric: [{"file": f.pattern, "description": f.description, "url": f.url} for f in files]
            for metric, files in missing.items()
        },
        "fid_real_statistics": None if cache_file is None else str(cache_file),
        "paper": PAPER_RESULTS[dataset],
    }


def _announce(verbose: bool, line: str) -> None:
    if verbose:
        print(line, flush=True)
