"""The DPTN training model: one discriminator update, then one generator update, per step.

`DPTN` owns the training generator, the discriminator and the frozen VGG19 features, and plugs
into `keras.Model.fit`: `train_step` reports the reference's loss terms by their official names
(the rows of `losses.LOSS_TERMS` whose weight and share are not 0, plus the generator's total),
`test_step` reports L1, SSIM and PSNR of the generated target.

Every loss is a per-example vector reduced with `tf.nn.compute_average_loss` over the *global*
batch. Keras' optimizers all-reduce gradients across replicas with a SUM, so the sum of the
replicas' gradients is the gradient of the global-batch mean: one step on N replicas updates the
weights as one step on one device with the same global batch does.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dptn_tf import models
from dptn_tf.config import Config, LossConfig, TrainConfig
from dptn_tf.keras_internals import NoSymbolicBuild
from dptn_tf.models.generator import INPUT_NAMES
from dptn_tf.training import distribute, losses
from dptn_tf.training.optimizers import TorchAdam
from dptn_tf.training.schedules import ConstantThenLinearDecay
from dptn_tf.training.vgg import build_vgg19_features

TOTAL_NAME = "total_gen"
VALIDATION_NAMES = ("l1", "ssim", "psnr")


def global_step(model) -> int:
    """Generator updates so far: the run's step count."""
    return int(model.generator_optimizer.iterations.numpy())


def reported_loss_names(config: LossConfig) -> tuple[str, ...]:
    """The names of the terms a run reports (`losses.reported_terms`), in the reference's order."""
    return tuple(term.name for term in losses.reported_terms(config))


class DPTN(NoSymbolicBuild, keras.Model):
    """Dual-task training of the DPTN generator against its patch discriminator.

    Args:
        generator: from `dptn_tf.models.build_generator` (both outputs).
        discriminator: from `dptn_tf.models.build_discriminator`.
        vgg: from `dptn_tf.training.vgg.build_vgg19_features`, or None when `lambda_content` and
            `lambda_style` are both 0.
        loss_config: the loss weights, `t_s_ratio` and `gan_mode`.

    Call `compile(generator_optimizer, discriminator_optimizer)` inside the distribution
    strategy's scope (the optimizers too must be created there), then `fit` on batches from
    `dptn_tf.training.distribute.training_batches`.
    """

    def __init__(self, generator, discriminator, vgg, loss_config: LossConfig, **kwargs):
        super().__init__(**kwargs)
        if vgg is None and (loss_config.lambda_content or loss_config.lambda_style):
            raise ValueError(
                "DPTN: a VGG network is needed when lambda_content or lambda_style is not 0"
            )
        if loss_config.gan_mode not in losses.GAN_MODES:
            raise ValueError(
                f"loss.gan_mode: expected one of {losses.GAN_MODES}, got {loss_config.gan_mode!r}"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.vgg = vgg
        self.target_generator = models.inference_generator(generator)
        self.loss_config = loss_config
        # False when `t_s_ratio` is 1 (the ablation without the source-to-source task).
        self.source_task = any(term.branch == "s" for term in losses.reported_terms(loss_config))
        self.seed_generator = keras.random.SeedGenerator(0)  # WGAN-GP's interpolation weights
        self.train_trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (*reported_loss_names(loss_config), TOTAL_NAME)
        }
        self.validation_trackers = {
            name: keras.metrics.Mean(name=name) for name in VALIDATION_NAMES
        }
        self.built = True

    @property
    def metrics(self):
        return [*self.train_trackers.values(), *self.validation_trackers.values()]

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs):
        """Set and build both optimizers; keyword arguments go to `keras.Model.compile`.

        Under a `mixed_float16` policy both optimizers are wrapped in a `LossScaleOptimizer`,
        as `keras.Model.compile` does for its single optimizer.
        """
        if self.dtype_policy.name == "mixed_float16":
            wrap = keras.optimizers.LossScaleOptimizer
            if not isinstance(generator_optimizer, wrap):
                generator_optimizer = wrap(generator_optimizer)
            if not isinstance(discriminator_optimizer, wrap):
                discriminator_optimizer = wrap(discriminator_optimizer)
        # `optimizer` is what Keras' own callbacks read (iterations, learning rate).
        super().compile(optimizer=generator_optimizer, auto_scale_loss=False, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(self.discriminator.trainable_variables)

    def call(self, inputs, training=False):
        """The generated target for `{source_image, source_pose, target_pose}` (other entries,
        such as a batch's target image, are ignored)."""
        return self.target_generator(
            {name: inputs[name] for name in INPUT_NAMES}, training=training
        )

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        config = self.loss_config
        source, target = data["source_image"], data["target_image"]
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        global_batch = tf.shape(source)[0] * replicas

        def average(per_example):
            return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)

        inputs = {name: data[name] for name in INPUT_NAMES}
        with tf.GradientTape() as tape:
            if self.source_task:
                outputs = self.generator(inputs, training=True)
                fake_target = outputs["generated_target"]
                pairs = {"t": (fake_target, target), "s": (outputs["reconstructed_source"], source)}
            else:  # no term of the source-to-source task is on: its image is not decoded
                fake_target = self.target_generator(inputs, training=True)
                pairs = {"t": (fake_target, target)}
            values = self._reconstruction_losses(pairs)
            if config.lambda_g:  # else D cannot change the generator: it is neither run nor trained
                # The reference updates D on the detached fake first; the generator's
                # adversarial term then sees the updated D.
                with tape.stop_recording():
                    values["discriminator", "t"] = self._discriminator_step(
                        target, tf.stop_gradient(fake_target), average
                    )
                values["adversarial", "t"] = losses.generator_adversarial_loss(
                    self.discriminator(fake_target, training=True), config.gan_mode
                )
            terms = {
                term.name: term.weighted(values[term.kind, term.branch], config)
                for term in losses.reported_terms(config)
            }
            terms[TOTAL_NAME] = losses.generator_total(terms, config)
            loss = self.generator_optimizer.scale_loss(average(terms[TOTAL_NAME]))
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for name, tracker in self.train_trackers.items():
            tracker.update_state(terms[name])
        return distribute.reducible_logs(
            {name: tracker.result() for name, tracker in self.train_trackers.items()}
        )

    def _discriminator_step(self, real, fake, average):
        """One update of D on real targets and detached fakes; -> D's per-example loss."""
        config = self.loss_config
        with tf.GradientTape() as tape:
            real_scores = self.discriminator(real, training=True)
            fake_scores = self.discriminator(fake, training=True)
            per_example = losses.discriminator_loss(real_scores, fake_scores, config.gan_mode)
            if config.gan_mode == "wgangp":
                interpolated = losses.random_interpolation(real, fake, self.seed_generator)
                per_example += losses.gradient_penalty(self.discriminator, interpolated)
            loss = self.discriminator_optimizer.scale_loss(average(per_example))
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return per_example

    def _reconstruction_losses(self, pairs: dict) -> dict:
        """Unweighted appearance, content and style losses, keyed `(kind, branch)`, of each
        branch (`t`, `s`) from its `(fake, real)` pair. Both branches share one VGG pass over
        their fakes (and one over their reals): half the passes, twice the batch, which a CPU
        runs faster."""
        values = {
            ("appearance", branch): losses.l1_loss(fake, real)
            for branch, (fake, real) in pairs.items()
        }
        if self.vgg is None:
            return values
        fakes, reals = zip(*pairs.values())
        content, style = losses.perceptual_loss(self.vgg, tf.concat(fakes, 0), tf.concat(reals, 0))
        splits = [tf.shape(fake)[0] for fake in fakes]
        for branch, c, s in zip(pairs, tf.split(content, splits), tf.split(style, splits)):
            values["content", branch], values["style", branch] = c, s
        return values

    def test_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        generated = self(data, training=False)
        weights = data.get("weight")  # 0 for the copies that fill up a last batch
        for name, value in image_metrics(generated, data["target_image"]).items():
            self.validation_trackers[name].update_state(value, sample_weight=weights)
        # Over every replica's examples: the replicas' last batches of a split may differ in size.
        return distribute.reducible_logs(distribute.means_over_replicas(self.validation_trackers))


