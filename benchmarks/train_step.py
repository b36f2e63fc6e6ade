"""Seconds per DPTN training step (one D update and one G update) on this machine.

    python benchmarks/train_step.py                          # default model, 128x64 and 256x256
    python benchmarks/train_step.py --sizes 128x64 --batches 8 --set model.ngf=32 --no-vgg

Random inputs, so only the networks are timed (not the input pipeline). The first steps (graph
tracing) are run before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import time

import keras
import numpy as np
import tensorflow as tf

from dptn_tf import training
from dptn_tf.config import load_config
from dptn_tf.training.distribute import set_precision


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW, e.g. 128x64, got {text!r}") from None
    return height, width


def seconds_per_step(config, size, batch_size: int, steps: int, warmup: int = 2) -> float:
    rng = np.random.default_rng(0)
    batch = {name: rng.uniform(-1, 1, (batch_size, *size, channels)).astype("float32")
             for name, channels in (("source_image", 3), ("target_image", 3),
                                    ("source_pose", 18), ("target_pose", 18))}
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model = training.build_dptn(config)
    model.compile(*training.make_optimizers(config.train, steps_per_epoch=1000),
                  jit_compile=config.train.jit_compile)
    model.fit(dataset, steps_per_epoch=warmup, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - start) / steps


def main(argv=None) -> None:
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")  # as train.py runs
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="YAML configuration (default: the official defaults)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--sizes", nargs="+", type=_size, default=[(128, 64), (256, 256)])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--no-vgg", action="store_true",
                        help="lambda_content = lambda_style = 0 (no VGG19 pass)")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--jit-compile", action="store_true")
    args = parser.parse_args(argv)

    overrides = ["loss.vgg_weights=none"] + args.set  # random VGG costs the same as trained
    if args.no_vgg:
        overrides += ["loss.lambda_content=0", "loss.lambda_style=0"]
    config = load_config(args.config, overrides)
    config.train.jit_compile = args.jit_compile
    policy = set_precision(args.mixed_precision)
    devices = ", ".join(device.name for device in tf.config.list_logical_devices())
    print(f"policy {policy}, XLA {args.jit_compile}, devices: {devices}")
    print(f"{'size':>9} {'batch':>5} {'s/step':>8} {'s/image':>8}")
    for size in args.sizes:
        for batch_size in args.batches:
            keras.backend.clear_session()
            seconds = seconds_per_step(config, size, batch_size, args.steps)
            print(f"{size[0]:>4}x{size[1]:<4} {batch_size:>5} {seconds:8.3f} "
                  f"{seconds / batch_size:8.3f}", flush=True)


if __name__ == "__main__":
    main()
