"""Losses against hand-computed values and against the reference's batch-mean definitions."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.config import LossConfig
from dptn_tf.training import losses
from dptn_tf.training.vgg import FEATURE_LAYERS

# 1x2x2x1 cases small enough to check on paper.
FAKE = np.array([1.0, 2.0, 3.0, 4.0], "float32").reshape(1, 2, 2, 1)
REAL = np.array([0.0, 0.0, 0.0, 8.0], "float32").reshape(1, 2, 2, 1)
D_REAL = np.array([0.5, 1.5, 2.0, 1.0], "float32").reshape(1, 2, 2, 1)
D_FAKE = np.array([0.0, 1.0, -1.0, 2.0], "float32").reshape(1, 2, 2, 1)


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_l1_by_hand():
    # |1| + |2| + |3| + |4 - 8| = 10 over 4 elements.
    np.testing.assert_allclose(losses.l1_loss(FAKE, REAL), [2.5])


@pytest.mark.parametrize(
    "gan_mode, d_loss, g_loss",
    [
        # D: 0.5 * (mean(.25, .25, 1, 0) + mean(0, 1, 1, 4)); G: mean(1, 0, 4, 1).
        ("lsgan", 0.5 * (0.375 + 1.5), 1.5),
        # D: 0.5 * (mean(.5, 0, 0, 0) + mean(1, 2, 0, 3)); G: -mean(0, 1, -1, 2).
        ("hinge", 0.5 * (0.125 + 1.5), -0.5),
        # D: 0.5 * (-mean(.5, 1.5, 2, 1) + mean(0, 1, -1, 2)).
        ("wgangp", 0.5 * (-1.25 + 0.5), -0.5),
    ],
)
def test_adversarial_losses_by_hand(gan_mode, d_loss, g_loss):
    np.testing.assert_allclose(losses.discriminator_loss(D_REAL, D_FAKE, gan_mode), [d_loss])
    np.testing.assert_allclose(losses.generator_adversarial_loss(D_FAKE, gan_mode), [g_loss])


@pytest.mark.parametrize("gan_mode", losses.GAN_MODES)
def test_adversarial_losses_are_the_reference_batch_means(gan_mode):
    real, fake = _rng().normal(size=(2, 3, 8, 6, 1)).astype("float32")
    if gan_mode == "lsgan":
        d_loss = 0.5 * (np.mean((real - 1) ** 2) + np.mean(fake**2))
        g_loss = np.mean((fake - 1) ** 2)
    elif gan_mode == "hinge":
        d_loss = 0.5 * (np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake)))
        g_loss = -np.mean(fake)
    else:
        d_loss = 0.5 * (-np.mean(real) + np.mean(fake))
        g_loss = -np.mean(fake)
    d_per_example = losses.discriminator_loss(real, fake, gan_mode)
    g_per_example = losses.generator_adversarial_loss(fake, gan_mode)
    assert d_per_example.shape == g_per_example.shape == (3,)
    np.testing.assert_allclose(np.mean(d_per_example), d_loss, rtol=1e-6)
    np.testing.assert_allclose(np.mean(g_per_example), g_loss, rtol=1e-6)


def test_unknown_gan_mode():
    with pytest.raises(ValueError, match="loss.gan_mode"):
        losses.discriminator_loss(D_REAL, D_FAKE, "vanilla")
    with pytest.raises(ValueError, match="loss.gan_mode"):
        losses.generator_adversarial_loss(D_FAKE, "wgan-gp")


def test_gradient_penalty_reaches_discriminator_weights():
    # D(x) = v * x^2 / 2 elementwise, so dD/dx = v * x and the penalty is 10 * (v * |x| - 1)^2.
    v = tf.Variable(1.5)

    def discriminator(x, training):
        assert training
        return v * tf.square(x) / 2.0

    x = _rng().normal(size=(3, 4, 2, 3)).astype("float32")
    norms = np.linalg.norm(x.reshape(3, -1), axis=1)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(discriminator, tf.constant(x))
        total = tf.reduce_sum(penalty)
    np.testing.assert_allclose(penalty, 10.0 * (1.5 * norms - 1.0) ** 2, rtol=1e-5)
    expected_gradient = np.sum(20.0 * (1.5 * norms - 1.0) * norms)
    np.testing.assert_allclose(tape.gradient(total, v), expected_gradient, rtol=1e-5)


def test_random_interpolation_is_one_mix_per_example():
    real, fake = _rng().normal(size=(2, 4, 3, 2, 3)).astype("float32")
    mixed = losses.random_interpolation(real, fake, seed=1).numpy()
    alpha = ((mixed - fake) / (real - fake)).reshape(4, -1)
    np.testing.assert_allclose(alpha, alpha[:, :1].repeat(alpha.shape[1], axis=1), atol=1e-4)
    assert np.all((alpha >= 0) & (alpha <= 1)) and len(np.unique(alpha[:, 0].round(4))) == 4


def test_gram_matrix_by_hand_and_against_nchw_reference():
    # F = [1, 2, 3, 4] as 4 positions x 1 channel: F^T F = 30, over h * w * c = 4.
    np.testing.assert_allclose(losses.gram_matrix(FAKE), [[[7.5]]])
    features = _rng().normal(size=(2, 3, 5, 4)).astype("float32")
    np.testing.assert_allclose(losses.gram_matrix(features), _reference_gram(features), rtol=1e-5)


def _reference_gram(nhwc):
    """The reference's `compute_gram`, on NCHW: f = x.view(b, c, h * w); f @ f^T / (h * w * c)."""
    b, h, w, c = nhwc.shape
    f = nhwc.transpose(0, 3, 1, 2).reshape(b, c, h * w)
    return f @ f.transpose(0, 2, 1) / (h * w * c)


