"""What the non-finite checks cost a healthy training step, on this machine.

    python benchmarks/fault_checks.py                          # default model, 128x64, batch 4
    python benchmarks/fault_checks.py --config configs/synthetic.yaml --batch 8   # quickstart

Every step checks its losses (as before: `StopOnNonFiniteLoss` reads the values the progress bar
reads anyway); once per epoch, `Backup` checks every variable it is about to save. In one
process, interleaved: (1) a step and the epoch-end check, each timed alone, and (2) whole epochs
of `--steps` steps with the backup as it was (save only) and as it is (check, then save), each
arm first in turn, with the time its `on_epoch_end` took. Random inputs: only the networks are
timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from dptn_tf import training
from dptn_tf.config import load_config
from dptn_tf.console import image_size
from dptn_tf.files.finite import non_finite_names
from dptn_tf.training.backups import Backup, StopOnNonFiniteLoss
from machine import random_batch

# Steps per epoch of the official settings (training pairs / batch 32) and of the quickstart.
EPOCH_LENGTHS = {"quickstart (50)": 50, "Market-1501": 263_632 // 32, "DeepFashion": 101_966 // 32}


class TimedEpochEnd:
    """Records the seconds each `on_epoch_end` (the check, the save) takes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds = []

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        self.seconds.append(time.perf_counter() - start)


class CheckedBackup(TimedEpochEnd, Backup):
    """The backup as it is: check every variable, then save."""


class SaveOnlyBackup(TimedEpochEnd, Backup):
    """The backup before the finite check: the baseline."""

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        self.manager.save(checkpoint_number=epoch + 1)
        self.seconds.append(time.perf_counter() - start)


def main(argv=None) -> None:
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")  # as train.py runs
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="YAML configuration (default: the official defaults)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--size", type=image_size, default=(128, 64))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed epoch")
    parser.add_argument("--rounds", type=int, default=3, help="epochs per arm, interleaved")
    parser.add_argument("--no-vgg", action="store_true", help="no VGG19 losses")
    args = parser.parse_args(argv)

    overrides = ["loss.vgg_weights=none", *args.set]  # random VGG costs what trained VGG does
    if args.no_vgg:
        overrides += ["loss.lambda_content=0", "loss.lambda_style=0"]
    config = load_config(args.config, overrides)
    batch = random_batch(args.batch, args.size)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    model = training.build_dptn(config)
    model.compile(*training.make_optimizers(config.train, steps_per_epoch=args.steps))
    folder = tempfile.mkdtemp(prefix="fault_checks-")
    arms = {
        "save only (before)": SaveOnlyBackup(os.path.join(folder, "a"), model, args.steps),
        "check, then save (now)": CheckedBackup(os.path.join(folder, "b"), model, args.steps),
    }
    model.fit(data, steps_per_epoch=2, verbose=0)  # tracing, before any clock starts

    step_times, check_times, epoch_times = [], [], {name: [] for name in arms}
    backup = arms["check, then save (now)"]
    epoch = 0
    for round_ in range(args.rounds):
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=args.steps, verbose=0)
        step_times.append((time.perf_counter() - start) / args.steps)
        start = time.perf_counter()
        assert not non_finite_names(backup.named_variables())
        check_times.append(time.perf_counter() - start)
        for name in sorted(arms, reverse=round_ % 2 == 1):  # each arm first in turn
            start = time.perf_counter()
            model.fit(
                data,
                initial_epoch=epoch,
                epochs=epoch + 1,
                steps_per_epoch=args.steps,
                verbose=0,
                callbacks=[StopOnNonFiniteLoss(arms[name]), arms[name]],
            )
            epoch_times[name].append(time.perf_counter() - start)
            epoch += 1

    step, check = statistics.median(step_times), statistics.median(check_times)
    values = sum(int(np.prod(v.shape)) for _, v in backup.named_variables())
    print(
        f"{args.size[0]}x{args.size[1]}, batch {args.batch}, {values:,} values checked; "
        f"medians of {args.rounds} interleaved rounds"
    )
    print(f"  training step                     {step:8.3f} s")
    print(f"  epoch-end check of all variables  {check:8.3f} s ({check / step:.1%} of a step)")
    for name, steps in {"every step an epoch": 1, **EPOCH_LENGTHS}.items():
        print(f"  added per step, {name:<18} {check / steps / step:8.4%}")
    print(f"epochs of {args.steps} steps, each arm first in turn: fit (s), its on_epoch_end (s)")
    baseline = statistics.median(arms["save only (before)"].seconds)
    for name, arm in arms.items():
        epoch_end = statistics.median(arm.seconds)
        print(
            f"  {name:<24} fit {statistics.median(epoch_times[name]):7.3f}  "
            f"on_epoch_end {epoch_end:6.3f} (+{(epoch_end - baseline) / args.steps / step:.3%} "
            f"of a step per step)   fits: {', '.join(f'{t:.2f}' for t in epoch_times[name])}"
        )


if __name__ == "__main__":
    main()
