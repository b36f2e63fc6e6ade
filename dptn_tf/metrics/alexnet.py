"""AlexNet's convolutional trunk (torchvision layout): the five ReLU outputs LPIPS compares.

Layers are named after torchvision's `features.<index>` modules, so
`named_layers.assign_state_dict` loads `alexnet-owt-*.pth` unchanged. Torch pads the first conv
by 2 on every side; an explicit zero padding reproduces that ('same' would pad asymmetrically at
stride 4).
"""

from __future__ import annotations

import keras


def build_alexnet_features() -> keras.Model:
    """NHWC images (already LPIPS-scaled) -> [relu1, relu2, relu3, relu4, relu5]."""
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.ZeroPadding2D(2, name="features.0.pad")(images)
    x = keras.layers.Conv2D(64, 11, strides=4, name="features.0")(x)
    relu1 = keras.layers.ReLU(name="features.1")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="features.2")(relu1)
    x = keras.layers.Conv2D(192, 5, padding="same", name="features.3")(x)
    relu2 = keras.layers.ReLU(name="features.4")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="features.5")(relu2)
    x = keras.layers.Conv2D(384, 3, padding="same", name="features.6")(x)
    relu3 = keras.layers.ReLU(name="features.7")(x)
    x = keras.layers.Conv2D(256, 3, padding="same", name="features.8")(relu3)
    relu4 = keras.layers.ReLU(name="features.9")(x)
    x = keras.layers.Conv2D(256, 3, padding="same", name="features.10")(relu4)
    relu5 = keras.layers.ReLU(name="features.11")(x)
    return keras.Model(images, [relu1, relu2, relu3, relu4, relu5], name="alexnet_features")
