"""Adam with `torch.optim.Adam`'s update, the optimizer of both DPTN networks.

Keras' Adam adds epsilon to `sqrt(v)` before the bias correction; PyTorch adds it after:
`w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`. At step 1 Keras' effective epsilon
is `1 / sqrt(1 - b2)` = 31.6 times PyTorch's, so weights with gradients near epsilon move
differently from the official run. The moments `m`, `v` and the step count are the same in both,
so this optimizer keeps Keras' variables (and checkpoint layout) and changes only the update.

The update runs as TensorFlow's fused `ResourceApplyAdam` kernel, one op per weight: spelled
out in Keras ops it is about ten small ops per weight, and DPTN's few hundred weights made
that a tenth of a bfloat16 training step on a CPU.
"""

from __future__ import annotations

import keras
import tensorflow as tf

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
        """`ResourceApplyAdam` computes `m`, `v` as Keras does and then
        `w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)`: with its epsilon set to
        `eps * sqrt(1 - b2^t)` that is PyTorch's update, multiplied through by `sqrt(1 - b2^t)`."""
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, dtype), step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, dtype), step)
        m, v = adam_moments(self, variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(m),
            v=_handle(v),
            beta1_power=beta_1_power,
            beta2_power=beta_2_power,
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype) * tf.sqrt(1 - beta_2_power),
            grad=tf.cast(gradient, dtype),
        )


def _handle(variable):
    """The resource handle of a Keras (or TensorFlow) variable; under a `tf.distribute` update,
    the one of the replica being updated."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle
