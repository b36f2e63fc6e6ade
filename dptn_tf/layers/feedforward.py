"""The position-wise feed-forward sub-layer shared by the CAB and the TTB."""

import keras


@keras.saving.register_keras_serializable(package="dptn_tf")
class FeedForward(keras.layers.Layer):
    """`Linear -> LeakyReLU -> Linear` applied to every token.

    Args:
        hidden_dim: width of the hidden layer (DPTN uses the model width); None keeps the input width.
        negative_slope: LeakyReLU slope (0.1 in DPTN).
    """

    def __init__(self, hidden_dim=None, negative_slope=0.1, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.negative_slope = negative_slope

    def build(self, input_shape):
        model_dim = input_shape[-1]
        hidden_dim = self.hidden_dim or model_dim
        self.inner = keras.layers.Dense(hidden_dim, name="inner", dtype=self.dtype_policy)
        self.inner.build(input_shape)
        self.activation = keras.layers.LeakyReLU(self.negative_slope, dtype=self.dtype_policy)
        self.outer = keras.layers.Dense(model_dim, name="outer", dtype=self.dtype_policy)
        self.outer.build((*input_shape[:-1], hidden_dim))

    def call(self, tokens):
        return self.outer(self.activation(self.inner(tokens)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "hidden_dim": self.hidden_dim,
                "negative_slope": self.negative_slope}
