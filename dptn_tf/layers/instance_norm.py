"""Instance normalisation with PyTorch's arithmetic (`InstanceNorm1d/2d(affine=True)`)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dptn_tf")
class InstanceNormalization(keras.layers.Layer):
    """Normalises each channel of each sample over its positions, then scales and shifts.

    Works on feature maps `[B, H, W, C]` and on token sequences `[B, L, C]` alike, which is why the
    Pose Transformer's "instance norm over tokens" and the encoders' 2-D instance norm share it.
    Statistics are the biased mean/variance of the current sample (no running averages), computed
    in float32 even under mixed precision.

    Args:
        epsilon: added to the variance, 1e-5 as in PyTorch.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        axes = tuple(range(1, len(inputs.shape) - 1))
        mean, variance = ops.moments(x, axes=axes, keepdims=True)
        x = (x - mean) * ops.rsqrt(variance + self.epsilon)
        x = x * ops.cast(self.gamma, "float32") + ops.cast(self.beta, "float32")
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
