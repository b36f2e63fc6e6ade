"""Pose Transformer Module (PTM): where DPTN's two tasks exchange information."""

import keras
from keras import ops

from dptn_tf.layers.context_augment_block import ContextAugmentBlock
from dptn_tf.layers.instance_norm import InstanceNormalization
from dptn_tf.layers.texture_transfer_block import TextureTransferBlock


@keras.saving.register_keras_serializable(package="dptn_tf")
class PoseTransformerModule(keras.layers.Layer):
    """CABs on the source-to-source features, TTBs on the source-to-target features.

    Takes three NHWC feature maps of equal shape (`F_ss`, `F_st`, `F_s`), treats their H*W
    positions as tokens, and returns the refined `F_st` as a feature map:
    `memory = CABs(F_ss); out = IN(TTBs(F_st, memory, F_s))`.

    Args:
        num_heads: attention heads of every block.
        num_cabs: number of Context Augment Blocks.
        num_ttbs: number of Texture Transfer Blocks.
        negative_slope: LeakyReLU slope of the feed-forward layers.
        epsilon: instance-norm epsilon.

    Call arguments:
        return_attention_scores: also return a dict of attention maps `[B, heads, L_query, L_key]`
            keyed `"<block name>/self_attention"` and `"<block name>/cross_attention"`; the TTBs'
            cross-attention says where in the source each target position takes its texture.

    Reference: Zhang et al., CVPR 2022, Sec. 3.2, Fig. 3.
    """

    def __init__(
        self, num_heads=2, num_cabs=2, num_ttbs=2, negative_slope=0.1, epsilon=1e-5, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.num_cabs = num_cabs
        self.num_ttbs = num_ttbs
        self.negative_slope = negative_slope
        self.epsilon = epsilon

    def build(self, source_to_source_shape, source_to_target_shape, source_shape):
        tokens_shape = (source_to_source_shape[0], None, source_to_source_shape[-1])
        block_args = dict(
            num_heads=self.num_heads,
            negative_slope=self.negative_slope,
            epsilon=self.epsilon,
            dtype=self.dtype_policy,
        )
        self.context_augment_blocks = []
        for i in range(self.num_cabs):
            block = ContextAugmentBlock(name=f"context_augment_block_{i}", **block_args)
            block.build(tokens_shape)
            self.context_augment_blocks.append(block)
        self.texture_transfer_blocks = []
        for i in range(self.num_ttbs):
            block = TextureTransferBlock(name=f"texture_transfer_block_{i}", **block_args)
            block.build(tokens_shape, tokens_shape, tokens_shape)
            self.texture_transfer_blocks.append(block)
        # Right after the last TTB's norm: see InstanceNormalization's `precision`.
        self.output_norm = InstanceNormalization(
            self.epsilon, precision="float64", name="output_norm", dtype=self.dtype_policy
        )
        self.output_norm.build(tokens_shape)

    def call(self, source_to_source, source_to_target, source, return_attention_scores=False):
        shape = ops.shape(source_to_target)
        channels = source_to_target.shape[-1]

        def tokens(feature_map):
            return ops.reshape(feature_map, (shape[0], -1, channels))

        scores = {}
        memory = tokens(source_to_source)
        for block in self.context_augment_blocks:
            memory, scores[f"{block.name}/self_attention"] = block(
                memory, return_attention_scores=True
            )
        value = tokens(source)
        target = tokens(source_to_target)
        for block in self.texture_transfer_blocks:
            target, block_scores = block(target, memory, value, return_attention_scores=True)
            for kind, score in block_scores.items():
                scores[f"{block.name}/{kind}"] = score
        target = self.output_norm(target)
        output = ops.reshape(target, shape)
        if return_attention_scores:
            return output, scores
        return output

    def compute_output_shape(
        self, source_to_source_shape, source_to_target_shape=None, source_shape=None
    ):
        return source_to_source_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "num_cabs": self.num_cabs,
            "num_ttbs": self.num_ttbs,
            "negative_slope": self.negative_slope,
            "epsilon": self.epsilon,
        }
