"""The feed-forward half of a CAB or TTB: `IN(x + Linear(LeakyReLU(Linear(x))))`."""

import keras

from dptn_tf.layers.instance_norm import InstanceNormalization


@keras.saving.register_keras_serializable(package="dptn_tf")
class FeedForward(keras.layers.Layer):
    """Position-wise `Linear -> LeakyReLU -> Linear`, a residual connection, instance norm.

    Args:
        hidden_dim: width of the hidden layer (DPTN uses the model width); None keeps the input
            width.
        negative_slope: LeakyReLU slope (0.1 in DPTN).
        epsilon: instance-norm epsilon.
    """

    def __init__(self, hidden_dim=None, negative_slope=0.1, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.negative_slope = negative_slope
        self.epsilon = epsilon

    def build(self, input_shape):
        model_dim = input_shape[-1]
        hidden_dim = self.hidden_dim or model_dim
        policy = self.dtype_policy
        self.inner = keras.layers.Dense(hidden_dim, name="inner", dtype=policy)
        self.inner.build(input_shape)
        self.activation = keras.layers.LeakyReLU(self.negative_slope, dtype=policy)
        self.outer = keras.layers.Dense(model_dim, name="outer", dtype=policy)
        self.outer.build((*input_shape[:-1], hidden_dim))
        self.norm = InstanceNormalization(self.epsilon, name="norm", dtype=policy)
        self.norm.build(input_shape)

    def call(self, tokens):
        return self.norm(tokens + self.outer(self.activation(self.inner(tokens))))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim,
            "negative_slope": self.negative_slope,
            "epsilon": self.epsilon,
        }
