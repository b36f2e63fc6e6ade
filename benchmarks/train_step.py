"""Seconds per DPTN training step (one D update and one G update), its GFLOP, and the share of
the machine's GEMM peak it reaches.

    python benchmarks/train_step.py                          # default model, Market and DeepFashion
    python benchmarks/train_step.py --mixed-precision        # bfloat16 on CPUs, float16 on GPUs
    python benchmarks/train_step.py --sizes 128x64 --batches 8 --set model.ngf=32 --no-vgg

Random inputs and a random VGG19 (same cost as the trained one), so only the networks are timed,
through `keras.Model.fit`'s own train function. The first steps (tracing) run before the clock
starts; each step is timed on its own, and the best and median are printed. The GEMM peak of
the precision the step computes in (float32, or bfloat16 under mixed precision on a CPU) is
sampled between the steps, in the same process with the same threads; "of peak" is the step's
GFLOP (forward and backward convolutions and matrix products, `machine.graph_gflops`) per
second at the best step over the best GEMM rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import keras
import tensorflow as tf

from dptn_tf.console import image_size
from machine import GemmPeak, configure_threads, describe, graph_gflops, peak_dtype, random_batch

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")  # as train.py runs


def measure_step(config, size, batch_size: int, steps: int, peak: GemmPeak, warmup: int = 2):
    """-> (step times in seconds, GFLOP of one step)."""
    from dptn_tf import training

    batch = random_batch(batch_size, size)
    model = training.build_dptn(config)
    model.compile(
        *training.make_optimizers(config.train, steps_per_epoch=1000),
        jit_compile=config.train.jit_compile,
    )
    specs = {k: tf.TensorSpec(v.shape, tf.float32) for k, v in batch.items()}
    gflop = graph_gflops(tf.function(model.train_step).get_concrete_function(specs))
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
    model.make_train_function()
    for _ in range(warmup):
        model.train_function(iterator)["total_gen"].numpy()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_function(iterator)["total_gen"].numpy()
        times.append(time.perf_counter() - start)
        peak.sample()
    return times, gflop


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="YAML configuration (default: the official defaults)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--sizes", nargs="+", type=image_size, default=[(128, 64), (256, 176)])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument(
        "--no-vgg", action="store_true", help="lambda_content = lambda_style = 0 (no VGG19 pass)"
    )
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument(
        "--threads", type=int, help="threads in each TensorFlow pool (default: every core)"
    )
    args = parser.parse_args(argv)
    threads = configure_threads(args.threads)

    import warnings

    from dptn_tf.config import load_config
    from dptn_tf.training.distribute import set_precision

    warnings.filterwarnings("ignore", "VGG19 has random weights")
    overrides = ["loss.vgg_weights=none"] + args.set  # random VGG costs the same as trained
    if args.no_vgg:
        overrides += ["loss.lambda_content=0", "loss.lambda_style=0"]
    config = load_config(args.config, overrides)
    config.train.jit_compile = args.jit_compile
    policy = set_precision(args.mixed_precision)
    peak = GemmPeak(peak_dtype(policy))
    print(f"{describe()}; TensorFlow {tf.__version__}, {threads} threads")
    print(
        f"policy {policy}, XLA {args.jit_compile}, discriminator layers {config.model.dis_layers}"
    )
    rows = []
    for size in args.sizes:
        for batch_size in args.batches:
            keras.backend.clear_session()  # which also resets the precision policy
            set_precision(args.mixed_precision)
            times, gflop = measure_step(config, size, batch_size, args.steps, peak)
            rows.append((size, batch_size, min(times), statistics.median(times), gflop))
            print(f"  {size[0]}x{size[1]} batch {batch_size}: {min(times):.3f} s/step", flush=True)
    print(
        f"{peak.dtype} GEMM peak (best of {peak.samples} samples between the steps): "
        f"{peak.gflops:.0f} GFLOP/s"
    )
    print(
        f"{'size':>9} {'batch':>5} {'s/step':>8} {'(median)':>9} {'s/image':>8} "
        f"{'GFLOP/step':>11} {'GFLOP/s':>8} {'of peak':>8}"
    )
    for size, batch_size, best, middle, gflop in rows:
        print(
            f"{size[0]:>4}x{size[1]:<4} {batch_size:>5} {best:8.3f} {middle:9.3f} "
            f"{best / batch_size:8.3f} {gflop:11.1f} {gflop / best:8.0f} "
            f"{gflop / best / peak.gflops:>7.0%}"
        )


if __name__ == "__main__":
    main()