def _random_features(seed):
    rng = _rng(seed)
    shapes = {name: (4, 6 - i // 2, 5, 3 + i) for i, name in enumerate(FEATURE_LAYERS)}
    return {name: rng.normal(size=shape).astype("float32") for name, shape in shapes.items()}


def test_content_and_style_are_the_reference_batch_means():
    fake, real = _random_features(1), _random_features(2)
    content = sum(np.mean(np.abs(fake[n] - real[n])) for n in losses.CONTENT_LAYERS)
    style = sum(
        np.mean(np.abs(_reference_gram(fake[n]) - _reference_gram(real[n])))
        for n in losses.STYLE_LAYERS
    )
    content_per_example = losses.content_loss(fake, real)
    style_per_example = losses.style_loss(fake, real)
    assert content_per_example.shape == style_per_example.shape == (4,)
    np.testing.assert_allclose(np.mean(content_per_example), content, rtol=1e-5)
    np.testing.assert_allclose(np.mean(style_per_example), style, rtol=1e-5)

    # Two replicas of 2 examples each: their averages over the global batch sum to the batch mean.
    replicas = [{n: f[i : i + 2] for n, f in fake.items()} for i in (0, 2)]
    targets = [{n: f[i : i + 2] for n, f in real.items()} for i in (0, 2)]
    summed = sum(
        tf.nn.compute_average_loss(losses.content_loss(f, r), global_batch_size=4)
        for f, r in zip(replicas, targets)
    )
    np.testing.assert_allclose(summed, content, rtol=1e-5)


def test_perceptual_loss_has_no_gradient_through_the_real_images():
    calls = []

    def vgg(images, training):
        calls.append((images.shape[0], training))
        return {name: tf.square(images) * (i + 1.0) for i, name in enumerate(FEATURE_LAYERS)}

    fake, real = (tf.constant(x) for x in _rng().uniform(-1, 1, (2, 3, 8, 8, 3)).astype("float16"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([fake, real])
        content, style = losses.perceptual_loss(vgg, fake, real)
        total = tf.reduce_sum(content + style)
    assert calls == [(3, False), (3, False)]  # the fake images, then the real ones
    assert content.dtype == style.dtype == tf.float32
    assert tape.gradient(total, real) is None
    assert tape.gradient(total, fake) is not None
    fake_features = vgg(tf.cast(fake, tf.float32), False)
    real_features = vgg(tf.cast(real, tf.float32), False)
    expected_content = losses.content_loss(fake_features, real_features)
    expected_style = losses.style_loss(fake_features, real_features)
    np.testing.assert_allclose(content, expected_content, rtol=1e-6)
    np.testing.assert_allclose(style, expected_style, rtol=1e-6)


def test_the_loss_table_is_consistent_with_the_configuration():
    fields = {field.name for field in dataclasses.fields(LossConfig)}
    for term in losses.LOSS_TERMS:
        assert term.weight in fields, term
        assert term.kind in losses.TERM_KINDS, term
        assert term.share in (*losses.TOTAL_SHARES, "none"), term
        assert term.name.endswith(f"_{term.branch}"), term
    assert len(set(losses.LOSS_NAMES)) == len(losses.LOSS_TERMS)


def test_the_total_derives_from_the_table():
    config = LossConfig(t_s_ratio=0.8)
    terms = {name: tf.constant([float(i + 1)]) for i, name in enumerate(losses.LOSS_NAMES)}
    # app_gen_s 1, content_gen_s 2, style_gen_s 3, app_gen_t 4, ad_gen_t 5, dis_img_gen_t 6
    # (not in the total), content_gen_t 7, style_gen_t 8.
    expected = 0.8 * (4 + 7 + 8) + 0.2 * (1 + 2 + 3) + 5
    np.testing.assert_allclose(losses.generator_total(terms, config), [expected], rtol=1e-6)
    off = LossConfig(lambda_g=0.0, lambda_content=0.0)
    assert [t.name for t in losses.reported_terms(off)] == [
        "app_gen_s",
        "style_gen_s",
        "app_gen_t",
        "style_gen_t",
    ]
