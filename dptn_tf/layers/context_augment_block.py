"""Context Augment Block (CAB): DPTN's post-norm transformer encoder layer."""

import keras

from dptn_tf.layers.attention_sublayer import AttentionSublayer
from dptn_tf.layers.feedforward import FeedForward


@keras.saving.register_keras_serializable(package="dptn_tf")
class ContextAugmentBlock(keras.layers.Layer):
    """Self-attention over the source-to-source tokens, then a feed-forward layer.

    `x = IN1(x + SelfAttn(x)); x = IN2(x + FFN(x))`, where IN is instance norm over the tokens
    (not layer norm) and there is no positional embedding, as in the official DPTN.

    Args:
        num_heads: attention heads; must divide the token width.
        feedforward_dim: hidden width of the feed-forward layer (None: the token width).
        negative_slope: LeakyReLU slope of the feed-forward layer.
        epsilon: instance-norm epsilon.

    Example:
    >>> block = ContextAugmentBlock(num_heads=2)
    >>> block(keras.ops.ones((1, 128, 256))).shape
    (1, 128, 256)

    Reference: Zhang et al., "Exploring Dual-task Correlation for Pose Guided Person Image
    Generation", CVPR 2022, Sec. 3.2.
    """

    def __init__(self, num_heads, feedforward_dim=None, negative_slope=0.1, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.feedforward_dim = feedforward_dim
        self.negative_slope = negative_slope
        self.epsilon = epsilon

    def build(self, tokens_shape):
        self.self_attention = AttentionSublayer(
            self.num_heads, self.epsilon, name="self_attention", dtype=self.dtype_policy
        )
        self.self_attention.build(tokens_shape, tokens_shape, tokens_shape)
        self.feedforward = FeedForward(
            self.feedforward_dim,
            self.negative_slope,
            self.epsilon,
            name="feedforward",
            dtype=self.dtype_policy,
        )
        self.feedforward.build(tokens_shape)

    def call(self, tokens, return_attention_scores=False):
        tokens, scores = self.self_attention(tokens, tokens, tokens, return_attention_scores=True)
        tokens = self.feedforward(tokens)
        return (tokens, scores) if return_attention_scores else tokens

    def compute_output_shape(self, tokens_shape):
        return tokens_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "feedforward_dim": self.feedforward_dim,
            "negative_slope": self.negative_slope,
            "epsilon": self.epsilon,
        }
