"""dptn-tf: DPTN (Dual-task Pose Transformer Network, CVPR 2022) in TensorFlow 2 / Keras 3.

Importing the package registers its custom Keras layers, so `keras.saving.load_model` can read
the `.keras` files it writes. The folders, from the bottom up (each imports only from those
listed before it, and `config`, which imports only `files`):

    files/          atomic writes, where pretrained weight files are found
    pose/           the COCO-18 skeleton, the one keypoints -> heatmaps function, keypoints
                    from photos (BlazePose on TF Lite) and OpenPose files
    visualization/  skeletons drawn over images, image grids
    layers/         custom Keras layers: instance norm, spectral-norm conv, CAB, TTB, PTM
    models/         functional builders: encoders, decoder, generator, discriminator
    data/           the PATN format, the tf.data pipeline, dataset preparation, synthetic people
    convert/        everything that reads PyTorch files (checkpoints, metric networks' weights)
    training/       the DPTN keras.Model and its train_step, losses, VGG19, optimizers, callbacks
    metrics/        the paper's evaluation: SSIM, PSNR, LPIPS, FID
    inference/      the official test protocol, PTM attention maps
    serving/        SavedModel export for TensorFlow Serving
"""

from dptn_tf import layers, models
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
