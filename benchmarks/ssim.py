"""dptn-tf's SSIM and "ssim_256" against scikit-image's on the same pairs: time and agreement.

    python benchmarks/ssim.py [--pairs 16] [--rounds 5] [--size 256x256]

The pairs are smooth random images and noisy copies of them, in [0, 1], at DeepFashion's
evaluation size (256x176 padded to 256x256). Both implementations run on one thread, in
interleaved rounds (so load from other processes hits both alike); the table gives the median
milliseconds per pair, the speed-up and the largest difference of the values.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage.metrics import structural_similarity

from dptn_tf.console import image_size
from dptn_tf.metrics import ssim, ssim_256


def pairs(count: int, size: tuple[int, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.cumsum(rng.normal(0, 0.05, (count, *size, 3)), axis=2)
    truth = (truth - truth.min()) / (truth.max() - truth.min())
    return np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1), truth


def skimage_ssim(generated, truth):
    return np.array(
        [
            structural_similarity(t, g, data_range=1, win_size=51, channel_axis=-1)
            for g, t in zip(generated, truth)
        ]
    )


def skimage_ssim_256(generated, truth):
    """The official script's second SSIM call: Gaussian window on 0..255 values."""
    return np.array(
        [
            structural_similarity(
                t * 255,
                g * 255,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                channel_axis=-1,
                data_range=g.max() * 255 - g.min() * 255,
            )
            for g, t in zip(generated, truth)
        ]
    )


def timed(fn, *args):
    start = time.perf_counter()
    values = fn(*args)
    return time.perf_counter() - start, values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=image_size, default=(256, 256))
    args = parser.parse_args(argv)
    generated, truth = pairs(args.pairs, args.size)
    cases = {
        "ssim (51x51 uniform)": (ssim, skimage_ssim),
        "ssim_256 (Gaussian)": (ssim_256, skimage_ssim_256),
    }
    print(
        f"{args.pairs} pairs of {args.size[0]}x{args.size[1]} RGB images, {args.rounds} "
        "interleaved rounds, one thread"
    )
    print(
        f"{'metric':<22}{'skimage ms/pair':>16}{'dptn-tf ms/pair':>16}{'speed-up':>10}"
        f"{'max |diff|':>12}"
    )
    for name, (ours, reference) in cases.items():
        times = {"ours": [], "reference": []}
        for _ in range(args.rounds):
            seconds, expected = timed(reference, generated, truth)
            times["reference"].append(seconds)
            seconds, values = timed(ours, generated, truth)
            times["ours"].append(seconds)
        ours_ms, reference_ms = (
            statistics.median(times[k]) * 1e3 / args.pairs for k in ("ours", "reference")
        )
        difference = float(np.max(np.abs(values - expected)))
        print(
            f"{name:<22}{reference_ms:>16.2f}{ours_ms:>16.2f}{reference_ms / ours_ms:>9.2f}x"
            f"{difference:>12.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
