"""Tiny DPTN configurations, random batches and a compiled model, for the training tests."""

import warnings

import keras
import numpy as np
import tensorflow as tf

from dptn_tf import training
from dptn_tf.config import ModelConfig, load_config

# A generator and discriminator small enough to train in seconds on a CPU.
TINY_MODEL = [
    "model.ngf=8",
    "model.img_f=32",
    "model.num_blocks=1",
    "model.num_cabs=1",
    "model.num_ttbs=1",
    "model.dis_ndf=8",
    "model.dis_img_f=32",
    "model.dis_layers=3",
]

# The same tiny generator as a ModelConfig, for tests that build only the generator.
TINY_GENERATOR = ModelConfig(
    ngf=8, img_f=32, layers=3, num_blocks=1, nhead=2, num_cabs=1, num_ttbs=1
)


def tiny_config(*overrides):
    return load_config(None, [*TINY_MODEL, "loss.vgg_weights=none", *overrides])


def random_batch(batch_size=2, size=(32, 32), seed=0) -> dict:
    rng = np.random.default_rng(seed)
    channels = {"source_image": 3, "target_image": 3, "source_pose": 18, "target_pose": 18}
    return {
        name: rng.uniform(-1, 1, (batch_size, *size, c)).astype("float32")
        for name, c in channels.items()
    }


def compiled_model(config, **compile_kwargs):
    """The model with both optimizers; eager unless told otherwise, which saves the tracing
    (graph mode runs in the distributed, XLA and command-line tests)."""
    compile_kwargs.setdefault("run_eagerly", not compile_kwargs.get("jit_compile"))
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "VGG19 has random weights")
        model = training.build_dptn(config)
    model.compile(*training.make_optimizers(config.train, steps_per_epoch=10), **compile_kwargs)
    return model


def fit_one_step(model, batch):
    return model.fit(
        tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0, shuffle=False
    ).history
