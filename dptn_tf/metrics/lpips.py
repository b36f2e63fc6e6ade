"""LPIPS (Zhang et al. 2018), "net-lin" on AlexNet, v0.1: the perceptual distance DPTN reports.

Inputs are NHWC images in [-1, 1]. Each image is scaled by the LPIPS ScalingLayer constants, both
images go through torchvision's AlexNet trunk, each of the five ReLU outputs is unit-normalised
over channels, the squared difference is weighted per channel by a learned 1x1 conv (`lin<k>`),
averaged over positions and summed over the five layers.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from dptn_tf.convert import load_torch_state_dict, named_layers
from dptn_tf.files import weight_files
from dptn_tf.metrics.alexnet import build_alexnet_features

_SHIFT = np.array([-0.030, -0.088, -0.188])
_SCALE = np.array([0.458, 0.448, 0.450])
_EPS = 1e-10


def _unit_channels(x):
    return x / (keras.ops.sqrt(keras.ops.sum(x * x, axis=-1, keepdims=True)) + _EPS)


def build_lpips() -> keras.Model:
    """[images_a, images_b] in [-1, 1] -> distance per image (N,); weights random until loaded."""
    image_a = keras.Input((None, None, 3), name="image_a")
    image_b = keras.Input((None, None, 3), name="image_b")
    scaling = keras.layers.Rescaling(
        (1 / _SCALE).tolist(), (-_SHIFT / _SCALE).tolist(), name="scaling"
    )
    trunk = build_alexnet_features()
    features_a, features_b = trunk(scaling(image_a)), trunk(scaling(image_b))
    per_layer = []
    for k, (fa, fb) in enumerate(zip(features_a, features_b, strict=True)):
        diff = keras.ops.square(_unit_channels(fa) - _unit_channels(fb))
        weighted = keras.layers.Conv2D(1, 1, use_bias=False, name=f"lin{k}.model.1")(diff)
        per_layer.append(keras.ops.mean(weighted, axis=(1, 2, 3)))
    distance = keras.ops.sum(keras.ops.stack(per_layer, axis=-1), axis=-1)
    return keras.Model([image_a, image_b], distance, name="lpips_alex_v0_1")


def load_lpips(
    weights_dir: str | os.PathLike | None = None,
) -> tuple[keras.Model, tuple[Path, Path]]:
    """LPIPS with torchvision's AlexNet and the LPIPS v0.1 linear layers, and those two files."""
    trunk_path = weight_files.find_weight_file(weight_files.ALEXNET, weights_dir)
    linear_path = weight_files.find_weight_file(weight_files.LPIPS_ALEX_LINEAR, weights_dir)
    state = {
        **load_torch_state_dict(trunk_path),
        **load_torch_state_dict(linear_path),
    }
    model = build_lpips()
    named_layers.assign_state_dict(
        model, state, f"{trunk_path} + {linear_path}", ignored_prefixes=("classifier.",)
    )
    return model, (trunk_path, linear_path)
