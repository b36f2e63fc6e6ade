"""How long the paper's evaluation protocol takes on this machine, phase by phase.

    python benchmarks/evaluation.py [--pairs 64] [--test-pairs 8570] [--real-images 48674]

Writes `--pairs` synthetic DeepFashion-sized results (256x176 JPEGs, named as the official test
script names them) and times, through `dptn_tf.metrics`: the pixel metrics of each pair (SSIM,
ssim_256, PSNR, L1, MAE on the white-padded 256x256 images, JPEG decoding included), LPIPS, and
the InceptionV3 features FID needs per image, over `--fid-images` images in the protocol's
batches of 64 (decoding and resizing to 299x299 overlap the network in `tf.data`). The networks
have random weights (their speed does not depend on them), so no weight file is needed. The
FID rows give InceptionV3's share of the float32 GEMM peak sampled in the same run. It then
projects the full DeepFashion protocol: `--test-pairs` pairs, FID of as many generated images
against `--real-images` real ones (the train split of `train.lst`; their statistics are cached
after the first run).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from dptn_tf.metrics import (
    build_inception_v3,
    build_lpips,
    pair_with_ground_truth,
    score_pairs,
)
from dptn_tf.metrics.fid import inception_features
from dptn_tf.metrics.inception import INPUT_SIZE
from machine import GemmPeak, configure_threads, describe, graph_gflops


def write_results(root: Path, count: int) -> list:
    rng = np.random.default_rng(0)
    (root / "generated").mkdir(parents=True)
    (root / "test").mkdir()
    for i in range(count):
        small = rng.uniform(0, 255, (32, 22, 3))
        truth = tf.cast(tf.clip_by_value(tf.image.resize(small, (256, 176)), 0, 255), tf.uint8)
        noisy = tf.cast(
            tf.clip_by_value(tf.cast(truth, tf.float32) + rng.normal(0, 20, truth.shape), 0, 255),
            tf.uint8,
        )
        (root / "test" / f"to{i}.jpg").write_bytes(tf.io.encode_jpeg(truth).numpy())
        (root / "generated" / f"from{i}_2_to{i}_vis.jpg").write_bytes(
            tf.io.encode_jpeg(noisy).numpy()
        )
    return pair_with_ground_truth(root / "generated", root / "test")


def seconds_per_item(fn, count: int) -> tuple[float, float]:
    """(wall, CPU) seconds per item; CPU time counts every thread of the process."""
    fn()  # warm-up: tracing, first allocations
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - start) / count, (time.process_time() - cpu) / count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=64, help="pairs timed")
    parser.add_argument(
        "--fid-images", type=int, default=256, help="images through InceptionV3 (the pairs' again)"
    )
    parser.add_argument("--test-pairs", type=int, default=8570, help="DeepFashion's test pairs")
    parser.add_argument(
        "--real-images",
        type=int,
        default=48674,
        help="images of the real (train) folder FID compares with",
    )
    parser.add_argument(
        "--threads", type=int, help="threads in each TensorFlow pool (default: every core)"
    )
    args = parser.parse_args(argv)
    threads = configure_threads(args.threads)
    lpips, inception = build_lpips(), build_inception_v3()
    image = tf.TensorSpec((1, INPUT_SIZE, INPUT_SIZE, 3), tf.float32)
    inception_gflop = graph_gflops(
        tf.function(lambda x: inception(x, training=False)).get_concrete_function(image)
    )
    peak = GemmPeak()
    with tempfile.TemporaryDirectory() as tmp:
        pairs = write_results(Path(tmp), args.pairs)
        generated = [g for g, _ in pairs] * -(-args.fid_images // args.pairs)
        pixel = seconds_per_item(
            lambda: score_pairs(pairs, "fashion", None, verbose=False), len(pairs)
        )
        with_lpips = seconds_per_item(
            lambda: score_pairs(pairs, "fashion", lpips, verbose=False), len(pairs)
        )
        peak.sample()
        features = seconds_per_item(
            lambda: inception_features(inception, generated[: args.fid_images], verbose=False),
            args.fid_images,
        )
        peak.sample()
    lpips_only = tuple(a - b for a, b in zip(with_lpips, pixel))
    print(
        f"{describe()}; TensorFlow {tf.__version__}, {threads} threads; {args.pairs} pairs, "
        f"{args.fid_images} FID images; float32 GEMM peak {peak.gflops:.0f} GFLOP/s"
    )
    print(f"{'phase':<48}{'s/item':>8}{'CPU s/item':>11}{'projected':>12}{'of peak':>9}")
    rows = [
        ("pixel metrics per pair (decode, pad, 5 metrics)", pixel, args.test_pairs),
        ("LPIPS per pair", lpips_only, args.test_pairs),
        (f"FID features, {args.test_pairs} generated images", features, args.test_pairs),
        (f"FID features, {args.real_images} real images (once)", features, args.real_images),
    ]
    for name, (wall, cpu), count in rows:
        of_peak = f"{inception_gflop / wall / peak.gflops:>9.0%}" if name.startswith("FID") else ""
        print(f"{name:<48}{wall:>8.4f}{cpu:>11.4f}{count * wall / 60:>8.1f} min{of_peak}")
    print(f"InceptionV3: {inception_gflop:.2f} GFLOP per {INPUT_SIZE}x{INPUT_SIZE} image")
    every_run = args.test_pairs * (with_lpips[0] + features[0])
    first_run = every_run + args.real_images * features[0]
    print(
        f"full protocol: {first_run / 60:.1f} min the first time, {every_run / 60:.1f} min once "
        "the real statistics are cached"
    )


if __name__ == "__main__":
    main()
