"""Reflection padding, which Keras core lacks (the output head of DPTN uses it)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dptn_tf")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width of an NHWC tensor by mirroring (`torch.nn.ReflectionPad2d`).

    Args:
        padding: pixels added on every side.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = lambda size: None if size is None else size + 2 * self.padding  # noqa: E731
        return (batch, grow(height), grow(width), channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}
