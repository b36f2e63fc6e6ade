"""Splitting a batch into equal parts: the other half of running two inputs as one batch."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dptn_tf")
class BatchSplit(keras.layers.Layer):
    """`[parts * B, ...]` -> `parts` tensors `[B, ...]`, in order.

    The generator runs the source-to-source and source-to-target inputs through the shared
    encoder as one batch (`Concatenate(axis=0)`, then this): the same weights and arithmetic per
    sample, in larger matrix products, which a CPU runs faster than two small ones.

    It moves data only, so it never casts (under mixed precision the generator's float32 images
    stay float32).

    Args:
        parts: how many equal parts.
    """

    def __init__(self, parts=2, **kwargs):
        super().__init__(**{**kwargs, "autocast": False})
        self.parts = parts

    def call(self, inputs):
        return tuple(ops.split(inputs, self.parts, axis=0))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.parts
        return tuple((batch, *input_shape[1:]) for _ in range(self.parts))

    def get_config(self):
        return {**super().get_config(), "parts": self.parts}
