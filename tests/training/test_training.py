"""The DPTN training model: loss terms and their total, update order, validation, precision, XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf import training
from dptn_tf.keras_internals import all_layers
from dptn_tf.training.distribute import choose_precision, cpu_flags
from helpers.training import compiled_model, fit_one_step, random_batch, tiny_config


@pytest.fixture(scope="module")
def one_step():
    """A tiny model before and after one training step."""
    config = tiny_config()
    model = compiled_model(config)
    batch = random_batch()
    before = {
        "generator": model.generator.get_weights(),
        "discriminator": model.discriminator.get_weights(),
    }
    history = fit_one_step(model, batch)
    return config, model, batch, before, {name: values[0] for name, values in history.items()}


def test_reports_the_official_loss_terms(one_step):
    config, model, _, _, logs = one_step
    assert set(logs) == {*training.LOSS_NAMES, training.TOTAL_NAME}
    assert all(np.isfinite(value) for value in logs.values())
    r = config.loss.t_s_ratio
    total = (
        r * (logs["app_gen_t"] + logs["content_gen_t"] + logs["style_gen_t"])
        + (1 - r) * (logs["app_gen_s"] + logs["content_gen_s"] + logs["style_gen_s"])
        + logs["ad_gen_t"]
    )
    np.testing.assert_allclose(logs[training.TOTAL_NAME], total, rtol=1e-5)
    assert logs["content_gen_t"] > 0 and logs["style_gen_t"] > 0
    assert int(model.generator_optimizer.iterations) == 1
    assert int(model.discriminator_optimizer.iterations) == 1


def test_without_adversarial_term_the_discriminator_is_not_trained():
    config = tiny_config("loss.lambda_g=0")
    model = compiled_model(config)
    before = model.discriminator.get_weights()
    logs = {name: values[0] for name, values in fit_one_step(model, random_batch()).items()}
    assert set(logs) == {*training.LOSS_NAMES, training.TOTAL_NAME} - {"ad_gen_t", "dis_img_gen_t"}
    r = config.loss.t_s_ratio
    total = r * (logs["app_gen_t"] + logs["content_gen_t"] + logs["style_gen_t"]) + (1 - r) * (
        logs["app_gen_s"] + logs["content_gen_s"] + logs["style_gen_s"]
    )
    np.testing.assert_allclose(logs[training.TOTAL_NAME], total, rtol=1e-5)
    for old, new in zip(before, model.discriminator.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    assert int(model.discriminator_optimizer.iterations.numpy()) == 0


def test_both_networks_are_updated_and_the_appearance_term_is_weighted(one_step):
    config, model, batch, before, logs = one_step
    for name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
        changed = [not np.array_equal(a, b) for a, b in zip(before[name], network.get_weights())]
        assert any(changed), name
    # G's appearance loss was measured with G's weights before its update.
    after = model.generator.get_weights()
    model.generator.set_weights(before["generator"])
    inputs = {k: batch[k] for k in ("source_image", "source_pose", "target_pose")}
    fake = model.generator(inputs)["generated_target"]
    l1 = np.mean(np.abs(fake - batch["target_image"]))
    np.testing.assert_allclose(logs["app_gen_t"], config.loss.lambda_rec * l1, rtol=1e-5)
    model.generator.set_weights(after)


def test_generator_step_sees_the_updated_discriminator(one_step):
    """D is updated first; G's adversarial term is computed with the new D, as in the reference
    (`optimizer_D.step()` before `backward_G`)."""
    config, model, batch, before, logs = one_step
    after = model.generator.get_weights()
    model.generator.set_weights(before["generator"])
    inputs = {k: batch[k] for k in ("source_image", "source_pose", "target_pose")}
    fake = model.generator(inputs)["generated_target"]
    model.generator.set_weights(after)
    # In inference mode D reuses the spectral-norm vectors of its last training call.
    updated_scores = model.discriminator(fake, training=False)
    expected = config.loss.lambda_g * np.mean((updated_scores - 1) ** 2)
    np.testing.assert_allclose(logs["ad_gen_t"], expected, rtol=1e-5)
    d_after = model.discriminator.get_weights()
    model.discriminator.set_weights(before["discriminator"])
    stale = config.loss.lambda_g * np.mean((model.discriminator(fake) - 1) ** 2)
    model.discriminator.set_weights(d_after)
    assert abs(stale - expected) > 1e-6


def test_validation_metrics():
    batch = random_batch(batch_size=3)
    same = training.image_metrics(batch["target_image"], batch["target_image"])
    np.testing.assert_allclose(same["l1"], 0.0)
    np.testing.assert_allclose(same["ssim"], 1.0, rtol=1e-6)
    # [-1, 1] images are measured in [0, 1]: a difference of 1 is an L1 of 0.5, PSNR 6.02 dB.
    shifted = training.image_metrics(np.zeros((1, 16, 16, 3)), np.ones((1, 16, 16, 3)))
    np.testing.assert_allclose(shifted["l1"], 0.5)
    np.testing.assert_allclose(shifted["psnr"], 10 * np.log10(4), rtol=1e-5)
    baseline = training.copy_source_baseline(tf.data.Dataset.from_tensors(batch))
    direct = training.image_metrics(batch["source_image"], batch["target_image"])
    for name in training.VALIDATION_NAMES:
        np.testing.assert_allclose(baseline[name], np.mean(direct[name]), rtol=1e-5)


def test_evaluate_reports_l1_ssim_psnr(one_step):
    _, model, batch, _, _ = one_step
    logs = model.evaluate(tf.data.Dataset.from_tensors(batch), return_dict=True, verbose=0)
    generated = model(batch)
    expected = training.image_metrics(generated, batch["target_image"])
    assert set(logs) == set(training.VALIDATION_NAMES)
    for name in training.VALIDATION_NAMES:
        np.testing.assert_allclose(logs[name], np.mean(expected[name]), rtol=1e-4)


def test_no_vgg_without_perceptual_losses():
    model = compiled_model(tiny_config("loss.lambda_content=0", "loss.lambda_style=0"))
    assert model.vgg is None
    logs = fit_one_step(model, random_batch())  # only the terms that are on are reported
    assert set(logs) == {"app_gen_s", "app_gen_t", "ad_gen_t", "dis_img_gen_t", training.TOTAL_NAME}
    with pytest.raises(ValueError, match="VGG network is needed"):
        training.DPTN(model.generator, model.discriminator, None, tiny_config().loss)


def test_optimizers_follow_the_official_settings():
    config = tiny_config()
    generator_optimizer, discriminator_optimizer = training.make_optimizers(config.train, 10)
    assert float(generator_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(discriminator_optimizer.learning_rate) == pytest.approx(2e-5)
    assert generator_optimizer.beta_1 == 0.5 and generator_optimizer.beta_2 == 0.999
    assert generator_optimizer.epsilon == 1e-8


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = compiled_model(tiny_config("loss.lambda_content=0", "loss.lambda_style=0"))
        if policy == "mixed_float16":
            assert isinstance(model.generator_optimizer, keras.optimizers.LossScaleOptimizer)
            assert isinstance(model.discriminator_optimizer, keras.optimizers.LossScaleOptimizer)
        logs = fit_one_step(model, random_batch())
        # What train.py exports (under the run's policy) computes in float32, every layer, with
        # the trained weights.
        exported = training.float32_inference_generator(model.generator, tiny_config())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(values[0]) for values in logs.values())
    assert int(model.generator_optimizer.iterations) == 1
    assert {layer.dtype_policy.name for layer in all_layers(exported)} == {"float32"}
    conv = exported.get_layer("decoder").get_layer("output_conv")
    np.testing.assert_array_equal(
        conv.kernel.numpy(),
        model.generator.get_layer("decoder").get_layer("output_conv").kernel.numpy(),
    )
    inputs = {k: v for k, v in random_batch().items() if k != "target_image"}
    np.testing.assert_allclose(exported(inputs), model.target_generator(inputs), atol=0.1)


@pytest.mark.slow
def test_xla_step_matches_the_plain_step():
    config = tiny_config("loss.lambda_content=0", "loss.lambda_style=0")
    batch = random_batch()
    plain = fit_one_step(compiled_model(config), batch)
    compiled = compiled_model(config, jit_compile=True)
    assert compiled.jit_compile
    xla = fit_one_step(compiled, batch)
    for name in plain:
        np.testing.assert_allclose(xla[name], plain[name], rtol=1e-3, atol=1e-5)


def test_wgangp_adds_the_gradient_penalty_to_the_discriminator_loss():
    config = tiny_config("loss.lambda_content=0", "loss.lambda_style=0", "loss.gan_mode=wgangp")
    logs = fit_one_step(compiled_model(config), random_batch())
    assert all(np.isfinite(values[0]) for values in logs.values())
    # Without the penalty the critic's loss would be 0.5 * (mean D(fake) - mean D(real)),
    # small at initialisation; the penalty (weight 10) dominates.
    assert logs["dis_img_gen_t"][0] > 1.0


def test_cpu_flags_reads_the_first_cpu_and_tolerates_no_file(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nflags\t\t: fpu avx512f amx_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    )
    assert cpu_flags(str(cpuinfo)) == {"fpu", "avx512f", "amx_bf16"}
    assert cpu_flags(str(tmp_path / "missing")) == set()


def test_an_explicit_precision_is_kept_whatever_the_cpu():
    for flags in ({"amx_bf16"}, {"avx512_bf16"}, set()):
        assert choose_precision(True, flags) == (True, "train.mixed_precision: true")
        assert choose_precision(False, flags) == (False, "train.mixed_precision: false")
