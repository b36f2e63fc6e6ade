"""Texture Transfer Block (TTB): DPTN's post-norm transformer decoder layer."""

import keras

from dptn_tf.layers.attention_sublayer import AttentionSublayer
from dptn_tf.layers.feedforward import FeedForward


@keras.saving.register_keras_serializable(package="dptn_tf")
class TextureTransferBlock(keras.layers.Layer):
    """Moves source texture onto the source-to-target tokens.

    `t = IN1(t + SelfAttn(t)); t = IN2(t + CrossAttn(q=t, k=memory, v=value)); t = IN3(t + FFN(t))`.
    The keys are the CAB-augmented source-to-source features (`memory`), the values the source
    image features (`value`): attention is computed between poses, texture comes from the image.

    Args:
        num_heads: attention heads; must divide the token width.
        feedforward_dim: hidden width of the feed-forward layer (None: the token width).
        negative_slope: LeakyReLU slope of the feed-forward layer.
        epsilon: instance-norm epsilon.

    Example:
    >>> block = TextureTransferBlock(num_heads=2)
    >>> x = keras.ops.ones((1, 128, 256))
    >>> block(x, x, x).shape
    (1, 128, 256)

    Reference: Zhang et al., CVPR 2022, Sec. 3.2.
    """

    def __init__(self, num_heads, feedforward_dim=None, negative_slope=0.1, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.feedforward_dim = feedforward_dim
        self.negative_slope = negative_slope
        self.epsilon = epsilon

    def build(self, target_shape, memory_shape, value_shape):
        policy = self.dtype_policy
        self.self_attention = AttentionSublayer(
            self.num_heads, self.epsilon, name="self_attention", dtype=policy
        )
        self.self_attention.build(target_shape, target_shape, target_shape)
        self.cross_attention = AttentionSublayer(
            self.num_heads, self.epsilon, name="cross_attention", dtype=policy
        )
        self.cross_attention.build(target_shape, value_shape, memory_shape)
        self.feedforward = FeedForward(
            self.feedforward_dim,
            self.negative_slope,
            self.epsilon,
            name="feedforward",
            dtype=policy,
        )
        self.feedforward.build(target_shape)

    def call(self, target, memory, value, return_attention_scores=False):
        target, self_scores = self.self_attention(
            target, target, target, return_attention_scores=True
        )
        target, cross_scores = self.cross_attention(
            target, value, memory, return_attention_scores=True
        )
        target = self.feedforward(target)
        if return_attention_scores:
            return target, {"self_attention": self_scores, "cross_attention": cross_scores}
        return target

    def compute_output_shape(self, target_shape, memory_shape=None, value_shape=None):
        return target_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "feedforward_dim": self.feedforward_dim,
            "negative_slope": self.negative_slope,
            "epsilon": self.epsilon,
        }
