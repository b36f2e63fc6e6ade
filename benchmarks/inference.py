"""Seconds per image of the DPTN inference generator, with `tf.function` and with XLA.

    python benchmarks/inference.py [--repeats 5] [--sizes 256x176 128x64] [--batches 1 8]

Default model configuration (9.79 M parameters), random weights (speed does not depend on them).
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from dptn_tf.models import build_generator, inference_generator


def _inputs(batch, height, width):
    rng = np.random.default_rng(0)
    return {"source_image": tf.constant(rng.uniform(-1, 1, (batch, height, width, 3)), tf.float32),
            "source_pose": tf.constant(rng.uniform(0, 1, (batch, height, width, 18)), tf.float32),
            "target_pose": tf.constant(rng.uniform(0, 1, (batch, height, width, 18)), tf.float32)}


def seconds_per_image(fn, inputs, repeats: int) -> float:
    fn(inputs).numpy()  # trace / compile, warm up
    fn(inputs).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        fn(inputs).numpy()
    batch = int(inputs["source_image"].shape[0])
    return (time.perf_counter() - start) / (repeats * batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", default=["256x176", "128x64"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    args = parser.parse_args()

    model = inference_generator(build_generator())
    modes = {"tf.function": tf.function(lambda x: model(x, training=False)),
             "XLA": tf.function(lambda x: model(x, training=False), jit_compile=True)}
    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({tf.config.threading.get_inter_op_parallelism_threads() or 'all'} threads)"
    print(f"DPTN inference generator, {model.count_params():,} parameters, on {device}")
    print(f"{'size':>9} {'batch':>5} " + " ".join(f"{m + ' s/img':>17}" for m in modes))
    for size in args.sizes:
        height, width = (int(v) for v in size.split("x"))
        for batch in args.batches:
            inputs = _inputs(batch, height, width)
            figures = [seconds_per_image(fn, inputs, args.repeats) for fn in modes.values()]
            print(f"{size:>9} {batch:>5} " + " ".join(f"{f:>17.4f}" for f in figures), flush=True)


if __name__ == "__main__":
    main()
