"""Custom Keras layers of DPTN, one per file, each registered serializable under `dptn_tf`.

Imports nothing from the rest of dptn_tf; `models` builds the networks from them.
"""

from dptn_tf.layers.attention_sublayer import AttentionSublayer
from dptn_tf.layers.batch_split import BatchSplit
from dptn_tf.layers.context_augment_block import ContextAugmentBlock
from dptn_tf.layers.feedforward import FeedForward
from dptn_tf.layers.image_frame import ImageFrame
from dptn_tf.layers.instance_norm import InstanceNormalization
from dptn_tf.layers.padding import LeadingCrop2D, ReflectionPadding2D
from dptn_tf.layers.pose_transformer import PoseTransformerModule
from dptn_tf.layers.spectral_norm import SpectralNormConv2D
from dptn_tf.layers.texture_transfer_block import TextureTransferBlock

__all__ = [
    "AttentionSublayer",
    "BatchSplit",
    "ContextAugmentBlock",
    "FeedForward",
    "ImageFrame",
    "InstanceNormalization",
    "LeadingCrop2D",
    "PoseTransformerModule",
    "ReflectionPadding2D",
    "SpectralNormConv2D",
    "TextureTransferBlock",
]
