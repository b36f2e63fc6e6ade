"""The shared decoder of DPTN with its output head."""

import keras

from dptn_tf.config import ModelConfig
from dptn_tf.layers import ReflectionPadding2D
from dptn_tf.models.building_blocks import decoder_block, part_input


def decoder_widths(config: ModelConfig) -> list[int]:
    """Output channels of each decoder block (default 128, 64, 64)."""
    widths = []
    for i in range(config.layers):
        last = i == config.layers - 1
        mult = 1 if last else min(2 ** (config.layers - i - 2), config.img_f // config.ngf)
        widths.append(config.ngf * mult)
    return widths


def build_decoder(config: ModelConfig) -> keras.Model:
    """H/8 features -> image in [-1, 1]; used by both tasks (one set of weights)."""
    inputs = part_input(config.bottleneck_channels, "features")
    x = inputs
    for i, filters in enumerate(decoder_widths(config)):
        x = decoder_block(x, filters, config, f"decoder{i}")
    x = keras.layers.LeakyReLU(config.negative_slope, name="output_act")(x)
    x = ReflectionPadding2D(1, name="output_pad")(x)
    x = keras.layers.Conv2D(config.image_channels, 3, padding="valid", name="output_conv")(x)
    # float32 output keeps images exact under a mixed-precision policy.
    x = keras.layers.Activation("tanh", dtype="float32", name="output_tanh")(x)
    return keras.Model(inputs, x, name="decoder")
