"""Seconds per image of the DPTN inference generator, its GFLOP, and the share of the machine's
GEMM peak it reaches.

    python benchmarks/inference.py [--sizes 256x176 128x64] [--batches 1 8] [--threads N]
    python benchmarks/inference.py --precision mixed      # bfloat16 on CPUs, float16 on GPUs
    python benchmarks/inference.py --keras [--xla]        # the Keras model's own call

Default model configuration (9.79 M parameters), random weights (speed does not depend on them).
By default the generator runs as `dptn_tf.inference.frozen_forward` (its weights as constants),
as the test protocol, the demo and photo transfer run it; `--keras` times `model(x)` in a
`tf.function` instead. The GEMM peak of the precision computed in (float32, or bfloat16 under
mixed precision on a CPU) is sampled between the timed runs, in the same process with the same
threads (`machine.GemmPeak`); "of peak" is the generator's GFLOP/s at its best run over the best
GEMM rate. Medians are printed too, since other processes may share the cores.
"""

from __future__ import annotations

import argparse
import statistics
import time

import tensorflow as tf

from dptn_tf.console import image_size
from machine import GemmPeak, configure_threads, describe, graph_gflops, peak_dtype, random_batch


def _inputs(batch, height, width):
    arrays = random_batch(
        batch, (height, width), names=("source_image", "source_pose", "target_pose")
    )
    return {name: tf.constant(value) for name, value in arrays.items()}


def time_generator(forward, inputs, repeats: int, peak: GemmPeak) -> list[float]:
    forward(inputs).numpy()  # trace / compile, warm up
    forward(inputs).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(inputs).numpy()
        times.append(time.perf_counter() - start)
        peak.sample()
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", nargs="+", type=image_size, default=[(256, 176), (128, 64)])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--precision", choices=("float32", "mixed"), default="float32")
    parser.add_argument("--keras", action="store_true", help="time the Keras model's call")
    parser.add_argument("--xla", action="store_true", help="with --keras: jit_compile it")
    parser.add_argument(
        "--threads", type=int, help="threads in each TensorFlow pool (default: every core)"
    )
    args = parser.parse_args(argv)
    threads = configure_threads(args.threads)

    from dptn_tf.inference.frozen import frozen_forward
    from dptn_tf.models import build_generator, inference_generator
    from dptn_tf.training.distribute import set_precision

    policy = set_precision(args.precision == "mixed")
    model = inference_generator(build_generator())
    if args.keras:
        forward = tf.function(lambda x: model(x, training=False), jit_compile=args.xla)
    else:
        forward = frozen_forward(model)
    peak = GemmPeak(peak_dtype(policy))
    print(f"{describe()}; TensorFlow {tf.__version__}, {threads} threads")
    print(
        f"DPTN inference generator, {model.count_params():,} parameters, policy {policy}, "
        f"{'Keras call' if args.keras else 'frozen_forward'}, XLA {args.xla and args.keras}"
    )
    rows = []
    for height, width in args.sizes:
        size = f"{height}x{width}"
        for batch in args.batches:
            inputs = _inputs(batch, height, width)
            specs = {k: tf.TensorSpec(v.shape, v.dtype) for k, v in inputs.items()}
            gflop = (
                graph_gflops(
                    tf.function(lambda x: model(x, training=False)).get_concrete_function(specs)
                )
                / batch
            )
            times = time_generator(forward, inputs, args.repeats, peak)
            rows.append((size, batch, min(times) / batch, statistics.median(times) / batch, gflop))
            print(f"  {size} batch {batch}: {min(times) / batch:.4f} s/image", flush=True)
    print(
        f"{peak.dtype} GEMM peak (best of {peak.samples} samples between the runs): "
        f"{peak.gflops:.0f} GFLOP/s"
    )
    print(
        f"{'size':>9} {'batch':>5} {'s/image':>9} {'(median)':>9} {'GFLOP/img':>10} "
        f"{'GFLOP/s':>8} {'of peak':>8}"
    )
    for size, batch, best, middle, gflop in rows:
        rate = gflop / best
        print(
            f"{size:>9} {batch:>5} {best:>9.4f} {middle:>9.4f} {gflop:>10.2f} "
            f"{rate:>8.0f} {rate / peak.gflops:>7.0%}"
        )


if __name__ == "__main__":
    main()
