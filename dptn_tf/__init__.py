"""dptn-tf: DPTN (Dual-task Pose Transformer Network, CVPR 2022) in TensorFlow 2 / Keras 3.

Importing the package registers its custom Keras layers, so `keras.saving.load_model` can read
the `.keras` files it writes.
"""

from dptn_tf import layers, models
from dptn_tf.config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig, load_config

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
