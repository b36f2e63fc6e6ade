"""`model.init`: the official code's initial weights (`init_weights(net, "orthogonal")` and
PyTorch's attention draw) against Keras' own."""

import dataclasses
import math

import keras
import numpy as np
import pytest

from dptn_tf.config import ModelConfig
from dptn_tf.keras_internals import all_layers
from dptn_tf.models import build_discriminator, build_generator
from dptn_tf.models.initialization import OFFICIAL_GAIN

TINY = ModelConfig(
    ngf=8, img_f=32, num_blocks=1, num_cabs=1, num_ttbs=1, dis_ndf=8, dis_img_f=32, dis_layers=3,
    init="official",
)  # fmt: skip
ATTENTION_INPUTS = ("/query/kernel", "/key/kernel", "/value/kernel")


def _networks(config):
    keras.utils.set_random_seed(0)
    return build_generator(config), build_discriminator(config)


def _is_scaled_orthogonal(kernel: np.ndarray, gain: float) -> bool:
    """Rows or columns (whichever are fewer) of the inputs x outputs matrix orthogonal, of norm
    `gain`: what `torch.nn.init.orthogonal_` gives a PyTorch outputs x inputs weight."""
    matrix = kernel.reshape(-1, kernel.shape[-1])
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    return np.allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-3 * gain**2)


def test_official_kernels_are_orthogonal_with_the_official_gain_and_biases_zero():
    kernels = 0
    for network in _networks(TINY):
        for weight in network.trainable_weights:
            if weight.path.endswith("/bias"):
                assert not np.any(weight.numpy()), weight.path
            elif weight.path.endswith("/kernel") and not weight.path.endswith(ATTENTION_INPUTS):
                # every kernel, whatever its layer (the attention's output projection included)
                assert _is_scaled_orthogonal(weight.numpy(), OFFICIAL_GAIN), weight.path
                kernels += 1
    assert kernels > 20  # the encoders, decoder, feed-forwards and the discriminator's convs


def test_official_attention_draws_as_torch_multihead_attention():
    generator, _ = _networks(TINY)
    attentions = [
        layer
        for layer in all_layers(generator)
        if isinstance(layer, keras.layers.MultiHeadAttention)
    ]
    assert len(attentions) == 3  # one CAB's self-attention, one TTB's self- and cross-attention
    for attention in attentions:
        projections = (attention.query_dense, attention.key_dense, attention.value_dense)
        model_dim = projections[0].kernel.shape[0]
        limit = math.sqrt(6 / (4 * model_dim))  # Xavier-uniform over the packed [3C, C]
        packed = np.concatenate([d.kernel.numpy().reshape(model_dim, -1) for d in projections], 1)
        assert np.abs(packed).max() <= limit
        assert packed.std() == pytest.approx(limit / math.sqrt(3), rel=0.1)
        for dense in projections:
            assert not np.any(dense.bias.numpy())
        output = attention.output_dense.kernel.numpy()
        assert _is_scaled_orthogonal(output.reshape(model_dim, model_dim), OFFICIAL_GAIN)
        assert not np.any(attention.output_dense.bias.numpy())


def test_normalizations_keep_their_ones_and_zeros():
    generator, _ = _networks(TINY)
    scales = [w for w in generator.weights if w.path.endswith(("gamma", "beta"))]
    assert scales
    for weight in scales:
        expected = 1.0 if weight.path.endswith("gamma") else 0.0
        np.testing.assert_array_equal(weight.numpy(), expected, err_msg=weight.path)


def test_a_seed_draws_the_same_weights_and_keras_init_keeps_keras_defaults():
    first, second = _networks(TINY)[0], _networks(TINY)[0]
    for a, b in zip(first.weights, second.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    keras_generator = _networks(dataclasses.replace(TINY, init="keras"))[0]

    def output_kernel(generator):
        return generator.get_layer("decoder").get_layer("output_conv").kernel.numpy()

    kernel = output_kernel(keras_generator)
    height, width, channels_in, channels_out = kernel.shape
    limit = math.sqrt(6 / (height * width * (channels_in + channels_out)))  # Glorot uniform
    assert np.abs(kernel).max() == pytest.approx(limit, rel=0.05)
    assert kernel.std() > 10 * output_kernel(first).std()


def test_an_unknown_init_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"model.init: expected one of \('official', 'keras'\)"):
        build_generator(dataclasses.replace(TINY, init="xavier"))
