"""Train DPTN (`dptn-train`, `python train.py`).

    dptn-train                                        # the synthetic quickstart (CPU, minutes)
    dptn-train --config configs/market.yaml           # Market-1501, the official setting
    dptn-train --config configs/fashion.yaml --set data.batch_size=16 --set train.lr=1e-4

The run directory (`train.run_dir`, or `--run-dir`; a local path or a URL such as `gs://...`)
receives `config.yaml` (the resolved configuration), `backup/` (both networks and both
optimizers at the end of every epoch), `logs/` (TensorBoard), `samples/` (PNG grids) and, at the
end, `generator.keras` (the inference generator) and `validation.json`. Running the same command
again after an interruption resumes from the last backup (`dptn_tf/training/run_directory.py`
says what may change in between); after the run has finished it says so and how to go on. One
trainer at a time may use a run directory. The synthetic data set is made first when the
configuration names the `synthetic` prefix and its root does not exist yet. TensorFlow's own log
lines are hidden unless `--verbose`; on a terminal progress is a bar, in a file or pipe one plain
line every `train.log_every` steps. The run itself is `dptn_tf.training.run`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from dptn_tf.config import CONFIGS_DIR, STRATEGIES, Config, load_config
from dptn_tf.console import add_verbose_flag, is_terminal, quiet_tensorflow

QUICKSTART = CONFIGS_DIR / "synthetic.yaml"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train DPTN. Without arguments: the synthetic quickstart."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=QUICKSTART,
        help="YAML configuration (default: configs/synthetic.yaml)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override one configuration value (repeatable)",
    )
    parser.add_argument("--strategy", choices=STRATEGIES, help="sets train.strategy")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        "--mixed-precision",
        action="store_true",
        default=None,
        help="sets train.mixed_precision: true (float16 on GPUs, bfloat16 on CPUs); the default "
        "is bfloat16 on CPUs with native bfloat16 (AMX-BF16, AVX512_BF16), float32 elsewhere",
    )
    precision.add_argument(
        "--float32",
        dest="mixed_precision",
        action="store_false",
        default=None,
        help="sets train.mixed_precision: false (float32 wherever it runs)",
    )
    parser.add_argument(
        "--jit-compile", action="store_true", default=None, help="sets train.jit_compile (XLA)"
    )
    parser.add_argument("--run-dir", help="sets train.run_dir")
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> Config:
    config = load_config(args.config, args.set)
    flags = {
        "strategy": args.strategy,
        "mixed_precision": args.mixed_precision,
        "jit_compile": args.jit_compile,
        "run_dir": args.run_dir,
    }
    for field, value in flags.items():
        if value is not None:
            setattr(config.train, field, value)
    return config


def main(argv=None) -> int:
    args = parse_args(argv)
    # The input pipeline runs twice as fast on a CPU with TensorFlow's BFC allocator
    # (`dptn_tf/data/pipeline.py`); it is read when TensorFlow runs its first op.
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    quiet_tensorflow(args.verbose)
    from dptn_tf.files.directory_lock import DirectoryInUseError
    from dptn_tf.training import run
    from dptn_tf.training.backups import BackupError, NonFiniteTrainingError

    with contextlib.ExitStack() as run_directory:
        try:
            config = resolve_config(args)
            setup = run.prepare(config, run_directory)
        except (ValueError, FileNotFoundError, DirectoryInUseError) as error:
            print(f"error: {error}", file=sys.stderr)  # a bad configuration or data set
            return 2
        if setup.finished:
            print(setup.finished)
            return 0
        try:
            run.train(config, setup, terminal=is_terminal())
        except NonFiniteTrainingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except BackupError as error:  # none reads back whole, or one of another epoch length
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
