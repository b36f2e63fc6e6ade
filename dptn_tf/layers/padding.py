"""Border layers Keras core lacks or computes slowly: reflection padding (DPTN's output head)
and the crop that makes a transposed convolution PyTorch's."""

import keras
import tensorflow as tf
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


@keras.saving.register_keras_serializable(package="dptn_tf")
class LeadingCrop2D(keras.layers.Layer):
    """Drops the first `pixels` rows and columns of an NHWC tensor.

    `keras.layers.Cropping2D(((p, 0), (p, 0)))` computes the same, but through a strided slice,
    whose gradient TensorFlow computes an order of magnitude slower on a CPU than that of a
    plain slice (a padding).

    Args:
        pixels: rows dropped at the top and columns dropped at the left.
    """

    def __init__(self, pixels=1, **kwargs):
        super().__init__(**kwargs)
        self.pixels = pixels

    def call(self, inputs):
        p = self.pixels
        return tf.slice(inputs, [0, p, p, 0], [-1, -1, -1, -1])

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        shrink = lambda size: None if size is None else size - self.pixels  # noqa: E731
        return (batch, shrink(height), shrink(width), channels)

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels}