def image_metrics(generated, real) -> dict:
    """Per-example L1, SSIM and PSNR of [-1, 1] images, measured on [0, 1] intensities.

    A monitoring figure (`tf.image` SSIM, 11x11 Gaussian window), not the paper's protocol,
    which `dptn_tf.metrics` implements.
    """
    generated = (tf.cast(generated, tf.float32) + 1.0) / 2.0
    real = (tf.cast(real, tf.float32) + 1.0) / 2.0
    return {
        "l1": losses.l1_loss(generated, real),
        "ssim": tf.image.ssim(generated, real, max_val=1.0),
        "psnr": tf.image.psnr(generated, real, max_val=1.0),
    }


def copy_source_baseline(dataset) -> dict:
    """`image_metrics` of the source image taken as the generated target, averaged over
    `dataset`: the figure a generator has to beat."""
    totals = {name: 0.0 for name in VALIDATION_NAMES}
    count = 0
    for batch in dataset:
        for name, value in image_metrics(batch["source_image"], batch["target_image"]).items():
            totals[name] += float(tf.reduce_sum(value))
        count += int(tf.shape(batch["source_image"])[0])
    if not count:
        raise ValueError("copy_source_baseline: the data set is empty")
    return {name: total / count for name, total in totals.items()}


def build_dptn(config: Config) -> DPTN:
    """The training model for `config` (call it inside the strategy's scope)."""
    loss = config.loss
    perceptual = loss.lambda_content or loss.lambda_style
    vgg = build_vgg19_features(loss.vgg_weights, loss.vgg_path) if perceptual else None
    return DPTN(
        models.build_generator(config.model),
        models.build_discriminator(config.model),
        vgg,
        loss,
        name="dptn",
    )


def make_optimizers(config: TrainConfig, steps_per_epoch: int):
    """`TorchAdam` for G and D (D's rate `d_lr_ratio` times G's), both on the "lambda" schedule.

    The update is `torch.optim.Adam`'s, epsilon 1e-8. Create them inside the strategy's scope.
    """

    def adam(ratio: float, name: str):
        schedule = ConstantThenLinearDecay(
            config.lr * ratio, steps_per_epoch, config.niter, config.niter_decay
        )
        return TorchAdam(
            schedule, beta_1=config.beta1, beta_2=config.beta2, epsilon=1e-8, name=name
        )

    return adam(1.0, "generator_optimizer"), adam(config.d_lr_ratio, "discriminator_optimizer")


def float32_inference_generator(generator: keras.Model, config: Config) -> keras.Model:
    """The inference generator of `generator`'s weights, computing in float32, recording the
    data's geometry (`config.data`), so that its `.keras` file describes itself.

    A mixed-precision run's generator computes in float16/bfloat16; the exported model should
    not depend on the hardware it was trained on, so its layers are rebuilt in float32 (the
    variables already are) and the trained weights copied in.
    """
    if generator.dtype_policy.name == "float32":
        return models.inference_generator(generator, frame=config.data)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:  # inference_generator adds layers of its own (the inputs' concatenations)
        exported = models.build_generator(config.model)
        exported.set_weights(generator.get_weights())
        return models.inference_generator(exported, frame=config.data)
    finally:
        keras.mixed_precision.set_global_policy(previous)
