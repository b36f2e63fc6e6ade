"""Multi-head attention with DPTN's post-norm residual: `IN(query + Attention(query, key,
value))`."""

import keras

from dptn_tf.layers.instance_norm import InstanceNormalization


@keras.saving.register_keras_serializable(package="dptn_tf")
class AttentionSublayer(keras.layers.Layer):
    """The attention half of a CAB or TTB: standard multi-head attention (PyTorch's
    `nn.MultiheadAttention`: q/k/v and output projections with biases), a residual connection
    and instance norm over the tokens.

    Args:
        num_heads: attention heads; must divide the token width.
        epsilon: instance-norm epsilon.

    Call arguments:
        query, value, key: token sequences `[B, L, C]` (self-attention: the same tensor thrice).
        return_attention_scores: also return the `[B, heads, L_query, L_key]` attention map.
    """

    def __init__(self, num_heads, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.epsilon = epsilon

    def build(self, query_shape, value_shape, key_shape):
        model_dim = query_shape[-1]
        if model_dim % self.num_heads:
            raise ValueError(
                f"{self.name}: token width {model_dim} is not divisible by "
                f"num_heads={self.num_heads}"
            )
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, model_dim // self.num_heads, name="attention", dtype=self.dtype_policy
        )
        self.attention.build(query_shape, value_shape, key_shape)
        self.norm = InstanceNormalization(self.epsilon, name="norm", dtype=self.dtype_policy)
        self.norm.build(query_shape)

    def call(self, query, value, key, return_attention_scores=False):
        attended, scores = self.attention(query, value, key, return_attention_scores=True)
        output = self.norm(query + attended)
        return (output, scores) if return_attention_scores else output

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return query_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "epsilon": self.epsilon}
