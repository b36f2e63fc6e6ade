"""The inference generator as one graph with its weights as constants, for repeated calls.

A Keras model reads its weights from variables at every call. As constants, TensorFlow's graph
optimiser casts them to bfloat16 once (mixed precision) instead of at every call, and oneDNN
reorders each convolution's filter into its blocked layout once and keeps it (it caches only
constant filters). On a 2-core Sapphire Rapids that makes bfloat16 inference at 256x176 a
quarter faster and float32 a few percent (`benchmarks/inference.py`). The constants are a copy
of the weights at the time of the call: freeze again after changing them.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

# No public TensorFlow 2 API freezes a function's variables; the TF Lite converter uses this one.
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from dptn_tf.models import INPUT_NAMES


def frozen_forward(generator: keras.Model) -> Callable[[dict], tf.Tensor]:
    """`inputs -> generated target` of an inference generator (`INPUT_NAMES` to NHWC float32
    tensors of any batch and size), computing what `generator(inputs, training=False)` does."""
    specs = {
        name: tf.TensorSpec((None, None, None, generator.input[name].shape[-1]), tf.float32)
        for name in INPUT_NAMES
    }
    traced = tf.function(lambda inputs: generator(inputs, training=False))
    frozen = convert_variables_to_constants_v2(traced.get_concrete_function(specs))
    # The frozen function takes its inputs flat, in the order of the flattened dict, and returns
    # its one output in a list.
    order = sorted(INPUT_NAMES)

    def forward(inputs: dict) -> tf.Tensor:
        return frozen(*(tf.convert_to_tensor(inputs[name], tf.float32) for name in order))[0]

    return forward
