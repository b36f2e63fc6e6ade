"""InceptionV3 up to pool3 (2048 features per image), laid out as torchvision's for weight import.

Two weight sets are supported, each with the input normalisation it was used with:

- "torchvision" (the default): torchvision's ImageNet InceptionV3, as DPTN's metrics script (and
  GFLA, PIDM, CFLD) computed FID. That script scales each channel of a [0, 1] image by
  `std / 0.5` and shifts it by `(mean - 0.5) / 0.5` (torchvision's `transform_input` formula
  applied to unnormalised input); the network's own `transform_input` is never run.
- "pytorch-fid": pytorch-fid's port of the TensorFlow FID-Inception, input `2 x - 1`. Its average
  pools exclude padding and Mixed_7c pools by maximum, as in the TensorFlow graph.

Layers are named after torchvision's modules (`Mixed_6b.branch7x7_2.conv`), so
`named_layers.assign_state_dict` loads either `.pth` file once its batch norms are folded into
the convolutions (`fold_batch_norms`).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from dptn_tf.convert import load_torch_state_dict, named_layers
from dptn_tf.files import weight_files

INPUT_SIZE = 299
FEATURES = 2048
BATCH_NORM_EPSILON = 1e-3  # torchvision's BasicConv2d

_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
_IMAGENET_STD = np.array([0.229, 0.224, 0.225])
# variant -> (weight file, per-channel scale, per-channel offset) applied to [0, 1] input
VARIANTS = {
    "torchvision": (
        weight_files.INCEPTION_TORCHVISION,
        _IMAGENET_STD / 0.5,
        (_IMAGENET_MEAN - 0.5) / 0.5,
    ),
    "pytorch-fid": (weight_files.INCEPTION_PYTORCH_FID, np.full(3, 2.0), np.full(3, -1.0)),
}
# Classifier heads in the state dicts that pool3 features never reach.
_UNUSED_PREFIXES = ("fc.", "AuxLogits.")


def _conv_bn_relu(x, name, filters, kernel, strides=1, padding="valid"):
    """torchvision's BasicConv2d (conv, batch norm, ReLU) with the batch norm folded into the
    convolution's weights and bias (`fold_batch_norms`): one fused kernel instead of a
    convolution and two passes over its output, a sixth of the network's time on a CPU.
    Stride-1 'same' convs pad odd kernels symmetrically, as torch."""
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, name=f"{name}.conv")(
        x
    )
    return keras.layers.ReLU(name=f"{name}.relu")(x)


def fold_batch_norms(state: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """torchvision's `X.conv.weight` and `X.bn.*` (eval-mode batch norm, epsilon 1e-3) as the
    one convolution computing both: weight `w * s` and bias `beta - mean * s`, where
    `s = gamma / sqrt(running_var + eps)`, computed in float64."""
    folded = {key: value for key, value in state.items() if ".bn." not in key}
    for key in state:
        if not key.endswith(".bn.weight"):
            continue
        block = key[: -len(".bn.weight")]
        names = [f"{block}.bn.{part}" for part in ("weight", "bias", "running_mean", "running_var")]
        names.append(f"{block}.conv.weight")
        missing = [name for name in names if name not in state]
        if missing:
            raise ValueError(f"{source}: missing tensor '{missing[0]}' for layer {block}.conv")
        gamma, beta, mean, variance, weight = (state[name].astype("float64") for name in names)
        scale = gamma / np.sqrt(variance + BATCH_NORM_EPSILON)
        folded[f"{block}.conv.weight"] = (weight * scale[:, None, None, None]).astype("float32")
        folded[f"{block}.conv.bias"] = (beta - mean * scale).astype("float32")
    return folded


def _pool_3x3_same(x, name, kind):
    """3x3 stride-1 pooling padded by one; torch averages the zero padding in, TF leaves it out."""
    if kind == "avg_include_pad":
        x = keras.layers.ZeroPadding2D(1, name=f"{name}.pad")(x)
        return keras.layers.AveragePooling2D(3, strides=1, name=f"{name}.avg")(x)
    if kind == "avg":
        return keras.layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}.avg")(x)
    return keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}.max")(x)


def _inception_a(x, name, pool_features, pool):
    b1 = _conv_bn_relu(x, f"{name}.branch1x1", 64, 1)
    b5 = _conv_bn_relu(x, f"{name}.branch5x5_1", 48, 1)
    b5 = _conv_bn_relu(b5, f"{name}.branch5x5_2", 64, 5, padding="same")
    b3 = _conv_bn_relu(x, f"{name}.branch3x3dbl_1", 64, 1)
    b3 = _conv_bn_relu(b3, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
    b3 = _conv_bn_relu(b3, f"{name}.branch3x3dbl_3", 96, 3, padding="same")
    bp = _pool_3x3_same(x, f"{name}.pool", pool)
    bp = _conv_bn_relu(bp, f"{name}.branch_pool", pool_features, 1)
    return keras.layers.Concatenate(name=f"{name}.concat")([b1, b5, b3, bp])


def _inception_b(x, name):
    b3 = _conv_bn_relu(x, f"{name}.branch3x3", 384, 3, strides=2)
    bd = _conv_bn_relu(x, f"{name}.branch3x3dbl_1", 64, 1)
    bd = _conv_bn_relu(bd, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
    bd = _conv_bn_relu(bd, f"{name}.branch3x3dbl_3", 96, 3, strides=2)
    bp = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.pool")(x)
    return keras.layers.Concatenate(name=f"{name}.concat")([b3, bd, bp])


def _inception_c(x, name, c7, pool):
    b1 = _conv_bn_relu(x, f"{name}.branch1x1", 192, 1)
    b7 = _conv_bn_relu(x, f"{name}.branch7x7_1", c7, 1)
    b7 = _conv_bn_relu(b7, f"{name}.branch7x7_2", c7, (1, 7), padding="same")
    b7 = _conv_bn_relu(b7, f"{name}.branch7x7_3", 192, (7, 1), padding="same")
    bd = _conv_bn_relu(x, f"{name}.branch7x7dbl_1", c7, 1)
    bd = _conv_bn_relu(bd, f"{name}.branch7x7dbl_2", c7, (7, 1), padding="same")
    bd = _conv_bn_relu(bd, f"{name}.branch7x7dbl_3", c7, (1, 7), padding="same")
    bd = _conv_bn_relu(bd, f"{name}.branch7x7dbl_4", c7, (7, 1), padding="same")
    bd = _conv_bn_relu(bd, f"{name}.branch7x7dbl_5", 192, (1, 7), padding="same")
    bp = _pool_3x3_same(x, f"{name}.pool", pool)
    bp = _conv_bn_relu(bp, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=f"{name}.concat")([b1, b7, bd, bp])


def _inception_d(x, name):
    b3 = _conv_bn_relu(x, f"{name}.branch3x3_1", 192, 1)
    b3 = _conv_bn_relu(b3, f"{name}.branch3x3_2", 320, 3, strides=2)
    b7 = _conv_bn_relu(x, f"{name}.branch7x7x3_1", 192, 1)
    b7 = _conv_bn_relu(b7, f"{name}.branch7x7x3_2", 192, (1, 7), padding="same")
    b7 = _conv_bn_relu(b7, f"{name}.branch7x7x3_3", 192, (7, 1), padding="same")
    b7 = _conv_bn_relu(b7, f"{name}.branch7x7x3_4", 192, 3, strides=2)
    bp = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.pool")(x)
    return keras.layers.Concatenate(name=f"{name}.concat")([b3, b7, bp])


def _inception_e(x, name, pool):
    b1 = _conv_bn_relu(x, f"{name}.branch1x1", 320, 1)
    b3 = _conv_bn_relu(x, f"{name}.branch3x3_1", 384, 1)
    b3 = keras.layers.Concatenate(name=f"{name}.branch3x3_concat")(
        [
            _conv_bn_relu(b3, f"{name}.branch3x3_2a", 384, (1, 3), padding="same"),
            _conv_bn_relu(b3, f"{name}.branch3x3_2b", 384, (3, 1), padding="same"),
        ]
    )
    bd = _conv_bn_relu(x, f"{name}.branch3x3dbl_1", 448, 1)
    bd = _conv_bn_relu(bd, f"{name}.branch3x3dbl_2", 384, 3, padding="same")
    bd = keras.layers.Concatenate(name=f"{name}.branch3x3dbl_concat")(
        [
            _conv_bn_relu(bd, f"{name}.branch3x3dbl_3a", 384, (1, 3), padding="same"),
            _conv_bn_relu(bd, f"{name}.branch3x3dbl_3b", 384, (3, 1), padding="same"),
        ]
    )
    bp = _pool_3x3_same(x, f"{name}.pool", pool)
    bp = _conv_bn_relu(bp, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=f"{name}.concat")([b1, b3, bd, bp])


def build_inception_v3(variant: str = "torchvision") -> keras.Model:
    """InceptionV3 from [0, 1] RGB images (NHWC, 299 x 299 for FID) to pool3 features (N, 2048)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown InceptionV3 variant '{variant}' (known: {', '.join(VARIANTS)})")
    _, scale, offset = VARIANTS[variant]
    fid = variant == "pytorch-fid"
    pool = "avg" if fid else "avg_include_pad"

    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Rescaling(scale.tolist(), offset.tolist(), name="normalize")(images)
    x = _conv_bn_relu(x, "Conv2d_1a_3x3", 32, 3, strides=2)
    x = _conv_bn_relu(x, "Conv2d_2a_3x3", 32, 3)
    x = _conv_bn_relu(x, "Conv2d_2b_3x3", 64, 3, padding="same")
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool1")(x)
    x = _conv_bn_relu(x, "Conv2d_3b_1x1", 80, 1)
    x = _conv_bn_relu(x, "Conv2d_4a_3x3", 192, 3)
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool2")(x)
    x = _inception_a(x, "Mixed_5b", 32, pool)
    x = _inception_a(x, "Mixed_5c", 64, pool)
    x = _inception_a(x, "Mixed_5d", 64, pool)
    x = _inception_b(x, "Mixed_6a")
    x = _inception_c(x, "Mixed_6b", 128, pool)
    x = _inception_c(x, "Mixed_6c", 160, pool)
    x = _inception_c(x, "Mixed_6d", 160, pool)
    x = _inception_c(x, "Mixed_6e", 192, pool)
    x = _inception_d(x, "Mixed_7a")
    x = _inception_e(x, "Mixed_7b", pool)
    x = _inception_e(x, "Mixed_7c", "max" if fid else pool)
    pool3 = keras.layers.GlobalAveragePooling2D(name="pool3")(x)
    return keras.Model(images, pool3, name=f"inception_v3_{variant.replace('-', '_')}")


def load_inception_v3(
    variant: str = "torchvision", weights_dir: str | os.PathLike | None = None
) -> tuple[keras.Model, Path]:
    """The pool3 network with its converted weights, and the weight file's path (for cache keys)."""
    model = build_inception_v3(variant)
    path = weight_files.find_weight_file(VARIANTS[variant][0], weights_dir)
    state = fold_batch_norms(load_torch_state_dict(path), str(path))
    named_layers.assign_state_dict(model, state, str(path), ignored_prefixes=_UNUSED_PREFIXES)
    return model, path
