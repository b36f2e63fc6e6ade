"""DPTN's initial weights, drawn as the official code draws them (`ModelConfig.init`).

The official networks go through `init_weights(net, "orthogonal")`: every convolution and linear
kernel is orthogonal with gain 0.02 and every bias 0, while the attention's query, key and value
projections keep PyTorch's own draw (Xavier-uniform over the three stacked, biases 0) and the
normalizations their ones and zeros. Keras' defaults (Glorot-uniform kernels) are 10 to 50 times
larger, and a run that starts there is another run: in `benchmarks/long_run_parity.py` the
official code's start and Keras' learn differently within the same 1,000 steps.
"""

from __future__ import annotations

import math

import keras

from dptn_tf.keras_internals import all_layers
from dptn_tf.layers import SpectralNormConv2D

INITS = ("official", "keras")  # `ModelConfig.init`
OFFICIAL_GAIN = 0.02  # `init_weights`' gain
_KERNEL_LAYERS = (
    keras.layers.Conv2D,
    keras.layers.Conv2DTranspose,
    keras.layers.Dense,
    SpectralNormConv2D,
)


def initialize(model: keras.Model, init: str) -> keras.Model:
    """Draw `model`'s weights as `init` says: "official" (the official code's) or "keras" (the
    layers' own defaults, already drawn when they were built). Returns `model`."""
    if init not in INITS:
        raise ValueError(f"model.init: expected one of {INITS}, got {init!r}")
    if init == "official":
        for layer in all_layers(model):
            if isinstance(layer, keras.layers.MultiHeadAttention):
                _initialize_attention(layer)
            elif isinstance(layer, _KERNEL_LAYERS):
                _orthogonal(layer)
    return model


def _orthogonal(layer) -> None:
    """An orthogonal kernel of gain 0.02 and a zero bias. Keras flattens a kernel to (all axes
    but the last) x (the last), PyTorch its weight to (the first) x (the rest): the same axis
    (outputs, or a transposed convolution's inputs) stands alone, so the draws are alike."""
    layer.kernel.assign(keras.initializers.Orthogonal(OFFICIAL_GAIN)(layer.kernel.shape))
    if getattr(layer, "bias", None) is not None:
        layer.bias.assign(keras.ops.zeros(layer.bias.shape))


def _initialize_attention(attention: keras.layers.MultiHeadAttention) -> None:
    """`torch.nn.MultiheadAttention`'s start under `init_weights`: its packed `[3C, C]` input
    projection Xavier-uniform (so each of query, key and value uniform within sqrt(6 / 4C)), its
    output projection (an `nn.Linear`) orthogonal of gain 0.02, every bias 0."""
    projections = (attention.query_dense, attention.key_dense, attention.value_dense)
    model_dim = projections[0].kernel.shape[0]
    limit = math.sqrt(6.0 / (model_dim + 3 * model_dim))
    for dense in projections:
        dense.kernel.assign(keras.random.uniform(dense.kernel.shape, -limit, limit))
        dense.bias.assign(keras.ops.zeros(dense.bias.shape))
    _orthogonal(attention.output_dense)
