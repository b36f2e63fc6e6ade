"""Training: the DPTN keras.Model with its train_step (`model`), losses, VGG19 features, schedules,
callbacks and the choice of distribution strategy and precision.

Imports `models`, `data`, `convert`, `pose`, `visualization` and `files`; nothing imports it but
the entry points (train.py, benchmarks).
"""

from dptn_tf.training.model import (
                                    BATCH_KEYS,
                                    DPTN,
                                    LOSS_NAMES,
                                    TOTAL_NAME,
                                    VALIDATION_NAMES,
                                    build_dptn,
                                    copy_source_baseline,
                                    float32_inference_generator,
                                    image_metrics,
                                    make_optimizers,
                                    reported_loss_names,
                                    training_batches,
)

__all__ = [
    "BATCH_KEYS",
    "DPTN",
    "LOSS_NAMES",
    "TOTAL_NAME",
    "VALIDATION_NAMES",
    "build_dptn",
    "copy_source_baseline",
    "float32_inference_generator",
    "image_metrics",
    "make_optimizers",
    "reported_loss_names",
    "training_batches",
]
