"""Backups of a DPTN training run, and the stop at the first non-finite loss.

A backup is written at every epoch's end under a new name, checked for NaN and infinity first,
and restored on resume (in a multi-worker run by the chief, then sent to the other workers).
Keras' `BackupAndRestore` falls short: it overwrites its weights file in place, so a kill during
the write loses it. Steps are the generator optimizer's iteration count, which a backup restores,
so a resumed run carries on with the same step numbers.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import uuid

import keras
import tensorflow as tf

from dptn_tf.files.finite import describe, non_finite_names
from dptn_tf.training.distribute import broadcast_from_chief, is_chief, is_multi_worker
from dptn_tf.training.model import global_step


class NonFiniteTrainingError(RuntimeError):
    """A loss or a weight became NaN or infinite; the message names the last good backup."""


class BackupError(ValueError):
    """No backup of the run directory can be resumed from; the message says why."""


class Backup(keras.callbacks.Callback):
    """Saves both networks and both optimizers at the end of every epoch; `restore` resumes.

    A `tf.train.CheckpointManager` writes each backup under a new name and only then points its
    `checkpoint` file at it (an atomic rename), so a run killed at any moment leaves the previous
    backup intact and readable. The learning-rate schedules follow the optimizers' restored
    iteration counts. The last `keep` backups are kept (the final one stays after training).
    Weights are checked before each save: a backup never holds NaN or infinity (the losses of a
    step are computed before its update, so they cannot vouch for the weights after it).

    In a multi-worker run only the chief reads and writes `directory`: it restores, then sends
    every variable to the other workers; they take part in each save (as `tf.distribute`
    wants) in a temporary folder of their own, deleted again.

    Args:
        directory: where backups go (`<run_dir>/backup`, a local path or a URL).
        model: the `DPTN` model, compiled in `strategy`'s scope.
        steps_per_epoch: steps of one epoch; a backup always falls on an epoch's end.
        keep: backups kept on disk.
        strategy: the run's strategy (default: the current one).
    """

    def __init__(
        self,
        directory,
        model,
        steps_per_epoch: int,
        keep: int = 2,
        strategy: tf.distribute.Strategy | None = None,
    ):
        super().__init__()
        self.directory = str(directory)
        self.steps_per_epoch = steps_per_epoch
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief = is_chief(self.strategy)
        self.checkpoint = tf.train.Checkpoint(
            generator=model.generator,
            discriminator=model.discriminator,
            generator_optimizer=model.generator_optimizer,
            discriminator_optimizer=model.discriminator_optimizer,
        )
        write_to = (
            self.directory
            if self.chief
            else os.path.join(tempfile.gettempdir(), f"dptn-backup-{uuid.uuid4().hex[:8]}")
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_to, keep, checkpoint_name="backup"
        )
        self.last_good: tuple[str, int] | None = None  # (path, step) of the newest good backup

    def named_variables(self) -> list:
        """`(name, variable)` of everything a backup holds."""
        parts = ("generator", "discriminator", "generator_optimizer", "discriminator_optimizer")
        return [
            (f"{part}:{variable.path}", variable)
            for part in parts
            for variable in getattr(self.checkpoint, part).variables
        ]

    def restore(self) -> int:
        """Load the newest backup that reads back whole and finite; -> the epoch to start from
        (0 without a backup). A damaged newer backup is skipped with a warning. In a
        multi-worker run the chief reads it and sends every variable to the other workers."""
        path = self._restore_newest_good() if self.chief else None
        if is_multi_worker(self.strategy):
            broadcast_from_chief(self.strategy, [v for _, v in self.named_variables()])
        step = int(self.checkpoint.generator_optimizer.iterations.numpy())
        if step % self.steps_per_epoch:
            raise BackupError(
                f"{path or self.directory}: backup at step {step}, which is not the end of an "
                f"epoch of {self.steps_per_epoch} steps; was the run started with another "
                "train.steps_per_epoch or data.batch_size?"
            )
        if path is not None:
            print(f"Resuming from {path} (epoch {step // self.steps_per_epoch}, step {step})")
            self.last_good = (path, step)
        return step // self.steps_per_epoch

    def _restore_newest_good(self) -> str | None:
        """Restore the newest listed backup that reads back whole and finite; -> its path."""
        state = tf.train.get_checkpoint_state(self.directory)
        skipped = []
        for path in reversed(state.all_model_checkpoint_paths if state else []):
            try:
                self.checkpoint.restore(path).assert_consumed()
            except Exception as error:  # a damaged file fails in many ways (OpError, IndexError..)
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                skipped.append(f"{path}: {reason}")
                continue
            bad = non_finite_names(self.named_variables())
            if bad:
                skipped.append(f"{path}: NaN or infinity in {describe(bad)}")
                continue
            for reason in skipped:
                print(f"warning: skipped the unreadable backup {reason}", file=sys.stderr)
            return path
        if skipped:
            raise BackupError(
                f"{self.directory}: no backup reads back whole and finite:\n  "
                + "\n  ".join(skipped)
            )
        return None

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        bad = non_finite_names(self.named_variables())
        if bad:
            raise NonFiniteTrainingError(
                self.stop_message(
                    f"NaN or infinity in the weights after step {step} ({describe(bad)})"
                )
            )
        path = self.manager.save(checkpoint_number=epoch + 1)
        if self.chief:
            self.last_good = (path, step)
        else:
            tf.io.gfile.rmtree(self.manager.directory)

    def stop_message(self, problem: str) -> str:
        """Why training stops, what is safe on disk and what to change."""
        if self.last_good is None:
            safe = "No backup was written yet: running again starts from the beginning"
        else:
            path, step = self.last_good
            safe = f"The last good backup is {path} (step {step}): running again resumes from it"
        return (
            f"{problem}; training stopped and nothing was saved. {safe}. Before that, "
            "lower the learning rate (--set train.lr=...) or check the data."
        )


def is_backup_leftover(name: str, path: str) -> bool:
    """Whether `name` is what a killed save leaves in a backup directory: TensorFlow stages a
    backup in `<name>_temp/` and the `checkpoint` file in `checkpoint.tmp<hex>`. Backups the
    `checkpoint` file does not list are not: they are never read, and the next save of their
    number replaces them."""
    return name.startswith("checkpoint.tmp") or (name.endswith("_temp") and tf.io.gfile.isdir(path))


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first step whose losses are not finite, before anything is saved.

    Unlike `keras.callbacks.TerminateOnNaN`, which lets the epoch end (and so a backup of the
    broken weights be written), this raises `NonFiniteTrainingError` out of `fit` at once, with
    `backup`'s account of the last good backup. It reads the step's losses, as the progress bar
    does; the weights are checked by `Backup`, once per epoch, before its save.
    """

    def __init__(self, backup: Backup):
        super().__init__()
        self.backup = backup

    def on_train_batch_end(self, batch, logs=None):
        bad = sorted(
            name for name, value in (logs or {}).items() if not math.isfinite(float(value))
        )
        if bad:
            raise NonFiniteTrainingError(
                self.backup.stop_message(
                    f"non-finite loss ({', '.join(bad)}) at step {global_step(self.model)}"
                )
            )
