"""Pixel metrics as DPTN's metrics script reports them: SSIM, "ssim_256", PSNR, L1 and MAE.

All take batches of NHWC images with values in [0, 1] (generated first, ground truth second) and
return one float64 value per image; the reported figure is their mean. They are computed in
float64 in TensorFlow and equal scikit-image's functions called as the script calls them:

- `ssim`: `structural_similarity(data_range=1, win_size=51, channel_axis=-1)`, a 51 x 51 uniform
  window with the sample covariance.
- `ssim_256`: the same on 0..255 values with a Gaussian window (sigma 1.5, 11 taps), population
  covariance and, as the script passes it, the generated image's own value range as data range.

scikit-image averages SSIM over the positions where the window fits inside the image, so a
'valid' convolution gives exactly its numbers whatever its border mode.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

SSIM_WINDOW = 51
_GAUSSIAN_SIGMA = 1.5
_GAUSSIAN_TRUNCATE = 3.5  # scipy's gaussian_filter default, which sets the 11-tap window
_K1, _K2 = 0.01, 0.03
PAD_SIZE = 256


def pad_to_256(images) -> np.ndarray:
    """Centre 256-high images (DeepFashion's 256 x 176) on a white 256 x 256 canvas, as the script
    does before SSIM and PSNR (the 176 columns land at 40..216)."""
    images = np.asarray(images)
    height, width = images.shape[1:3]
    if height != PAD_SIZE or width > PAD_SIZE:
        raise ValueError(
            f"white padding to {PAD_SIZE}x{PAD_SIZE} needs images {PAD_SIZE} pixels high and at "
            f"most {PAD_SIZE} wide (DeepFashion's 256x176), got {height}x{width}"
        )
    left = (PAD_SIZE - width) // 2
    canvas = np.ones((images.shape[0], PAD_SIZE, PAD_SIZE, images.shape[3]), images.dtype)
    canvas[:, :, left : left + width] = images
    return canvas


def _as_pair(generated, ground_truth) -> tuple[tf.Tensor, tf.Tensor]:
    generated = tf.convert_to_tensor(generated, tf.float64)
    ground_truth = tf.convert_to_tensor(ground_truth, tf.float64)
    if generated.shape.rank != 4 or generated.shape != ground_truth.shape:
        raise ValueError(
            "expected two NHWC batches of the same shape, got "
            f"{generated.shape.as_list()} and {ground_truth.shape.as_list()}"
        )
    return generated, ground_truth


def _filter_valid(images: tf.Tensor, taps: np.ndarray) -> tf.Tensor:
    """Separable filter over height and width, each channel alone, where the window fits."""
    channels = images.shape[-1]
    size = len(taps)
    column = tf.constant(np.tile(taps.reshape(size, 1, 1, 1), (1, 1, channels, 1)), tf.float64)
    row = tf.reshape(column, (1, size, channels, 1))
    images = tf.nn.depthwise_conv2d(images, column, (1, 1, 1, 1), "VALID")
    return tf.nn.depthwise_conv2d(images, row, (1, 1, 1, 1), "VALID")


def _ssim(x, y, data_range, taps: np.ndarray, sample_covariance: bool) -> np.ndarray:
    height, width = x.shape[1:3]
    if min(height, width) < len(taps):
        raise ValueError(f"SSIM window {len(taps)} does not fit {height}x{width} images")
    mean = functools.partial(_filter_valid, taps=taps)
    norm = len(taps) ** 2 / (len(taps) ** 2 - 1) if sample_covariance else 1.0
    mu_x, mu_y = mean(x), mean(y)
    var_x = norm * (mean(x * x) - mu_x * mu_x)
    var_y = norm * (mean(y * y) - mu_y * mu_y)
    cov = norm * (mean(x * y) - mu_x * mu_y)
    data_range = tf.reshape(tf.cast(data_range, tf.float64), (-1, 1, 1, 1))
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    return tf.reduce_mean(index, axis=(1, 2, 3)).numpy()


def ssim(generated, ground_truth) -> np.ndarray:
    """SSIM with the 51 x 51 uniform window and data range 1 (the paper's SSIM)."""
    x, y = _as_pair(generated, ground_truth)
    taps = np.full(SSIM_WINDOW, 1.0 / SSIM_WINDOW)
    return _ssim(x, y, 1.0, taps, sample_covariance=True)


def ssim_256(generated, ground_truth) -> np.ndarray:
    """Gaussian-window SSIM on 0..255 values, data range = the generated image's max - min."""
    x, y = _as_pair(generated, ground_truth)
    x, y = 255.0 * x, 255.0 * y
    radius = int(_GAUSSIAN_TRUNCATE * _GAUSSIAN_SIGMA + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / _GAUSSIAN_SIGMA) ** 2)
    data_range = tf.reduce_max(x, axis=(1, 2, 3)) - tf.reduce_min(x, axis=(1, 2, 3))
    return _ssim(x, y, data_range, taps / taps.sum(), sample_covariance=False)


def psnr(generated, ground_truth, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB (infinite for identical images)."""
    x, y = _as_pair(generated, ground_truth)
    mse = tf.reduce_mean(tf.square(x - y), axis=(1, 2, 3))
    return (10.0 * tf.math.log(data_range**2 / mse) / np.log(10.0)).numpy()


def l1(generated, ground_truth) -> np.ndarray:
    """Mean absolute difference."""
    x, y = _as_pair(generated, ground_truth)
    return tf.reduce_mean(tf.abs(x - y), axis=(1, 2, 3)).numpy()


def mae(generated, ground_truth) -> np.ndarray:
    """The script's "MAE": summed absolute difference over the summed intensities of both images."""
    x, y = _as_pair(generated, ground_truth)
    return (
        tf.reduce_sum(tf.abs(x - y), axis=(1, 2, 3)) / tf.reduce_sum(x + y, axis=(1, 2, 3))
    ).numpy()
