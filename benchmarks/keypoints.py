"""Milliseconds per photo of the BlazePose keypoint extractor, per TF Lite runtime and stage.

    python benchmarks/keypoints.py [--repeats 20] [--threads 2] [--sizes 512 1080 3000]

The photo is scikit-image's astronaut resized to a long side of each size (the models see 224
and 256 pixel crops whatever the size; the crops are numpy). The runtimes are measured in turns,
repeat by repeat, so that a busy machine slows both alike; the medians are printed. Needs the
model files (`python tools/fetch_pose_models.py`).
"""

import argparse
import os
import statistics
import time

import numpy as np
import skimage.data
import tensorflow as tf

from dptn_tf.pose import BlazePose
from dptn_tf.pose.blazepose import DETECTOR_SIZE, LANDMARK_SIZE


def photo(long_side: int) -> np.ndarray:
    image = skimage.data.astronaut()
    size = (long_side, long_side)  # the astronaut is square
    return tf.cast(tf.round(tf.image.resize(image, size, antialias=True)), tf.uint8).numpy()


def stages(extractor: BlazePose, image: np.ndarray) -> dict:
    """Seconds of each stage on one photo, and of the whole `keypoints` call."""
    times = {}
    start = time.perf_counter()
    region = extractor.body_region(image)
    times["detector stage"] = time.perf_counter() - start
    crop = region.crop(image, LANDMARK_SIZE, replicate_border=True)
    start = time.perf_counter()
    extractor.landmark_model(crop)
    times["landmark model"] = time.perf_counter() - start
    start = time.perf_counter()
    extractor.detector(np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.float32))
    times["detector model"] = time.perf_counter() - start
    start = time.perf_counter()
    extractor.keypoints(image)
    times["whole photo"] = time.perf_counter() - start
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="TF Lite threads")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1080, 3000])
    args = parser.parse_args()

    extractors = {}
    for runtime in ("litert", "tflite"):
        try:
            extractors[runtime] = BlazePose(runtime=runtime, num_threads=args.threads)
        except ImportError as error:
            print(f"skipping {runtime}: {error}")
    print(
        f"BlazePose (pose_detection + pose_landmark_full), {os.cpu_count()} CPUs, "
        f"TF Lite threads: {args.threads or 'default'}; median ms of {args.repeats}"
    )
    names = ("detector model", "landmark model", "detector stage", "whole photo")
    print(f"{'photo':>10} {'runtime':>8} " + " ".join(f"{n:>15}" for n in names))
    for size in args.sizes:
        image = photo(size)
        for extractor in extractors.values():  # warm up
            stages(extractor, image)
        samples = {runtime: [] for runtime in extractors}
        for _ in range(args.repeats):
            for runtime, extractor in extractors.items():
                samples[runtime].append(stages(extractor, image))
        for runtime, runs in samples.items():
            medians = [1000 * statistics.median(run[n] for run in runs) for n in names]
            print(
                f"{size}x{size:<5} {runtime:>8} " + " ".join(f"{m:>15.1f}" for m in medians),
                flush=True,
            )


if __name__ == "__main__":
    main()
