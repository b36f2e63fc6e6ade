"""Functional building blocks shared by the encoders and the decoder.

Each helper adds named layers to a functional graph. PyTorch's symmetric `padding=1` on a
4x4 stride-2 convolution and its `ConvTranspose2d(3, stride 2, padding 1, output_padding 1)`
have no exact TensorFlow `padding=` equivalent, so both are spelled out here.
"""

import keras

from dptn_tf.config import ModelConfig
from dptn_tf.layers import InstanceNormalization, LeadingCrop2D


def part_input(channels: int, name: str):
    """The NHWC input of a part (encoder, decoder), in the dtype its layers compute in.

    A nested functional model converts its input to its `Input`'s dtype: a float32 `Input`
    under mixed precision would cast the bfloat16 features it is given to float32, and its first
    layer back to bfloat16 (a tenth of the shared encoder's time at 256x176)."""
    dtype = keras.mixed_precision.global_policy().compute_dtype
    return keras.Input((None, None, channels), dtype=dtype, name=name)


def norm_activation(x, config: ModelConfig, name: str):
    """Instance norm then LeakyReLU, named `<name>_norm` / `<name>_act`."""
    x = InstanceNormalization(config.norm_epsilon, name=f"{name}_norm")(x)
    return keras.layers.LeakyReLU(config.negative_slope, name=f"{name}_act")(x)


def conv3x3(x, filters: int, name: str):
    """3x3 stride-1 convolution with one pixel of zero padding ('same' is symmetric here)."""
    return keras.layers.Conv2D(filters, 3, padding="same", name=name)(x)


def downsample_conv(x, filters: int, name: str):
    """4x4 stride-2 convolution with one pixel of zero padding on every side (halves H and W)."""
    x = keras.layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(filters, 4, strides=2, padding="valid", name=name)(x)


def upsample_conv(x, filters: int, name: str):
    """PyTorch's `ConvTranspose2d(3, stride=2, padding=1, output_padding=1)` (doubles H and W).

    A 'valid' transposed convolution writes input pixel i to outputs 2i..2i+2; PyTorch's padding
    of 1 shifts that to 2i-1..2i+1 and its output_padding keeps the last row, so the PyTorch
    result is the 'valid' result without its first row and column.
    """
    x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="valid", name=name)(x)
    return LeadingCrop2D(1, name=f"{name}_crop")(x)


def encoder_stack(x, config: ModelConfig):
    """En_c / En_s: one optimised block then `layers - 1` downsampling blocks (H/2 per block)."""
    ngf = config.ngf
    x = downsample_conv(x, ngf, "block0_down_conv")
    x = norm_activation(x, config, "block0")
    x = conv3x3(x, ngf, "block0_conv")
    mult = 1
    for i in range(config.layers - 1):
        mult = min(2 ** (i + 1), config.img_f // ngf)
        x = norm_activation(x, config, f"encoder{i}_1")
        x = downsample_conv(x, ngf * mult, f"encoder{i}_down_conv")
        x = norm_activation(x, config, f"encoder{i}_2")
        x = conv3x3(x, ngf * mult, f"encoder{i}_conv")
    return x


def residual_block(x, config: ModelConfig, name: str):
    """`IN, act, conv3x3, IN, act, conv3x3` plus a 1x1-conv shortcut, at constant width."""
    channels = x.shape[-1]
    y = norm_activation(x, config, f"{name}_1")
    y = conv3x3(y, channels, f"{name}_conv1")
    y = norm_activation(y, config, f"{name}_2")
    y = conv3x3(y, channels, f"{name}_conv2")
    shortcut = keras.layers.Conv2D(channels, 1, name=f"{name}_shortcut")(x)
    return keras.layers.Add(name=f"{name}_add")([y, shortcut])


def decoder_block(x, filters: int, config: ModelConfig, name: str):
    """Residual upsampling block: `IN, act, conv3x3, IN, act, convT` plus a convT shortcut."""
    y = norm_activation(x, config, f"{name}_1")
    y = conv3x3(y, filters, f"{name}_conv")
    y = norm_activation(y, config, f"{name}_2")
    y = upsample_conv(y, filters, f"{name}_up_conv")
    shortcut = upsample_conv(x, filters, f"{name}_shortcut")
    return keras.layers.Add(name=f"{name}_add")([y, shortcut])
