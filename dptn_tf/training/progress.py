"""Training progress as plain lines, for a log file or a pipe.

Keras' progress bar redraws its line with carriage returns and colour codes wherever it runs
(it takes every POSIX system for a terminal), which turns a log file into one unreadable line.
`train.py` keeps the bar on a terminal and prints these lines everywhere else.
"""

from __future__ import annotations

import sys
import time

import keras

from dptn_tf.training.model import global_step


class ProgressLines(keras.callbacks.Callback):
    """One line every `every` steps (the step, the epoch, seconds per step, each reported
    loss) and one at the end of each epoch (the validation figures and the epoch's time).

    Args:
        every: steps between lines (`TrainConfig.log_every`).
        steps_per_epoch: steps of one epoch.
        epochs: epochs of the whole run.
        stream: where the lines go (default: stdout at the time of each line).
    """

    def __init__(self, every: int, steps_per_epoch: int, epochs: int, stream=None):
        super().__init__()
        self.every = every
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.stream = stream
        self.last = None  # (step, time) of the last line or the epoch's start

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        self.last = (global_step(self.model), self.epoch_start)

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every:
            return
        now = time.perf_counter()
        seconds = (now - self.last[1]) / max(step - self.last[0], 1)
        self.last = (step, now)
        epoch = (step - 1) // self.steps_per_epoch + 1
        losses = "  ".join(f"{name} {float(value):.4f}" for name, value in (logs or {}).items())
        self._print(
            f"step {step}/{self.steps_per_epoch * self.epochs}  epoch {epoch}/"
            f"{self.epochs}  {seconds:.2f} s/step  {losses}"
        )

    def on_epoch_end(self, epoch, logs=None):
        figures = "  ".join(
            f"{name} {float(value):.4f}"
            for name, value in (logs or {}).items()
            if name.startswith("val_")
        )
        self._print(
            f"epoch {epoch + 1}/{self.epochs} done in "
            f"{time.perf_counter() - self.epoch_start:.0f} s  {figures}".rstrip()
        )
