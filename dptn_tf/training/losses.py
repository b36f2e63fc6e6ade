"""DPTN's training losses, each giving one value per example so that they work with tf.distribute.

A training step reduces a per-example vector with
`tf.nn.compute_average_loss(per_example, global_batch_size=...)`: summed over replicas that is the
global-batch mean. Every example here has the same number of elements, so the mean of a vector
equals the reference's batch mean (`nn.L1Loss`, `nn.MSELoss`, `.mean()` over the whole batch).
Losses are computed in float32 whatever the inputs' dtype (mixed precision). `LOSS_TERMS` is
the one table of the objective's terms: the names reported, the weights and the total derive
from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

CONTENT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
GAN_MODES = ("lsgan", "hinge", "wgangp")


def l1_loss(fake, real):
    """Mean absolute difference of each example."""
    return _mean_per_example(tf.abs(_float32(fake) - _float32(real)))


def discriminator_loss(real_scores, fake_scores, gan_mode: str = "lsgan"):
    """The discriminator's loss on real and generated examples: the average of the two halves.

    Scores are D's patch maps. lsgan: `(D(real) - 1)^2` and `D(fake)^2`; hinge: `relu(1 - D(real))`
    and `relu(1 + D(fake))`; wgangp: `-D(real)` and `D(fake)`, to which the training step adds
    `gradient_penalty` (not halved, as in the reference).
    """
    real_scores, fake_scores = _float32(real_scores), _float32(fake_scores)
    if gan_mode == "lsgan":
        real_term, fake_term = tf.square(real_scores - 1.0), tf.square(fake_scores)
    elif gan_mode == "hinge":
        real_term, fake_term = tf.nn.relu(1.0 - real_scores), tf.nn.relu(1.0 + fake_scores)
    elif gan_mode == "wgangp":
        real_term, fake_term = -real_scores, fake_scores
    else:
        raise _unknown_gan_mode(gan_mode)
    return 0.5 * (_mean_per_example(real_term) + _mean_per_example(fake_term))


def generator_adversarial_loss(fake_scores, gan_mode: str = "lsgan"):
    """The generator's adversarial loss: lsgan `(D(fake) - 1)^2`, hinge and wgangp `-D(fake)`."""
    fake_scores = _float32(fake_scores)
    if gan_mode == "lsgan":
        return _mean_per_example(tf.square(fake_scores - 1.0))
    if gan_mode in ("hinge", "wgangp"):
        return -_mean_per_example(fake_scores)
    raise _unknown_gan_mode(gan_mode)


def random_interpolation(real, fake, seed=None):
    """Random points between real and generated examples, one uniform weight per example.

    Where WGAN-GP evaluates its gradient penalty. `seed` is anything `keras.random.uniform`
    takes; a `keras.random.SeedGenerator` gives fresh weights at every step of a compiled loop.
    """
    real, fake = _float32(real), _float32(fake)
    shape = [tf.shape(real)[0]] + [1] * (real.shape.rank - 1)
    alpha = keras.random.uniform(shape, seed=seed)
    return alpha * real + (1.0 - alpha) * fake


def gradient_penalty(discriminator, interpolated, constant: float = 1.0, weight: float = 10.0):
    """WGAN-GP's `weight * (||dD(x)/dx|| - constant)^2` for each example `x` of `interpolated`.

    Call it inside the discriminator step's tape: its own inner tape is then recorded too, so the
    penalty's gradient reaches D's weights (a second-order gradient).
    """
    interpolated = _float32(interpolated)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        total_score = tf.reduce_sum(_float32(discriminator(interpolated, training=True)))
    gradients = tape.gradient(total_score, interpolated)
    # The reference adds 1e-16 before the norm, which keeps the norm's gradient finite at zero.
    flat = tf.reshape(gradients + 1e-16, [tf.shape(gradients)[0], -1])
    return weight * tf.square(tf.norm(flat, axis=1) - constant)


def gram_matrix(features):
    """`F^T F / (h * w * c)` of each example's NHWC features: shape [batch, c, c]."""
    features = _float32(features)
    shape = tf.shape(features)
    flat = tf.reshape(features, [shape[0], shape[1] * shape[2], shape[3]])
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.reduce_prod(shape[1:]), tf.float32)


def content_loss(fake_features: dict, real_features: dict):
    """Sum over `CONTENT_LAYERS` of the L1 difference of VGG features."""
    return tf.add_n([l1_loss(fake_features[n], real_features[n]) for n in CONTENT_LAYERS])


