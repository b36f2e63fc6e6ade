"""ResDiscriminator: the patch discriminator of DPTN, spectrally normalised throughout."""

import keras

from dptn_tf.config import ModelConfig
from dptn_tf.layers import SpectralNormConv2D
from dptn_tf.models.initialization import initialize


def _residual_down_block(
    x, filters: int, hidden: int, config: ModelConfig, name: str, preactivate: bool
):
    """`[act,] SNconv3x3, act, SNconv4x4/2` plus `avgpool2, SNconv1x1` shortcut."""
    act = lambda suffix: keras.layers.LeakyReLU(config.negative_slope, name=f"{name}_{suffix}")  # noqa: E731
    y = act("act1")(x) if preactivate else x
    y = SpectralNormConv2D(hidden, 3, padding=1, name=f"{name}_conv1")(y)
    y = act("act2")(y)
    y = SpectralNormConv2D(filters, 4, strides=2, padding=1, name=f"{name}_conv2")(y)
    shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    shortcut = SpectralNormConv2D(filters, 1, name=f"{name}_shortcut")(shortcut)
    return keras.layers.Add(name=f"{name}_add")([y, shortcut])


def build_discriminator(config: ModelConfig | None = None) -> keras.Model:
    """Image `[B, H, W, 3]` in [-1, 1] -> real/fake score map `[B, H/2^L, W/2^L, 1]`.

    `config.dis_layers` is 4 for DeepFashion and 3 for Market-1501. Calling the model with
    `training=True` advances the spectral-norm power iteration, as a PyTorch training forward does.
    """
    config = config or ModelConfig()
    ndf = config.dis_ndf
    image = keras.Input((None, None, config.image_channels), name="image")
    x = _residual_down_block(image, ndf, ndf, config, "block0", preactivate=False)
    mult = 1
    for i in range(config.dis_layers - 1):
        mult_prev, mult = mult, min(2 ** (i + 1), config.dis_img_f // ndf)
        x = _residual_down_block(
            x, ndf * mult, ndf * mult_prev, config, f"encoder{i}", preactivate=True
        )
    x = keras.layers.LeakyReLU(config.negative_slope, name="head_act")(x)
    scores = SpectralNormConv2D(1, 1, name="head_conv", dtype="float32")(x)
    return initialize(keras.Model(image, scores, name="dptn_discriminator"), config.init)
