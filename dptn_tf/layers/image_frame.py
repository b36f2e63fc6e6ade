"""The geometry a generator was trained with, carried inside its `.keras` file."""

import keras


@keras.saving.register_keras_serializable(package="dptn_tf")
class ImageFrame(keras.layers.Layer):
    """Identity on the source image that records the generator's geometry in its config.

    A generator's weights do not say which frame its keypoints live in: a `.keras` file holding
    this layer describes itself, so transfer, export, generation and the web demo need no
    configuration file beside it. It moves no data and never casts.

    Args:
        load_size: `(H, W)` of the network's inputs.
        old_size: `(H, W)` of the annotation frame the keypoints are given in (the size of the
            images the model's results are saved at).
        sigma: the pose heatmaps' Gaussian standard deviation, in pixels of `load_size`.
    """

    def __init__(self, load_size, old_size, sigma, **kwargs):
        super().__init__(**{**kwargs, "autocast": False})
        self.load_size = tuple(int(s) for s in load_size)
        self.old_size = tuple(int(s) for s in old_size)
        self.sigma = float(sigma)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "load_size": list(self.load_size),
            "old_size": list(self.old_size),
            "sigma": self.sigma,
        }
