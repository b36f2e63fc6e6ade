"""Training: the DPTN keras.Model with its train_step (`model`), losses, VGG19 features, PyTorch's
Adam (`optimizers`), schedules, the callbacks (`backups`, `summaries`, `progress`), the run
phase by phase (`run`) and the choice of distribution strategy and precision.

Imports `models`, `data`, `convert`, `pose`, `visualization` and `files`; nothing imports it but
the entry points (train.py, benchmarks).
"""

from dptn_tf.training.distribute import BATCH_KEYS, training_batches
from dptn_tf.training.losses import LOSS_NAMES, LOSS_TERMS, LossTerm
from dptn_tf.training.model import (
    DPTN,
    TOTAL_NAME,
    VALIDATION_NAMES,
    build_dptn,
    copy_source_baseline,
    float32_inference_generator,
    image_metrics,
    make_optimizers,
    reported_loss_names,
)
from dptn_tf.training.optimizers import TorchAdam

__all__ = [
    "BATCH_KEYS",
    "DPTN",
    "LossTerm",
    "LOSS_NAMES",
    "LOSS_TERMS",
    "TOTAL_NAME",
    "TorchAdam",
    "VALIDATION_NAMES",
    "build_dptn",
    "copy_source_baseline",
    "float32_inference_generator",
    "image_metrics",
    "make_optimizers",
    "reported_loss_names",
    "training_batches",
]
