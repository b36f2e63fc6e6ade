"""Callbacks of a DPTN training run: backups, the non-finite-loss stop and TensorBoard logging.

All of them take the global step from the generator optimizer's iteration count, which a backup
restores, so a resumed run carries on with the same step numbers. Keras' own callbacks fall short
here: `TensorBoard` counts batches from 0 in every `fit` and logs one optimizer's learning rate;
`BackupAndRestore` overwrites its weights file in place (a kill during the write loses it).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from dptn_tf.files.atomic import atomic_path
from dptn_tf.models.generator import INPUT_NAMES
from dptn_tf.pose import scale_keypoints
from dptn_tf.visualization import draw_skeleton, image_grid, to_uint8

SAMPLE_COLUMNS = ("source", "source skeleton", "target skeleton", "ground truth",
                  "generated target", "source reconstruction")  # fmt: skip


def global_step(model) -> int:
    """Generator updates so far: the run's step count."""
    return int(model.generator_optimizer.iterations.numpy())


class Backup(keras.callbacks.Callback):
    """Saves both networks and both optimizers at the end of every epoch; `restore` resumes.

    A `tf.train.CheckpointManager` writes each backup under a new name and only then points its
    `checkpoint` file at it (an atomic rename), so a run killed at any moment leaves the previous
    backup intact and readable. The learning-rate schedules follow the optimizers' restored
    iteration counts. The last `keep` backups are kept (the final one stays after training).

    Args:
        directory: where backups go (`<run_dir>/backup`).
        model: the `DPTN` model, compiled.
        steps_per_epoch: steps of one epoch; a backup always falls on an epoch's end.
        keep: backups kept on disk.
        worker_id: set on the non-chief workers of a multi-worker run: every worker must take
            part in a save, but theirs go to `<directory>/.worker-<id>`, deleted again.
    """

    def __init__(self, directory, model, steps_per_epoch: int, keep: int = 2,
                 worker_id: int | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.steps_per_epoch = steps_per_epoch
        self.scratch = worker_id is not None
        self.checkpoint = tf.train.Checkpoint(
            generator=model.generator,
            discriminator=model.discriminator,
            generator_optimizer=model.generator_optimizer,
            discriminator_optimizer=model.discriminator_optimizer,
        )
        write_to = self.directory / f".worker-{worker_id}" if self.scratch else self.directory
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(write_to), keep,
                                                  checkpoint_name="backup")

    def restore(self) -> int:
        """Load the latest backup, if any; -> the epoch to start from (0 without a backup)."""
        path = tf.train.latest_checkpoint(str(self.directory))
        if path is None:
            return 0
        self.checkpoint.restore(path).assert_consumed()
        step = int(self.checkpoint.generator_optimizer.iterations.numpy())
        if step % self.steps_per_epoch:
            raise ValueError(
                f"{path}: backup at step {step}, which is not the end of an epoch of "
                f"{self.steps_per_epoch} steps; was the run started with another "
                "train.steps_per_epoch or data.batch_size?")
        print(f"Resuming from {path} (epoch {step // self.steps_per_epoch}, step {step})")
        return step // self.steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        self.manager.save(checkpoint_number=epoch + 1)
        if self.scratch:
            shutil.rmtree(self.manager.directory, ignore_errors=True)


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first step whose losses are not finite, before anything is saved.

    Unlike `keras.callbacks.TerminateOnNaN`, which lets the epoch end (and so a backup of the
    broken weights be written), this raises `NonFiniteLossError` out of `fit` at once, so the
    last backup stays the last good one.
    """

    def __init__(self, backup_directory):
        super().__init__()
        self.backup_directory = backup_directory

    def on_train_batch_end(self, batch, logs=None):
        bad = sorted(name for name, value in (logs or {}).items()
                     if not math.isfinite(float(value)))
        if bad:
            raise NonFiniteLossError(
                f"non-finite loss ({', '.join(bad)}) at step {global_step(self.model)}; "
                f"training stopped without saving. The last good backup is in "
                f"{self.backup_directory}: running the same command resumes from it (lower "
                "train.lr or check the data if it happens again).")


class TrainingSummaries(keras.callbacks.Callback):
    """Scalars for TensorBoard: every reported loss term and both learning rates every `every`
    steps, the validation figures at the end of each epoch, and the run's configuration as text.

    Loss values are running means over the current epoch, as the progress bar shows them.
    Tags: `Loss/<name>`, `LR/G_x1000`, `LR/D_x1000`, `config` go to `writer` (TensorBoard's run
    `train` when it writes to `logs/train`), `Validation/<name>` to `validation_writer`. The
    rates are logged times 1000: TensorBoard shows at most 4 decimals, so D's rate (a tenth of
    G's, 2e-5 in the official setting) would read 0.
    """

    def __init__(self, writer, validation_writer, every: int, config_text: str):
        super().__init__()
        self.writer = writer
        self.validation_writer = validation_writer
        self.every = every
        self.config_text = config_text
        self.learning_rates = {}

    def on_train_begin(self, logs=None):
        with self.writer.as_default():
            tf.summary.text("config", f"```\n{self.config_text}\n```", step=global_step(self.model))

    def on_train_batch_begin(self, batch, logs=None):
        # The rates the coming step uses (afterwards the schedules give the next step's).
        model = self.model
        self.learning_rates = {
            "LR/G_x1000": 1000 * float(model.generator_optimizer.learning_rate),
            "LR/D_x1000": 1000 * float(model.discriminator_optimizer.learning_rate)}

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every:
            return
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"Loss/{name}", value)
            for tag, value in self.learning_rates.items():
                tf.summary.scalar(tag, value)

    def on_epoch_end(self, epoch, logs=None):
        with self.validation_writer.as_default(step=global_step(self.model)):
            for name, value in (logs or {}).items():
                if name.startswith("val_"):
                    tf.summary.scalar(f"Validation/{name[len('val_'):]}", value)
        self.writer.flush()
        self.validation_writer.flush()


class SampleImages(keras.callbacks.Callback):
    """Every `every` steps and at the end, a grid of fixed test pairs, to TensorBoard (tag
    `samples`) and as `<directory>/step-<step>.png`.

    One row per pair, the columns of `SAMPLE_COLUMNS`.

    Args:
        writer: the run's summary writer.
        batch: a batch from `dptn_tf.data.make_dataset` (numpy or tensors), with keypoints.
        old_size: the keypoints' frame (`DataConfig.old_size`).
        every: steps between grids.
        directory: where the PNG files go.
    """

    def __init__(self, writer, batch, old_size, every: int, directory):
        super().__init__()
        self.writer = writer
        self.every = every
        self.directory = Path(directory)
        self.inputs = {name: np.asarray(batch[name]) for name in INPUT_NAMES}
        self.target_images = np.asarray(batch["target_image"])
        load_size = self.target_images.shape[1:3]
        self.skeletons = {
            role: [draw_skeleton(scale_keypoints(k, old_size, load_size), load_size)
                   for k in np.asarray(batch[f"{role}_keypoints"])]
            for role in ("source", "target")
        }
        self.last_step = None

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every == 0:
            self.write(step)

    def on_train_end(self, logs=None):
        step = global_step(self.model)
        if step != self.last_step:
            self.write(step)

    def grid(self) -> np.ndarray:
        """The current sample grid, uint8."""
        outputs = self.model.generator(self.inputs, training=False)
        generated = to_uint8(outputs["generated_target"])
        reconstructed = to_uint8(outputs["reconstructed_source"])
        sources, targets = to_uint8(self.inputs["source_image"]), to_uint8(self.target_images)
        tiles = []
        for i in range(len(sources)):
            tiles += [sources[i], self.skeletons["source"][i], self.skeletons["target"][i],
                      targets[i], generated[i], reconstructed[i]]
        return image_grid(tiles, columns=len(SAMPLE_COLUMNS))

    def write(self, step: int):
        grid = self.grid()
        with self.writer.as_default():
            tf.summary.image("samples", grid[np.newaxis], step=step)
        with atomic_path(self.directory / f"step-{step:07d}.png") as temporary:
            temporary.write_bytes(tf.io.encode_png(grid).numpy())
        self.last_step = step
