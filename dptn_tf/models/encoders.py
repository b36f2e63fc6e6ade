"""The two encoders of DPTN: the shared pose encoder En_c (with its residual blocks) and En_s."""

import keras

from dptn_tf.config import ModelConfig
from dptn_tf.models.building_blocks import encoder_stack, part_input, residual_block


def build_shared_encoder(config: ModelConfig) -> keras.Model:
    """En_c followed by the residual blocks: `[x, p_a, p_b]` (39 channels) -> H/8 features.

    Both branches of the Siamese generator call this one model, so they share its weights.
    """
    channels = config.image_channels + 2 * config.pose_channels
    inputs = part_input(channels, "image_and_poses")
    x = encoder_stack(inputs, config)
    for i in range(config.num_blocks):
        x = residual_block(x, config, f"residual{i}")
    return keras.Model(inputs, x, name="shared_encoder")


def build_source_encoder(config: ModelConfig) -> keras.Model:
    """En_s: the source image alone -> H/8 texture features (the PTM's values)."""
    inputs = part_input(config.image_channels, "source_image")
    return keras.Model(inputs, encoder_stack(inputs, config), name="source_encoder")
