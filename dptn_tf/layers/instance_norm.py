"""Instance normalisation with PyTorch's arithmetic (`InstanceNorm1d/2d(affine=True)`)."""

import contextlib

import keras
import tensorflow as tf

from dptn_tf.keras_internals import all_layers


@keras.saving.register_keras_serializable(package="dptn_tf")
class InstanceNormalization(keras.layers.Layer):
    """Normalises each channel of each sample over its positions, then scales and shifts.

    Works on feature maps `[B, H, W, C]` and on token sequences `[B, L, C]` alike, which is why the
    Pose Transformer's "instance norm over tokens" and the encoders' 2-D instance norm share it.
    Statistics are the biased mean/variance of the current sample (no running averages), computed
    in float32 even under mixed precision.

    Instance norm is batch norm with every (sample, channel) pair as a channel of its own, so it
    runs as one fused batch-norm kernel on `[1, positions, 1, B * C]` (forward and gradient each
    one op, three to four times faster on a CPU than the moments, subtractions and products
    spelled out, which is what PyTorch's instance norm does too).

    Args:
        epsilon: added to the variance, 1e-5 as in PyTorch.
        precision: "float32" (the fused kernel), or "float64" for a norm right after another
            norm's affine (the PTM's output norm): that makes the earlier scale and shift nearly
            irrelevant, their gradients cancel down to ~1e-5 of their size, and float32 keeps
            only two digits of what is left (float64 costs nothing on the PTM's few tokens).
    """

    def __init__(self, epsilon=1e-5, precision="float32", **kwargs):
        super().__init__(**kwargs)
        if precision not in ("float32", "float64"):
            raise ValueError(
                f"{self.name}: precision must be 'float32' or 'float64', got {precision!r}"
            )
        self.epsilon = epsilon
        self.precision = precision

    def build(self, input_shape):
        channels = input_shape[-1]
        # The statistics and the affine are float32 under mixed precision too: read the scale
        # and shift as float32 (autocast would round them to bfloat16 first).
        self.gamma = self.add_weight(
            shape=(channels,), initializer="ones", name="gamma", autocast=False
        )
        self.beta = self.add_weight(
            shape=(channels,), initializer="zeros", name="beta", autocast=False
        )

    def call(self, inputs):
        if self.precision == "float64":
            return self._float64(inputs)
        # The fused kernel takes float16/bfloat16 input as it is and keeps its statistics in
        # float32 (no casts to and from float32 around it).
        x = tf.convert_to_tensor(inputs)
        if x.dtype not in (tf.float16, tf.bfloat16, tf.float32):
            x = tf.cast(x, tf.float32)
        shape = tf.shape(x)
        batch, channels = shape[0], x.shape[-1]
        # [B, positions, C] -> [positions, B, C] -> one "image" of positions x (B * C) channels;
        # for B = 1 the transposes only relabel axes and copy nothing.
        stacked = tf.reshape(
            tf.transpose(tf.reshape(x, [batch, -1, channels]), [1, 0, 2]),
            [1, -1, 1, batch * channels],
        )
        normalized = tf.raw_ops.FusedBatchNormV3(
            x=stacked,
            scale=tf.tile(tf.cast(self.gamma, tf.float32), [batch]),
            offset=tf.tile(tf.cast(self.beta, tf.float32), [batch]),
            mean=tf.constant([], tf.float32),
            variance=tf.constant([], tf.float32),
            epsilon=self.epsilon,
            is_training=True,
        ).y
        outputs = tf.transpose(tf.reshape(normalized, [-1, batch, channels]), [1, 0, 2])
        return tf.cast(tf.reshape(outputs, shape), self.compute_dtype)

    def _float64(self, inputs):
        x = tf.cast(inputs, tf.float64)
        mean, variance = tf.nn.moments(x, list(range(1, len(inputs.shape) - 1)), keepdims=True)
        x = (x - mean) * tf.math.rsqrt(variance + self.epsilon)
        x = x * tf.cast(self.gamma, tf.float64) + tf.cast(self.beta, tf.float64)
        return tf.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "precision": self.precision}


@contextlib.contextmanager
def float32_norms(model: keras.Model):
    """Within the block, `model`'s float64 norms compute in float32: trace it there for a
    runtime without float64 kernels (LiteRT). float64 is for the gradients of training; a
    forward pass differs by float32 rounding only."""
    norms = [
        layer
        for layer in all_layers(model)
        if isinstance(layer, InstanceNormalization) and layer.precision == "float64"
    ]
    for norm in norms:
        norm.precision = "float32"
    try:
        yield model
    finally:
        for norm in norms:
            norm.precision = "float64"
