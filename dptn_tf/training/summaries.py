"""What a DPTN training run shows in TensorBoard: loss and learning-rate scalars, validation
figures, the configuration, and grids of sample images (also written as PNG files).

Steps are the generator optimizer's iteration count, which a backup restores, so a resumed run
carries on with the same step numbers. Keras' `TensorBoard` callback falls short here: it counts
batches from 0 in every `fit` and logs one optimizer's learning rate.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from dptn_tf.files.atomic import write_atomically
from dptn_tf.models.generator import INPUT_NAMES
from dptn_tf.pose import scale_keypoints
from dptn_tf.training.model import global_step
from dptn_tf.visualization import draw_skeleton, image_grid, to_uint8

SAMPLE_COLUMNS = ("source", "source skeleton", "target skeleton", "ground truth",
                  "generated target", "source reconstruction")  # fmt: skip


class TrainingSummaries(keras.callbacks.Callback):
    """Scalars for TensorBoard: every reported loss term and both learning rates every `every`
    steps, the validation figures at the end of each epoch, and the run's configuration as text.

    Loss values are running means over the current epoch, as the progress bar shows them.
    Tags: `Loss/<name>`, `LR/G_x1000`, `LR/D_x1000` (while D trains), `config` go to `writer`
    (TensorBoard's run `train` when it writes to `logs/train`), `Validation/<name>` to
    `validation_writer`. The
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
        self.learning_rates = {"LR/G_x1000": 1000 * float(model.generator_optimizer.learning_rate)}
        if model.loss_config.lambda_g:  # else D is not trained: no card for a rate nothing uses
            self.learning_rates["LR/D_x1000"] = 1000 * float(
                model.discriminator_optimizer.learning_rate
            )

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
                    tf.summary.scalar(f"Validation/{name[len('val_') :]}", value)
        self.writer.flush()
        self.validation_writer.flush()


class SampleImages(keras.callbacks.Callback):
    """Every `every` steps and at the end, a grid of fixed test pairs, to TensorBoard (tag
    `samples`) and as `<directory>/step-<step>.png`.

    One row per pair, the columns of `SAMPLE_COLUMNS` (without the source reconstruction when
    the run has no source-to-source task: that branch is not trained).

    Args:
        writer: the run's summary writer.
        batch: a batch from `dptn_tf.data.make_dataset` (numpy or tensors), with keypoints.
        old_size: the keypoints' frame (`DataConfig.old_size`).
        every: steps between grids.
        directory: where the PNG files go (a local path or a URL).
    """

    def __init__(self, writer, batch, old_size, every: int, directory):
        super().__init__()
        self.writer = writer
        self.every = every
        self.directory = str(directory)
        self.inputs = {name: np.asarray(batch[name]) for name in INPUT_NAMES}
        self.target_images = np.asarray(batch["target_image"])
        load_size = self.target_images.shape[1:3]
        self.skeletons = {
            role: [
                draw_skeleton(scale_keypoints(k, old_size, load_size), load_size)
                for k in np.asarray(batch[f"{role}_keypoints"])
            ]
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
        columns = len(SAMPLE_COLUMNS) if self.model.source_task else len(SAMPLE_COLUMNS) - 1
        tiles = []
        for i in range(len(sources)):
            row = [
                sources[i],
                self.skeletons["source"][i],
                self.skeletons["target"][i],
                targets[i],
                generated[i],
                reconstructed[i],
            ]
            tiles += row[:columns]
        return image_grid(tiles, columns=columns)

    def write(self, step: int):
        grid = self.grid()
        with self.writer.as_default():
            tf.summary.image("samples", grid[np.newaxis], step=step)
        write_atomically(
            tf.io.gfile.join(self.directory, f"step-{step:07d}.png"), tf.io.encode_png(grid).numpy()
        )
        self.last_step = step
