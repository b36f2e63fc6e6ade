"""dptn-tf: DPTN (Dual-task Pose Transformer Network, CVPR 2022) in TensorFlow 2 / Keras 3.

Importing the package is cheap: TensorFlow loads with the first module that needs it, so the
commands answer `--help` at once. Importing `dptn_tf.layers` (which `dptn_tf.models`, training,
inference and the tools do) registers the custom Keras layers, so `keras.saving.load_model` can
read the `.keras` files the package writes. The top-level modules `config` (typed settings),
`console` (what the commands print) and `keras_internals` (the private Keras hooks the library
relies on, each tested) import nothing heavy of their own; the folders, from the bottom up (each
imports only from those listed before it, and from the top-level modules):

    files/          atomic writes, where pretrained weight files are found
    pose/           the COCO-18 skeleton, the one keypoints -> heatmaps function, keypoints
                    from photos (BlazePose on TF Lite) and OpenPose files
    visualization/  skeletons drawn over images, image grids
    layers/         custom Keras layers: instance norm, spectral-norm conv, CAB, TTB, PTM
    models/         functional builders: encoders, decoder, generator, discriminator
    data/           the PATN format, the tf.data pipeline, dataset preparation, synthetic people
    convert/        everything that reads PyTorch files (checkpoints, metric networks' weights)
    presets.py      a generator (and discriminator) as a keras-hub-style preset folder
    training/       the DPTN keras.Model and its train_step, losses, VGG19, optimizers, backups
    metrics/        the paper's evaluation: SSIM, PSNR, LPIPS, FID
    inference/      the official test protocol, PTM attention maps, your photo in a new pose
    export/         the SavedModel for TensorFlow Serving, LiteRT and ONNX files
    serving/        the REST client of a model on TensorFlow Serving
    demo/           the web demo (Gradio)
    cli/            the commands, each a console script (dptn-train, dptn-export, ...)
"""

import importlib

from dptn_tf.config import (
    Config,
    DataConfig,
    LossConfig,
    ModelConfig,
    TrainConfig,
    load_config,
)

__version__ = "0.1.0"

__all__ = [
    "Config",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "TrainConfig",
    "layers",
    "load_config",
    "models",
]


def __getattr__(name: str):
    """`dptn_tf.layers` and `dptn_tf.models` import (and so load TensorFlow) on first use."""
    if name in ("layers", "models"):
        return importlib.import_module(f"dptn_tf.{name}")
    raise AttributeError(f"module 'dptn_tf' has no attribute {name!r}")
