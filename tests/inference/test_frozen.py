"""frozen_forward: the inference generator with its weights as constants computes what the Keras
model computes, at any batch and size, in float32 and under mixed precision."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.inference.frozen import frozen_forward
from dptn_tf.models import INPUT_NAMES, build_generator, inference_generator
from dptn_tf.training.distribute import set_precision
from helpers.training import TINY_GENERATOR, random_batch


def _inputs(batch, height, width):
    arrays = random_batch(batch, (height, width))
    return {name: arrays[name] for name in INPUT_NAMES}


@pytest.fixture
def policy(request):
    set_precision(request.param == "mixed")
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["float32", "mixed"], indirect=True)
def test_frozen_forward_equals_the_keras_model_at_any_batch_and_size(policy):
    generator = inference_generator(build_generator(TINY_GENERATOR))
    forward = frozen_forward(generator)
    for batch, height, width in ((1, 32, 16), (3, 16, 24)):
        inputs = _inputs(batch, height, width)
        expected = generator(inputs, training=False)
        got = forward(inputs)
        assert got.shape == (batch, height, width, 3)
        assert got.dtype == expected.dtype
        # the same graph; only the order of summation inside oneDNN's kernels may differ
        tolerance = 1e-5 if policy == "float32" else 2e-2
        np.testing.assert_allclose(got, expected, atol=tolerance)


def test_frozen_forward_keeps_the_weights_it_was_given():
    generator = inference_generator(build_generator(TINY_GENERATOR))
    inputs = _inputs(1, 16, 16)
    forward = frozen_forward(generator)
    before = forward(inputs).numpy()
    for weight in generator.weights:
        weight.assign(tf.zeros_like(weight))
    np.testing.assert_array_equal(forward(inputs), before)
    assert not np.allclose(frozen_forward(generator)(inputs), before)


def test_frozen_forward_of_a_generator_without_pose_transformer():
    config = dataclasses.replace(TINY_GENERATOR, pose_transformer=False)
    generator = inference_generator(build_generator(config))
    inputs = _inputs(2, 16, 16)
    np.testing.assert_allclose(
        frozen_forward(generator)(inputs), generator(inputs, training=False), atol=1e-5
    )
