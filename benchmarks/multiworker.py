"""Training throughput on 1 and 2 worker processes (MultiWorkerMirroredStrategy on loopback), and
what the gradient all-reduce costs per step.

    python benchmarks/multiworker.py                      # default model (9.8 M + 0.7 M), 128x64
    python benchmarks/multiworker.py --workers 1 2 4 --batch 2 --steps 10 --set model.ngf=32

Every worker trains the same DPTN step on random batches of `--batch` pairs (so the global batch
grows with the workers) after a warm-up; the all-reduce is timed on its own, on tensors shaped like
both networks' gradients (one generator and one discriminator update per step). All workers run
on this machine: on one CPU they share its cores, so the figures show the overhead of the
cluster, not the speed-up of machines of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from dptn_tf.console import image_size
from dptn_tf.training.distribute import loopback_cluster

TIMEOUT = 1800  # seconds, for one cluster's run


def measure(args) -> dict:
    """One worker's part (TF_CONFIG is set): -> its figures."""
    import numpy as np
    import tensorflow as tf

    from dptn_tf import training
    from dptn_tf.config import load_config
    from machine import random_batch

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    config = load_config(
        args.config,
        ["loss.vgg_weights=none", *args.set]
        + ([] if args.vgg else ["loss.lambda_content=0", "loss.lambda_style=0"]),
    )
    with strategy.scope():
        model = training.build_dptn(config)
        model.compile(*training.make_optimizers(config.train, steps_per_epoch=1000))
    batch = random_batch(args.batch, args.size)
    batches = strategy.distribute_datasets_from_function(
        lambda _: tf.data.Dataset.from_tensors(batch).repeat()
    )
    model.fit(batches, steps_per_epoch=args.warmup, verbose=0)
    start = time.perf_counter()
    model.fit(batches, steps_per_epoch=args.steps, verbose=0)
    seconds_per_step = (time.perf_counter() - start) / args.steps

    gradients = [
        tf.zeros(v.shape)
        for v in (*model.generator.trainable_variables, *model.discriminator.trainable_variables)
    ]

    @tf.function
    def all_reduce():
        def sum_over_replicas():
            context = tf.distribute.get_replica_context()
            summed = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
            return tf.add_n([tf.reduce_sum(g) for g in summed])  # waits for every tensor

        return strategy.experimental_local_results(strategy.run(sum_over_replicas))[0]

    for _ in range(2):
        all_reduce().numpy()
    start = time.perf_counter()
    for _ in range(args.steps):
        all_reduce().numpy()

    def count(network):
        return sum(int(np.prod(v.shape)) for v in network.trainable_variables)

    return {
        "seconds_per_step": seconds_per_step,
        "all_reduce_seconds": (time.perf_counter() - start) / args.steps,
        "parameters": [count(model.generator), count(model.discriminator)],
    }


def worker_arguments(args) -> list:
    """The command line of one worker, from this run's options."""
    argv = [
        "--worker",
        "--size",
        f"{args.size[0]}x{args.size[1]}",
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
    ]
    argv += ["--config", args.config] if args.config else []
    argv += [arg for item in args.set for arg in ("--set", item)]
    return argv + (["--vgg"] if args.vgg else [])


def run_cluster(workers: int, argv: list) -> dict:
    """Start `workers` processes of this script on loopback; -> the chief's figures."""
    processes = []
    try:
        for tf_config in loopback_cluster(workers):
            processes.append(
                subprocess.Popen(
                    [sys.executable, __file__, *argv],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    env={**os.environ, "TF_CONFIG": tf_config},
                )
            )
        outputs = [process.communicate(timeout=TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    if any(process.returncode for process in processes):
        raise RuntimeError(f"{workers} workers: exit codes {[p.returncode for p in processes]}")
    return json.loads(outputs[0].strip().splitlines()[-1])


def main(argv=None) -> None:
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")  # as train.py runs
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--config", help="YAML configuration (default: the official defaults)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--size", type=image_size, default=(128, 64), help="HxW of the images")
    parser.add_argument("--batch", type=int, default=1, help="pairs per worker and step")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="steps before the clock starts")
    parser.add_argument("--vgg", action="store_true", help="with the VGG19 losses")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args)), flush=True)
        return
    print(
        f"{args.size[0]}x{args.size[1]}, {args.batch} pair(s) per worker and step, VGG "
        f"{'on' if args.vgg else 'off'}, {os.cpu_count()} CPU cores shared by all workers"
    )
    print(f"{'workers':>7} {'s/step':>8} {'steps/s':>8} {'images/s':>9} {'all-reduce':>11}")
    for workers in args.workers:
        figures = run_cluster(workers, worker_arguments(args))
        seconds = figures["seconds_per_step"]
        print(
            f"{workers:>7} {seconds:8.3f} {1 / seconds:8.3f} "
            f"{workers * args.batch / seconds:9.2f} "
            f"{figures['all_reduce_seconds'] * 1000:8.1f} ms",
            flush=True,
        )
    generator, discriminator = figures["parameters"]
    print(
        f"all-reduce: the gradients of {generator / 1e6:.2f} M generator and "
        f"{discriminator / 1e6:.2f} M discriminator parameters "
        f"({(generator + discriminator) * 4 / 2**20:.0f} MiB of float32) per step"
    )


if __name__ == "__main__":
    main()
