"""Pairs per second from the tf.data pipeline, at DeepFashion's and Market-1501's sizes.

    python benchmarks/data_pipeline.py [--batches 40] [--batch-size 8]

Each case writes a temporary synthetic root with the data set's image size (256x176 read at
256x256, as DeepFashion is trained; 128x64 as Market-1501), validates it, then times full
training batches (decode, resize, heatmaps, shuffle, batch) after a warm-up. CPU-ms per pair
(all threads) is the figure to compare when other processes share the cores.

TensorFlow's default CPU allocator returns every large tensor to the system and takes fresh,
page-faulting memory for the next one; a batch of 256x256 heatmaps is 37 MB, so that halves the
pipeline's speed. The BFC allocator keeps and reuses that memory. It is read when TensorFlow
makes its first tensor, so it is set here before anything runs; run with
`TF_CPU_ALLOCATOR_USE_BFC=false` to see the default allocator's figures.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from dptn_tf.config import DataConfig
from dptn_tf.data import load_split, make_dataset
from dptn_tf.data.synthetic import make_synthetic_dataset

CASES = (  # name, image (old) size, load size
    ("256x256 (DeepFashion, 256x176 images)", (256, 176), (256, 256)),
    ("128x64 (Market-1501)", (128, 64), (128, 64)),
)


def measure(root, old_size, load_size, batch_size, batches, warmup=5):
    config = DataConfig(
        root=str(root),
        prefix="synthetic",
        load_size=load_size,
        old_size=old_size,
        batch_size=batch_size,
        seed=0,
    )
    start = time.perf_counter()
    index = load_split(root, "train", "synthetic", old_size=old_size)
    validated = time.perf_counter() - start
    iterator = iter(make_dataset(config, "train", index=index))
    for _ in range(warmup):
        next(iterator)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        batch = next(iterator)
    batch["target_pose"].numpy()
    pairs = batches * batch_size
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return pairs / wall, cpu * 1000 / pairs, validated, len(index.names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    print(f"TF_CPU_ALLOCATOR_USE_BFC={os.environ['TF_CPU_ALLOCATOR_USE_BFC']}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, old_size, load_size in CASES:
            root = make_synthetic_dataset(
                Path(tmp) / f"{old_size[0]}x{old_size[1]}",
                image_size=old_size,
                num_train_identities=40,
                num_test_identities=1,
                poses_per_identity=6,
            )
            rate, cpu_ms, validated, images = measure(
                root, old_size, load_size, args.batch_size, args.batches
            )
            print(
                f"{name}: {rate:.0f} pairs/s, {cpu_ms:.1f} CPU-ms per pair (batch "
                f"{args.batch_size}; validating {images} images took {validated:.2f} s)"
            )


if __name__ == "__main__":
    main()
