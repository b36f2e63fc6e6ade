"""Functional DPTN networks: sizes, parameter counts, weight sharing, `.keras` round trips."""

import keras
import numpy as np
import pytest

import dptn_tf.layers  # noqa: F401 (registers the custom layers for load_model)
from dptn_tf.config import DataConfig, ModelConfig
from dptn_tf.models import (
    build_discriminator,
    build_generator,
    frame_of,
    generator_parts,
    inference_generator,
)

TINY = ModelConfig(
    ngf=8,
    img_f=32,
    layers=3,
    num_blocks=1,
    nhead=2,
    num_cabs=1,
    num_ttbs=1,
    dis_ndf=8,
    dis_img_f=32,
    dis_layers=3,
)


def _inputs(batch, height, width, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "source_image": rng.uniform(-1, 1, (batch, height, width, 3)).astype("float32"),
        "source_pose": rng.uniform(0, 1, (batch, height, width, 18)).astype("float32"),
        "target_pose": rng.uniform(0, 1, (batch, height, width, 18)).astype("float32"),
    }


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_parameter_counts_match_the_official_networks():
    assert build_generator().count_params() == 9_794_371
    assert _trainable(build_discriminator(ModelConfig(dis_layers=4))) == 664_577
    assert _trainable(build_discriminator(ModelConfig(dis_layers=3))) == 238_209


@pytest.mark.parametrize("batch, height, width", [(1, 256, 176), (2, 256, 256), (3, 128, 64)])
def test_one_model_serves_any_batch_and_size_divisible_by_8(batch, height, width):
    generator = _generator()
    outputs = generator(_inputs(batch, height, width))
    assert outputs["generated_target"].shape == (batch, height, width, 3)
    assert outputs["reconstructed_source"].shape == (batch, height, width, 3)
    assert np.abs(outputs["generated_target"]).max() <= 1.0
    scores = _discriminator()(outputs["generated_target"])
    assert scores.shape == (batch, height // 8, width // 8, 1)


_CACHE = {}


def _generator():
    return _CACHE.setdefault("generator", build_generator(TINY))


def _discriminator():
    return _CACHE.setdefault("discriminator", build_discriminator(TINY))


def test_both_branches_and_the_inference_generator_share_one_set_of_weights():
    generator = _generator()
    model = inference_generator(generator)
    assert {id(w) for w in model.weights} <= {id(w) for w in generator.weights}
    assert model.count_params() == generator.count_params()
    inputs = _inputs(2, 32, 24)
    np.testing.assert_allclose(model(inputs), generator(inputs)["generated_target"], atol=1e-6)
    # The source task is the target task with the target pose set to the source pose.
    same_pose = dict(inputs, target_pose=inputs["source_pose"])
    parts = generator_parts(generator)
    assert parts["shared_encoder"].count_params() > 0
    outputs = generator(same_pose)
    assert not np.allclose(outputs["generated_target"], outputs["reconstructed_source"])


def test_each_sample_is_computed_on_its_own():
    """Both tasks share one encoder batch (and, in training, one decoder batch): no sample may
    see another, whatever the batch."""
    generator = _generator()
    inputs = _inputs(3, 32, 24, seed=1)
    together = generator(inputs)
    for i in range(3):
        alone = generator({k: v[i : i + 1] for k, v in inputs.items()})
        for name in ("generated_target", "reconstructed_source"):
            np.testing.assert_allclose(alone[name], together[name][i : i + 1], atol=1e-5)


def test_mixed_precision_generator_returns_float32_images():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = build_generator(TINY)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    outputs = generator(_inputs(2, 32, 24))
    assert {keras.backend.standardize_dtype(v.dtype) for v in outputs.values()} == {"float32"}
    inference = inference_generator(generator)(_inputs(1, 32, 24))
    assert keras.backend.standardize_dtype(inference.dtype) == "float32"


@pytest.mark.parametrize("which", ["training", "inference", "discriminator"])
def test_keras_file_round_trip_gives_identical_outputs(which, tmp_path):
    model = {
        "training": _generator,
        "discriminator": _discriminator,
        "inference": lambda: inference_generator(_generator()),
    }[which]()
    inputs = _inputs(2, 32, 24)["source_image"] if which == "discriminator" else _inputs(2, 32, 24)
    path = tmp_path / f"{which}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    expected, actual = model(inputs), restored(inputs)
    for a, b in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_discriminator_training_call_advances_the_power_iteration():
    discriminator = build_discriminator(TINY)
    u = discriminator.get_layer("block0_conv1").u
    image = _inputs(1, 32, 32)["source_image"]
    before = u.numpy().copy()
    discriminator(image, training=False)
    np.testing.assert_array_equal(u.numpy(), before)
    discriminator(image, training=True)
    assert not np.allclose(u.numpy(), before)


def test_an_inference_generator_carries_its_frame_through_its_keras_file(tmp_path):
    generator = build_generator(TINY)
    assert frame_of(generator) is None and frame_of(inference_generator(generator)) is None
    frame = DataConfig(load_size=(64, 32), old_size=(48, 32), sigma=3.0)
    framed = inference_generator(generator, frame)
    inputs = _inputs(1, 64, 32)
    np.testing.assert_array_equal(framed(inputs), inference_generator(generator)(inputs))
    path = tmp_path / "generator.keras"
    framed.save(path)
    loaded = keras.saving.load_model(path)
    for model in (loaded, inference_generator(loaded)):  # re-wired, it keeps its frame
        found = frame_of(model)
        assert (found.load_size, found.old_size, found.sigma) == ((64, 32), (48, 32), 3.0)
    np.testing.assert_array_equal(loaded(inputs), framed(inputs))
