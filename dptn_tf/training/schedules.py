"""The reference's "lambda" learning-rate policy as a Keras schedule.

The reference steps a PyTorch `LambdaLR` once per epoch; here the epoch is derived from the
optimizer's iteration count, so the schedule resumes correctly from a checkpoint by itself.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dptn_tf")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant for `niter` epochs, then linear decay towards zero over `niter_decay` epochs.

    During epoch `e` (counted from 1) the rate is
    `initial_learning_rate * (1 - max(0, e - niter) / (niter_decay + 1))`, with
    `e = step // steps_per_epoch + 1`: the reference's `lambda_rule` with `iter_start = 1`, as its
    `train.py` sets it. The last of the `niter + niter_decay` epochs runs at
    `1 / (niter_decay + 1)` of the initial rate; later epochs get zero, never a negative rate.

    Args:
        initial_learning_rate: the rate of the constant phase (`TrainConfig.lr`).
        steps_per_epoch: optimizer steps in one epoch.
        niter: epochs at the initial rate.
        niter_decay: epochs of linear decay.
    """

    def __init__(self, initial_learning_rate, steps_per_epoch, niter, niter_decay):
        least = {"steps_per_epoch": 1, "niter": 0, "niter_decay": 0}
        counts = {"steps_per_epoch": steps_per_epoch, "niter": niter, "niter_decay": niter_decay}
        for field, value in counts.items():
            if not isinstance(value, numbers.Integral) or value < least[field]:
                raise ValueError(f"{field}: expected an integer >= {least[field]}, got {value!r}")
        self.initial_learning_rate = initial_learning_rate
        self.steps_per_epoch = int(steps_per_epoch)
        self.niter = int(niter)
        self.niter_decay = int(niter_decay)

    def __call__(self, step):
        epoch = ops.floor_divide(ops.cast(step, "int64"), self.steps_per_epoch) + 1
        decay_epochs = ops.cast(ops.maximum(epoch - self.niter, 0), "float32")
        factor = ops.maximum(1.0 - decay_epochs / (self.niter_decay + 1), 0.0)
        return self.initial_learning_rate * factor

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "niter": self.niter,
            "niter_decay": self.niter_decay,
        }
