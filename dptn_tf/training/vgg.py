"""Frozen VGG19 feature extractor for DPTN's perceptual (content and style) losses.

The reference feeds [-1, 1] images straight into torchvision's ImageNet VGG19, so the default
weights are exactly those, converted from torchvision's `.pth`. Keras' own ImageNet VGG19 is a
different network (caffe weights, caffe preprocessing), offered as an alternative that Keras can
download by itself; `none` gives random weights for tests and CPU smoke runs.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import ops

from dptn_tf.convert import load_torch_state_dict
from dptn_tf.files import weight_files

FEATURE_LAYERS = (
    "relu1_1",
    "relu2_1",
    "relu2_2",
    "relu3_1",
    "relu3_4",
    "relu4_1",
    "relu4_4",
    "relu5_1",
    "relu5_2",
)
WEIGHT_SOURCES = ("torchvision", "imagenet", "none")
KERAS_IMAGENET_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_IMAGENET_URL = (
    f"https://storage.googleapis.com/tensorflow/keras-applications/vgg19/{KERAS_IMAGENET_FILE}"
)

# Convolutions per VGG19 block, cut after relu5_2: the deepest feature the losses use.
_BLOCK_CONVS = (2, 2, 4, 4, 2)
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="dptn_tf")
class CaffePreprocessing(keras.layers.Layer):
    """[-1, 1] RGB images to the input Keras' ImageNet VGG19 was trained on.

    The same arithmetic as `keras.applications.vgg19.preprocess_input` on [0, 255] RGB (caffe
    mode: RGB to BGR, minus the ImageNet BGR mean), done in the graph.
    """

    def call(self, images):
        bgr = ops.flip(images, axis=-1)
        mean = ops.convert_to_tensor(_CAFFE_BGR_MEAN, dtype=self.compute_dtype)
        return (bgr + 1.0) * 127.5 - mean


def build_vgg19_features(weights: str = "torchvision", path: str | None = None) -> keras.Model:
    """A frozen VGG19 mapping [-1, 1] NHWC RGB images to a dict of `FEATURE_LAYERS`.

    It computes in float32, except under a `mixed_bfloat16` policy, where it computes in
    bfloat16 like the generator (float32's range; on a CPU with AMX, VGG19 is then several times
    faster, and it is most of a training step's work). Under `mixed_float16` it stays in float32:
    float16's range is narrow for unnormalised VGG activations. Frozen weights are stored in the
    dtype they compute in: a mixed policy would keep them in float32 and cast all 20 M of them
    to bfloat16 at each of the step's VGG passes, to the same values.

    Args:
        weights: `LossConfig.vgg_weights`: `torchvision` (the reference's network, from
            `vgg19-dcbb9e9d.pth`), `imagenet` (Keras' caffe-style VGG19) or `none` (random).
        path: `LossConfig.vgg_path`: the weight file to use instead of the default locations.
    """
    if weights == "torchvision":
        model = _vgg19_network()
        file = find_torchvision_weights(path)
        _set_conv_weights(model, torchvision_vgg19_convs(load_torch_state_dict(file), file), file)
    elif weights == "imagenet":
        model = _vgg19_network(CaffePreprocessing(name="caffe_preprocessing", dtype="float32"))
        keras_vgg19 = _keras_imagenet_vgg19(path)
        for layer in _conv_layers(model):
            layer.set_weights(keras_vgg19.get_layer(layer.name).get_weights())
    elif weights == "none":
        warnings.warn(
            "VGG19 has random weights (loss.vgg_weights=none): the content and style losses "
            "are meaningless; use it only for tests and smoke runs",
            stacklevel=2,
        )
        model = _vgg19_network()
    else:
        raise ValueError(f"loss.vgg_weights: expected one of {WEIGHT_SOURCES}, got {weights!r}")
    model.trainable = False
    return model


def find_torchvision_weights(path: str | None = None) -> Path:
    """`path` (`loss.vgg_path`) when given, else `vgg19-dcbb9e9d.pth` in the weights folders."""
    if path is None:
        return weight_files.find_weight_file(weight_files.VGG19_TORCHVISION)
    if not Path(path).expanduser().is_file():
        raise FileNotFoundError(
            f"loss.vgg_path: {path} not found; it should be torchvision's VGG19 "
            f"({weight_files.VGG19_TORCHVISION.url}). loss.vgg_weights=none runs with random "
            "weights."
        )
    return Path(path).expanduser()


_CONV_WEIGHT = re.compile(r"features\.(\d+)\.weight")


def torchvision_vgg19_convs(state: dict, file) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """`(name, kernel, bias)` of each `features.N` convolution in network order, Keras layout.

    PyTorch's (out, in, h, w) kernels become Keras' (h, w, in, out); both frameworks compute a
    cross-correlation, so no spatial flip is needed.
    """
    indices = sorted(int(m.group(1)) for key in state if (m := _CONV_WEIGHT.fullmatch(key)))
    if not indices:
        raise ValueError(
            f"{file}: no 'features.N.weight' keys; expected a torchvision VGG19 state dict"
        )
    convs = []
    for i in indices:
        name = f"features.{i}"
        if f"{name}.bias" not in state:
            raise ValueError(f"{file}: '{name}.weight' has no '{name}.bias'")
        convs.append((name, state[f"{name}.weight"].transpose(2, 3, 1, 0), state[f"{name}.bias"]))
    return convs


def _vgg19_network(preprocessing: keras.layers.Layer | None = None) -> keras.Model:
    """VGG19's convolutions up to relu5_2, named as in `keras.applications.VGG19`."""
    policy = (
        "bfloat16" if keras.mixed_precision.global_policy().name == "mixed_bfloat16" else "float32"
    )
    images = keras.Input((None, None, 3), dtype="float32", name="images")
    x = images if preprocessing is None else preprocessing(images)
    features = {}
    for block, convs in enumerate(_BLOCK_CONVS, start=1):
        if block > 1:
            x = keras.layers.MaxPooling2D(2, name=f"block{block - 1}_pool", dtype=policy)(x)
        for i in range(1, convs + 1):
            x = keras.layers.Conv2D(
                64 * 2 ** min(block - 1, 3),
                3,
                padding="same",
                activation="relu",
                name=f"block{block}_conv{i}",
                dtype=policy,
            )(x)
            features[f"relu{block}_{i}"] = x
    outputs = {name: features[name] for name in FEATURE_LAYERS}
    return keras.Model(images, outputs, name="vgg19_features")


def _conv_layers(model: keras.Model) -> list[keras.layers.Conv2D]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _set_conv_weights(model: keras.Model, convs: list, file: Path) -> None:
    """Copy converted torchvision convolutions, in order, into the network's."""
    layers = _conv_layers(model)
    if len(convs) < len(layers):
        raise ValueError(
            f"{file}: {len(convs)} convolutions, expected at least {len(layers)} (VGG19 features)"
        )
    for layer, (name, kernel, bias) in zip(layers, convs):
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise ValueError(
                f"{file}: {name}.weight is {kernel.shape} in (h, w, in, out) order, expected "
                f"{expected} for {layer.name}; is this a torchvision VGG19?"
            )
        layer.set_weights([kernel, bias])


def _keras_imagenet_vgg19(path: str | None) -> keras.Model:
    """Keras' ImageNet VGG19 (no top) from `path`, or from Keras' cache or download."""
    try:
        return keras.applications.VGG19(include_top=False, weights=path or "imagenet")
    except Exception as err:  # Keras raises a bare Exception when the download fails.
        cache = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"
        expected = path or cache / KERAS_IMAGENET_FILE
        raise FileNotFoundError(
            f"Keras ImageNet VGG19 weights could not be loaded from {expected} ({err}). "
            f"Download {KERAS_IMAGENET_URL} and copy it to {cache}/ (or set loss.vgg_path "
            "to the file)."
        ) from err
