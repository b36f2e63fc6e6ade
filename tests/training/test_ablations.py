"""The ablation switches of `benchmarks/ablation.py`: the source-to-source task off
(`loss.t_s_ratio: 1`) and the generator without its Pose Transformer Module
(`model.pose_transformer: false`). The adversarial and VGG terms off are tested with the
training step (`test_training.py`)."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf import training
from dptn_tf.config import DataConfig
from dptn_tf.export.savedmodel import export_saved_model
from dptn_tf.inference.attention_maps import cross_attention
from dptn_tf.models import build_generator, generator_parts, inference_generator
from dptn_tf.training.model import float32_inference_generator
from dptn_tf.training.summaries import SAMPLE_COLUMNS, SampleImages
from helpers.training import TINY_GENERATOR, compiled_model, fit_one_step, random_batch, tiny_config

NO_PTM = dataclasses.replace(TINY_GENERATOR, pose_transformer=False)
SOURCE_TERMS = {"app_gen_s", "content_gen_s", "style_gen_s"}


def test_without_the_source_task_no_source_term_is_reported_or_decoded():
    config = tiny_config("loss.t_s_ratio=1")
    model = compiled_model(config)
    assert not model.source_task
    logs = {name: values[0] for name, values in fit_one_step(model, random_batch()).items()}
    assert set(logs) == {*training.LOSS_NAMES, training.TOTAL_NAME} - SOURCE_TERMS
    total = logs["app_gen_t"] + logs["content_gen_t"] + logs["style_gen_t"] + logs["ad_gen_t"]
    np.testing.assert_allclose(logs[training.TOTAL_NAME], total, rtol=1e-5)


def test_skipping_the_source_decode_changes_no_update():
    """With `t_s_ratio: 1` the source image is not decoded; decoding it too, its terms left out of
    the total as the reference's weight 0 leaves them, gives the same gradients (plain SGD, so
    the update is the gradient itself) and the same losses."""
    batch = random_batch()
    updated, logs = [], []
    for decode_source in (False, True):
        model = compiled_model(tiny_config("loss.t_s_ratio=1"))
        model.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5), run_eagerly=True)
        model.source_task = decode_source
        logs.append(fit_one_step(model, batch))
        updated.append(model.generator.get_weights())
    assert logs[0] == logs[1]
    for skipped, decoded in zip(*updated, strict=True):
        np.testing.assert_allclose(skipped, decoded, rtol=1e-5, atol=1e-7)


def test_the_sample_grid_leaves_out_the_untrained_source_reconstruction(tmp_path):
    batch = random_batch(batch_size=2)
    batch |= {f"{role}_keypoints": np.full((2, 18, 2), -1.0, np.float32)
              for role in ("source", "target")}  # fmt: skip
    writer = tf.summary.create_file_writer(str(tmp_path))
    widths = []
    for ratio in (0.5, 1.0):
        samples = SampleImages(writer, batch, (32, 32), every=5, directory=tmp_path)
        samples.set_model(compiled_model(tiny_config(f"loss.t_s_ratio={ratio}")))
        widths.append(samples.grid().shape[1])
    assert widths == [len(SAMPLE_COLUMNS) * 34 + 2, (len(SAMPLE_COLUMNS) - 1) * 34 + 2]


def test_a_generator_without_ptm_has_no_source_encoder_and_decodes_f_st_directly():
    keras.utils.set_random_seed(0)
    generator = build_generator(NO_PTM)
    assert sorted(generator_parts(generator)) == ["decoder", "shared_encoder"]
    assert generator.count_params() < build_generator(TINY_GENERATOR).count_params()
    batch = random_batch(2, (32, 16))
    inputs = {k: batch[k] for k in ("source_image", "source_pose", "target_pose")}
    parts = generator_parts(generator)
    f_st = parts["shared_encoder"](
        np.concatenate([inputs["source_image"], inputs["source_pose"], inputs["target_pose"]], -1)
    )
    expected = parts["decoder"](f_st)
    target = inference_generator(generator)(inputs)
    np.testing.assert_allclose(target, expected, atol=1e-5)
    np.testing.assert_allclose(generator(inputs)["generated_target"], expected, atol=1e-5)
    with pytest.raises(ValueError, match="no Pose Transformer Module"):
        cross_attention(generator, inputs)
    with pytest.raises(ValueError, match="'decoder_alone' is not a DPTN generator"):
        generator_parts(keras.Sequential([parts["decoder"]], name="decoder_alone"))


def test_the_generator_without_ptm_trains_saves_loads_and_exports(tmp_path):
    config = tiny_config("model.pose_transformer=false")
    model = compiled_model(config)
    before = model.generator.get_weights()
    logs = {name: values[0] for name, values in fit_one_step(model, random_batch()).items()}
    assert set(logs) == {*training.LOSS_NAMES, training.TOTAL_NAME}
    assert all(np.isfinite(value) for value in logs.values())
    assert any(
        not np.array_equal(old, new)
        for old, new in zip(before, model.generator.get_weights(), strict=True)
    )

    config.data = DataConfig(load_size=(32, 16), old_size=(64, 32))
    generator = float32_inference_generator(model.generator, config)
    generator.save(tmp_path / "generator.keras")
    loaded = keras.saving.load_model(tmp_path / "generator.keras")
    batch = random_batch(1, (32, 16), seed=1)
    inputs = {k: batch[k] for k in ("source_image", "source_pose", "target_pose")}
    np.testing.assert_array_equal(loaded(inputs), generator(inputs))

    path = export_saved_model(loaded, tmp_path / "exports", config.data)
    served = tf.saved_model.load(path).signatures["generate"](
        **{k: tf.constant(v) for k, v in inputs.items()}
    )
    np.testing.assert_allclose(next(iter(served.values())), generator(inputs), atol=1e-5)
