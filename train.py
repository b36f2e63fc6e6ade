"""Train DPTN.

    python train.py                                   # the synthetic quickstart (CPU, minutes)
    python train.py --config configs/market.yaml      # Market-1501, the official setting
    python train.py --config configs/fashion.yaml --set data.batch_size=16 --set train.lr=1e-4

The run directory (`train.run_dir`, or `--run-dir`; a local path or a URL such as `gs://...`)
receives `config.yaml` (the resolved configuration), `backup/` (both networks and both
optimizers at the end of every epoch), `logs/` (TensorBoard), `samples/` (PNG grids) and, at the
end, `generator.keras` (the inference generator) and `validation.json`. Running the same command
again after an interruption resumes from the last backup (`dptn_tf/training/run_directory.py`
says what may change in between); after the run has finished it says so and how to go on. One
`train.py` at a time may use a run directory. The synthetic data set is made first when the
configuration names the `synthetic` prefix and its root does not exist yet. TensorFlow's own log
lines are hidden unless `--verbose`; on a terminal progress is a bar, in a file or pipe one plain
line every `train.log_every` steps.

TensorFlow is imported by the functions that need it, after the command line is parsed, so that
`--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path

from dptn_tf.config import STRATEGIES, Config, load_config
from dptn_tf.console import add_verbose_flag, is_terminal, quiet_tensorflow
from dptn_tf.files import is_url
from dptn_tf.files.text import read_utf8

QUICKSTART = Path(__file__).resolve().parent / "configs" / "synthetic.yaml"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train DPTN. Without arguments: the synthetic quickstart.")
    parser.add_argument("--config", type=Path, default=QUICKSTART,
                        help="YAML configuration (default: configs/synthetic.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override one configuration value (repeatable)")
    parser.add_argument("--strategy", choices=STRATEGIES, help="sets train.strategy")
    parser.add_argument("--mixed-precision", action="store_true", default=None,
                        help="sets train.mixed_precision (float16 on GPUs, bfloat16 on CPUs)")
    parser.add_argument("--jit-compile", action="store_true", default=None,
                        help="sets train.jit_compile (XLA)")
    parser.add_argument("--run-dir", help="sets train.run_dir")
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> Config:
    config = load_config(args.config, args.set)
    flags = {"strategy": args.strategy, "mixed_precision": args.mixed_precision,
             "jit_compile": args.jit_compile, "run_dir": args.run_dir}
    for field, value in flags.items():
        if value is not None:
            setattr(config.train, field, value)
    return config


def finished_message(config: Config, steps_per_epoch: int) -> str | None:
    """What to tell the user when the run directory holds a finished run of `config`, else None."""
    run_dir = config.train.run_dir.rstrip("/")
    figures = f"{run_dir}/validation.json"
    try:
        step = json.loads(read_utf8(figures))["step"]
    except FileNotFoundError:
        return None
    train = config.train
    if step < (train.niter + train.niter_decay) * steps_per_epoch:
        return None  # epochs were added since it finished
    return (
        f"{run_dir} holds a finished run ({step // steps_per_epoch} epochs, {step} steps): "
        f"nothing to train. Its figures are in {figures}, its generator in "
        f"{run_dir}/generator.keras.\n"
        f"To train it further, give it more epochs (for example --set "
        f"train.niter_decay={train.niter_decay + train.niter}): it resumes at step {step}.\n"
        f"To train a new run, give another run directory (for example --run-dir "
        f"{run_dir}-2), or delete {run_dir}.")


def make_data_if_missing(config: Config) -> None:
    from dptn_tf.data.synthetic import make_synthetic_dataset

    root = Path(config.data.root)
    if is_url(config.data.root) or root.exists() or config.data.prefix != "synthetic":
        return
    print(f"Making the synthetic data set in {root} ...", flush=True)
    make_synthetic_dataset(root, image_size=tuple(config.data.old_size), prefix="synthetic")


def sample_batch(config: Config, index) -> dict:
    """`train.sample_pairs` test pairs spread over the split, as numpy arrays."""
    from dptn_tf.data import one_batch

    batch = one_batch(config.data, index.spread(config.train.sample_pairs))
    return {key: value.numpy() for key, value in batch.items()}


def report(generated: dict, baseline: dict, num_pairs: int) -> str:
    rows = [("generated target", generated), ("copy the source (baseline)", baseline)]
    lines = [f"Validation on {num_pairs} test pairs    L1 (lower)  SSIM (higher)  PSNR (higher)"]
    lines += [f"  {name:<30} {m['l1']:10.4f}  {m['ssim']:13.4f}  {m['psnr']:13.2f}"
              for name, m in rows]
    return "\n".join(lines)


@dataclasses.dataclass
class Setup:
    """What `prepare` checked and loaded before anything is built."""

    strategy: tf.distribute.Strategy  # noqa: F821 (imported where a Setup is made)
    chief: bool
    train_index: PatnSplit  # noqa: F821
    test_index: PatnSplit  # noqa: F821
    steps_per_epoch: int
    finished: str | None  # `finished_message`, when there is nothing to train


def prepare(config: Config, run_directory: contextlib.ExitStack) -> Setup:
    """Strategy, precision, data and run directory; raises on a bad configuration or data set,
    or a run directory in use. The chief holds the run directory until `run_directory` closes."""
    from dptn_tf.data import load_split
    from dptn_tf.training.distribute import is_chief, select_strategy, set_precision
    from dptn_tf.training.run_directory import hold_run_directory, resume_or_record

    strategy = select_strategy(config.train.strategy)
    set_precision(config.train.mixed_precision)
    chief = is_chief(strategy)
    if chief:
        run_directory.enter_context(hold_run_directory(config.train.run_dir))
    make_data_if_missing(config)
    data = config.data
    train_index, test_index = (
        load_split(data.root, split, data.prefix, old_size=data.old_size,
                   check_images=data.check_images) for split in ("train", "test"))
    steps_per_epoch = config.train.steps_per_epoch or train_index.num_pairs // data.batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"{data.root}: {train_index.num_pairs} training pairs do not fill one "
                         f"batch of data.batch_size={data.batch_size}")
    if data.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"data.batch_size={data.batch_size} cannot be split evenly over "
                         f"{strategy.num_replicas_in_sync} replicas")
    config.train.steps_per_epoch = steps_per_epoch  # recorded resolved: a resume compares it
    if chief:
        resume_or_record(config)
    finished = finished_message(config, steps_per_epoch)
    return Setup(strategy, chief, train_index, test_index, steps_per_epoch, finished)


def train(config: Config, setup: Setup) -> int:
    """Fit (resuming from the last backup), report the final figures, export the generator."""
    import keras
    import tensorflow as tf

    from dptn_tf import training
    from dptn_tf.data import make_dataset
    from dptn_tf.files.atomic import atomic_path, write_atomically
    from dptn_tf.files.finite import model_weights, require_finite
    from dptn_tf.training.backups import Backup, NonFiniteTrainingError, StopOnNonFiniteLoss
    from dptn_tf.training.model import global_step
    from dptn_tf.training.summaries import SampleImages, TrainingSummaries
    from dptn_tf.training.distribute import (
        describe,
        distributed_batches,
        evaluation_steps,
    )
    from dptn_tf.training.progress import ProgressLines

    run_dir, data = config.train.run_dir, config.data
    strategy, chief, steps_per_epoch = setup.strategy, setup.chief, setup.steps_per_epoch
    train_index, test_index = setup.train_index, setup.test_index
    print(f"Training on {describe(strategy)}", flush=True)
    keras.utils.set_random_seed(config.train.seed)
    with strategy.scope():
        model = training.build_dptn(config)
        optimizers = training.make_optimizers(config.train, steps_per_epoch)
        model.compile(*optimizers, jit_compile=config.train.jit_compile)

    backup_dir = tf.io.gfile.join(run_dir, "backup")
    backup = Backup(backup_dir, model, steps_per_epoch, keep=config.train.keep_backups,
                    strategy=strategy)
    try:
        initial_epoch = backup.restore()
    except ValueError as error:  # no backup reads back whole, or one from another epoch length
        print(f"error: {error}", file=sys.stderr)
        return 2
    epochs = config.train.niter + config.train.niter_decay
    callbacks = [StopOnNonFiniteLoss(backup), backup]
    terminal = is_terminal()
    if chief:
        logs = tf.io.gfile.join(run_dir, "logs")  # TensorBoard's runs "train" and "validation"
        writer = tf.summary.create_file_writer(tf.io.gfile.join(logs, "train"))
        callbacks += [
            TrainingSummaries(writer,
                              tf.summary.create_file_writer(tf.io.gfile.join(logs, "validation")),
                              config.train.log_every, config.to_yaml()),
            SampleImages(writer, sample_batch(config, test_index), data.old_size,
                         config.train.image_every, tf.io.gfile.join(run_dir, "samples")),
        ]
        if not terminal:
            callbacks.append(ProgressLines(config.train.log_every, steps_per_epoch, epochs))
    validation = distributed_batches(strategy, config, test_index)
    test_steps = evaluation_steps(config, test_index)
    try:
        if initial_epoch < epochs:  # else a finished run was stopped before its final report
            model.fit(distributed_batches(strategy, config, train_index,
                                          first_batch=initial_epoch * steps_per_epoch),
                      epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                      validation_data=validation,
                      validation_steps=min(config.train.validation_steps or test_steps,
                                           test_steps),
                      callbacks=callbacks, verbose=1 if terminal and chief else 0,
                      shuffle=False)  # the pipeline shuffles by itself
    except NonFiniteTrainingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    # The final figures cover the whole test split, whatever train.validation_steps says.
    generated = model.evaluate(validation, steps=test_steps, return_dict=True, verbose=0)
    generated = {name: float(value) for name, value in generated.items()}
    baseline = training.copy_source_baseline(make_dataset(data, "test", index=test_index))
    print(report(generated, baseline, test_index.num_pairs))
    if chief:
        generator_path = tf.io.gfile.join(run_dir, "generator.keras")
        generator = training.float32_inference_generator(model.generator, config.model)
        require_finite(model_weights(generator), generator_path)
        with atomic_path(generator_path) as temporary:
            generator.save(temporary)
        figures = {"generated": generated, "copy_source": baseline,
                   "test_pairs": test_index.num_pairs, "step": global_step(model)}
        write_atomically(tf.io.gfile.join(run_dir, "validation.json"),
                         json.dumps(figures, indent=2) + "\n")
        print(f"Inference generator: {generator_path}; "
              f"TensorBoard: tensorboard --logdir {logs}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    # The input pipeline runs twice as fast on a CPU with TensorFlow's BFC allocator
    # (`dptn_tf/data/pipeline.py`); it is read when TensorFlow runs its first op.
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    quiet_tensorflow(args.verbose)
    from dptn_tf.files.directory_lock import DirectoryInUseError

    with contextlib.ExitStack() as run_directory:
        try:
            config = resolve_config(args)
            setup = prepare(config, run_directory)
        except (ValueError, FileNotFoundError, DirectoryInUseError) as error:
            print(f"error: {error}", file=sys.stderr)  # a bad configuration or data set
            return 2
        if setup.finished:
            print(setup.finished)
            return 0
        return train(config, setup)


if __name__ == "__main__":
    sys.exit(main())