def style_loss(fake_features: dict, real_features: dict):
    """Sum over `STYLE_LAYERS` of the L1 difference of the features' Gram matrices."""
    grams = [(gram_matrix(fake_features[n]), gram_matrix(real_features[n])) for n in STYLE_LAYERS]
    return tf.add_n([l1_loss(fake, real) for fake, real in grams])


def perceptual_loss(vgg, fake, real):
    """`(content, style)` per example of `fake` against `real`.

    `vgg` maps [-1, 1] images to a dict of features (`dptn_tf.training.vgg.build_vgg19_features`).
    The real images get a pass of their own outside the gradient: a joint pass over
    `concat(fake, real)` would also run the backward pass through the real half, which needs
    no gradient.
    """
    fake_features = vgg(_float32(fake), training=False)
    real_features = vgg(tf.stop_gradient(_float32(real)), training=False)  # VGG is frozen
    return content_loss(fake_features, real_features), style_loss(fake_features, real_features)


def _float32(x):
    return tf.cast(x, tf.float32)


def _mean_per_example(x):
    """Mean over every axis but the batch axis."""
    return tf.reduce_mean(x, axis=list(range(1, x.shape.rank)))


def _unknown_gan_mode(gan_mode: str) -> ValueError:
    return ValueError(f"loss.gan_mode: expected one of {GAN_MODES}, got {gan_mode!r}")


@dataclass(frozen=True)
class LossTerm:
    """One term of the DPTN objective, reported under the reference's name.

    `kind` says what computes it (`TERM_KINDS`), `branch` which task it belongs to ("t" the
    source-to-target task, "s" the source-to-source one), `weight` the `LossConfig` field that
    multiplies it (D's own loss is reported unscaled: its weight only switches it on), and
    `share` which part of the generator's total it enters (`TOTAL_SHARES`).
    """

    name: str
    kind: str
    branch: str
    weight: str
    share: str

    def is_on(self, config) -> bool:
        """Computed at all: its weight is not 0, nor is its share of the total (`t_s_ratio: 1`
        switches the source-to-source task off, `t_s_ratio: 0` the target task's terms)."""
        share = TOTAL_SHARES.get(self.share)  # None for D's loss, which is in no share
        return bool(getattr(config, self.weight)) and (share is None or bool(share(config)))

    def weighted(self, value, config):
        return value if self.kind == "discriminator" else getattr(config, self.weight) * value


TERM_KINDS = ("appearance", "content", "style", "adversarial", "discriminator")
# The generator's total: t_s_ratio of the target task's terms, the rest of the source task's,
# the whole adversarial term; D's loss is not part of it. Summed group by group in this order.
TOTAL_SHARES = {
    "target": lambda config: config.t_s_ratio,
    "source": lambda config: 1.0 - config.t_s_ratio,
    "whole": lambda config: 1.0,
}

# The reference's terms, in its `loss_names` order: adding a term is one row here.
LOSS_TERMS = (
    LossTerm("app_gen_s", "appearance", "s", "lambda_rec", "source"),
    LossTerm("content_gen_s", "content", "s", "lambda_content", "source"),
    LossTerm("style_gen_s", "style", "s", "lambda_style", "source"),
    LossTerm("app_gen_t", "appearance", "t", "lambda_rec", "target"),
    LossTerm("ad_gen_t", "adversarial", "t", "lambda_g", "whole"),
    LossTerm("dis_img_gen_t", "discriminator", "t", "lambda_g", "none"),
    LossTerm("content_gen_t", "content", "t", "lambda_content", "target"),
    LossTerm("style_gen_t", "style", "t", "lambda_style", "target"),
)
LOSS_NAMES = tuple(term.name for term in LOSS_TERMS)


def reported_terms(config) -> tuple[LossTerm, ...]:
    """The terms a run computes and reports: those whose weight and share are not 0."""
    return tuple(term for term in LOSS_TERMS if term.is_on(config))


def generator_total(terms: dict, config):
    """The generator's objective from the weighted terms present in `terms` (by name)."""
    total = 0.0
    for share, fraction in TOTAL_SHARES.items():
        group = [terms[t.name] for t in LOSS_TERMS if t.share == share and t.name in terms]
        if group:
            total += fraction(config) * sum(group[1:], group[0])
    return total
