"""How sharp finished runs' pictures are, beside their figures: the quickstart's objective study.

    python benchmarks/sharpness.py runs/synthetic build/quickstart_study/gan2 --grid out.png

For each run directory (`config.yaml`, `generator.keras`, `validation.json`), its generator
draws the whole test split, and the high-frequency energy of each picture (the mean squared
Laplacian of its luminance in [0, 1]) is compared with the ground truth's: a ratio of 1 is as
much fine detail as the real image, below 1 blurrier, above 1 detail the truth does not have
(speckle, checkerboard). Printed with each run's L1, SSIM, PSNR and its L1 against copying
the source, and whether it meets the quickstart's bar (SSIM >= 0.75, L1 <= 0.5x copy-the-source).
`--grid` also draws the first test pairs as every run generates them.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from run_records import plot_sample_grids

LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
GRID_PAIRS = 6
# The quickstart's bar (issue 19): the generated target's SSIM at least this, and its L1 at most
# this share of copying the source.
MIN_SSIM, MAX_L1_OF_COPY = 0.75, 0.5


def high_frequency_energy(images):
    """Mean squared Laplacian of each [-1, 1] RGB image's luminance, on [0, 1] intensities."""
    import tensorflow as tf

    luminance = tf.image.rgb_to_grayscale((tf.cast(images, tf.float32) + 1.0) / 2.0)
    kernel = tf.constant(LAPLACIAN[:, :, None, None])
    edges = tf.nn.conv2d(luminance, kernel, strides=1, padding="VALID")
    return tf.reduce_mean(tf.square(edges), axis=[1, 2, 3]).numpy()


def measure(run_dir: Path) -> dict:
    """The run's figures, its generated/real high-frequency energy ratio and its first pictures."""
    from dptn_tf.config import (
        CONFIG_NAME,
        GENERATOR_NAME,
        VALIDATION_NAME,
        load_config,
        resolve_relative,
    )
    from dptn_tf.data import make_dataset
    from dptn_tf.inference.generation import load_generator

    config = load_config(run_dir / CONFIG_NAME)
    config.data.root = resolve_relative(config.data.root, run_dir / CONFIG_NAME)
    generator = load_generator(run_dir / GENERATOR_NAME)
    generated_energy, real_energy, first = [], [], {"source_image": [], "target_image": []}
    first["generated"] = []
    for batch in make_dataset(config.data, "test", training=False):
        inputs = {k: batch[k] for k in ("source_image", "source_pose", "target_pose")}
        generated = generator(inputs, training=False)
        generated_energy.append(high_frequency_energy(generated))
        real_energy.append(high_frequency_energy(batch["target_image"]))
        for key, images in (
            ("source_image", batch["source_image"]),
            ("target_image", batch["target_image"]),
            ("generated", generated),
        ):
            first[key].append(np.asarray(images))
    first = {key: np.concatenate(parts)[:GRID_PAIRS] for key, parts in first.items()}
    figures = json.loads((run_dir / VALIDATION_NAME).read_text())
    generated_energy, real_energy = np.concatenate(generated_energy), np.concatenate(real_energy)
    return {
        "figures": figures,
        "sharpness": float(generated_energy.mean() / real_energy.mean()),
        "samples": first,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="finished run directories")
    parser.add_argument("--grid", type=Path, help="PNG of the first test pairs, run by run")
    args = parser.parse_args(argv)

    results = {run: measure(run) for run in args.runs}
    # Runs are named by their path below the folders they share (ablation runs are all seed<N>).
    common = Path(os.path.commonpath([os.path.abspath(run) for run in args.runs]))
    names = {run: Path(os.path.abspath(run)).relative_to(common).as_posix() for run in args.runs}
    names = {run: run.name if name == "." else name for run, name in names.items()}
    print(
        f"{'run':<36}{'step':>6}{'L1':>8}{'L1/copy':>9}{'SSIM':>8}{'PSNR':>7}"
        f"{'HF energy/real':>16}  quickstart bar"
    )
    for run, result in results.items():
        generated, copy = result["figures"]["generated"], result["figures"]["copy_source"]
        ratio = generated["l1"] / copy["l1"]
        meets = generated["ssim"] >= MIN_SSIM and ratio <= MAX_L1_OF_COPY
        print(
            f"{str(run):<36}{result['figures']['step']:>6}{generated['l1']:>8.4f}{ratio:>9.2f}"
            f"{generated['ssim']:>8.4f}{generated['psnr']:>7.2f}{result['sharpness']:>16.2f}"
            f"  {'met' if meets else 'NOT met'}"
        )
    if args.grid:
        first = next(iter(results.values()))["samples"]
        samples = {"source_image": first["source_image"], "target_image": first["target_image"]}
        samples.update(
            {names[run]: result["samples"]["generated"] for run, result in results.items()}
        )
        plot_sample_grids(samples, list(names.values()), args.grid, title="the first test pairs")
        print(f"grid: {args.grid}")


if __name__ == "__main__":
    main()
