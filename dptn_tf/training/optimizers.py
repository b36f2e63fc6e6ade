"""Adam with `torch.optim.Adam`'s update, the optimizer of both DPTN networks.

Keras' Adam adds epsilon to `sqrt(v)` before the bias correction; PyTorch adds it after:
`w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`. At step 1 Keras' effective epsilon
is `1 / sqrt(1 - b2)` = 31.6 times PyTorch's, so weights with gradients near epsilon move
differently from the official run. The moments `m`, `v` and the step count are the same in both,
so this optimizer keeps Keras' variables (and checkpoint layout) and changes only the update.
"""

from __future__ import annotations

import keras
from keras import ops

from dptn_tf.keras_internals import adam_moments


@keras.saving.register_keras_serializable(package="dptn_tf")
class TorchAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` computing `torch.optim.Adam`'s update (no AMSGrad, no decay).

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        beta_1, beta_2: decay rates of the first and second moments.
        epsilon: added to the bias-corrected `sqrt(v)`; PyTorch's default 1e-8.
        **kwargs: `keras.optimizers.Optimizer` arguments (name, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        amsgrad=False,
        name="torch_adam",
        **kwargs,
    ):
        if amsgrad:
            raise ValueError("TorchAdam: amsgrad is not supported")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=False,
            name=name,
            **kwargs,
        )

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        bias_correction1 = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        bias_correction2_sqrt = ops.sqrt(1 - ops.power(ops.cast(self.beta_2, dtype), step))
        m, v = adam_moments(self, variable)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), bias_correction2_sqrt), self.epsilon)
        self.assign_sub(variable, ops.multiply(lr / bias_correction1, ops.divide(m, denominator)))
