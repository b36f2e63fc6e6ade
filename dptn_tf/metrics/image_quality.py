"""Pixel metrics as DPTN's metrics script reports them: SSIM, "ssim_256", PSNR, L1 and MAE.

All take batches of NHWC images with values in [0, 1] (generated first, ground truth second) and
return one float64 value per image; the reported figure is their mean. They are computed in
float64 with numpy and equal scikit-image's functions called as the script calls them:

- `ssim`: `structural_similarity(data_range=1, win_size=51, channel_axis=-1)`, a 51 x 51 uniform
  window with the sample covariance.
- `ssim_256`: the same on 0..255 values with a Gaussian window (sigma 1.5, 11 taps), population
  covariance and, as the script passes it, the generated image's own value range as data range.

scikit-image averages SSIM over the positions where the window fits inside the image, so local
means over the 'valid' positions give exactly its numbers whatever its border mode. A uniform
window is a box filter: its local sums are running sums (add the row entering the window,
subtract the row leaving it), two vector operations per output row instead of 51 multiply-adds
per pixel and direction. Each channel is filtered on its own so that its five maps (x, y, x^2,
y^2, xy) stay in the CPU's cache, which is what makes this faster than scikit-image's filters.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

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


def _as_pair(generated, ground_truth) -> tuple[np.ndarray, np.ndarray]:
    generated = np.asarray(generated, np.float64)
    ground_truth = np.asarray(ground_truth, np.float64)
    if generated.ndim != 4 or generated.shape != ground_truth.shape:
        raise ValueError(
            "expected two NHWC batches of the same shape, got "
            f"{list(generated.shape)} and {list(ground_truth.shape)}"
        )
    return generated, ground_truth


def _running_sums(maps: np.ndarray, size: int) -> np.ndarray:
    """Sums over `size` consecutive rows (axis 0) at every position where they fit."""
    rows = maps.shape[0] - size + 1
    sums = np.empty((rows, *maps.shape[1:]))
    change = np.empty(maps.shape[1:])
    np.sum(maps[:size], axis=0, out=sums[0])
    for i in range(1, rows):
        np.subtract(maps[i + size - 1], maps[i - 1], out=change)
        np.add(sums[i - 1], change, out=sums[i])
    return sums


def _box_means(maps: list, size: int) -> list:
    """Means over every `size` x `size` window of each (H, W) map that fits: (H', W') each.

    Running sums down the rows, then, along each row, differences of cumulative sums (numpy
    has no fast strided running sum, and transposing the maps costs more than the sums).
    """
    columns = _running_sums(np.stack(maps, axis=1), size)  # (H', maps, W)
    totals = np.cumsum(columns, axis=-1)
    sums = totals[..., size - 1 :].copy()
    sums[..., 1:] -= totals[..., :-size]
    return list(np.moveaxis(sums / size**2, 1, 0))


def _gaussian_means(maps: list) -> list:
    """scipy's Gaussian filter (sigma 1.5, 11 taps) of each (H, W) map, at the valid positions."""
    radius = int(_GAUSSIAN_TRUNCATE * _GAUSSIAN_SIGMA + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / _GAUSSIAN_SIGMA) ** 2)
    taps /= taps.sum()
    means = []
    for image in maps:
        for axis in (0, 1):
            image = ndimage.correlate1d(image, taps, axis=axis, mode="reflect")
        means.append(image[radius:-radius, radius:-radius])
    return means


def _mean_ssim(x, y, data_range, local_means, window: int, sample_covariance: bool) -> float:
    """SSIM of one image pair (H, W, C), averaged over valid positions and channels."""
    height, width = x.shape[:2]
    if min(height, width) < window:
        raise ValueError(f"SSIM window {window} does not fit {height}x{width} images")
    norm = window**2 / (window**2 - 1) if sample_covariance else 1.0
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    total = 0.0
    for channel in range(x.shape[2]):
        a, b = x[..., channel], y[..., channel]
        mu_x, mu_y, xx, yy, xy = local_means([a, b, a * a, b * b, a * b])
        var_x = norm * (xx - mu_x * mu_x)
        var_y = norm * (yy - mu_y * mu_y)
        cov = norm * (xy - mu_x * mu_y)
        index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
            (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
        )
        total += index.mean()
    return total / x.shape[2]


def ssim(generated, ground_truth) -> np.ndarray:
    """SSIM with the 51 x 51 uniform window and data range 1 (the paper's SSIM)."""
    x, y = _as_pair(generated, ground_truth)

    def box(maps):
        return _box_means(maps, SSIM_WINDOW)

    return np.array(
        [_mean_ssim(a, b, 1.0, box, SSIM_WINDOW, sample_covariance=True) for a, b in zip(x, y)]
    )


def ssim_256(generated, ground_truth) -> np.ndarray:
    """Gaussian-window SSIM on 0..255 values, data range = the generated image's max - min."""
    x, y = _as_pair(generated, ground_truth)
    x, y = 255.0 * x, 255.0 * y
    window = 2 * int(_GAUSSIAN_TRUNCATE * _GAUSSIAN_SIGMA + 0.5) + 1
    return np.array(
        [
            _mean_ssim(a, b, a.max() - a.min(), _gaussian_means, window, sample_covariance=False)
            for a, b in zip(x, y)
        ]
    )


def psnr(generated, ground_truth, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB (infinite for identical images)."""
    x, y = _as_pair(generated, ground_truth)
    mse = np.mean(np.square(x - y), axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse)


def l1(generated, ground_truth) -> np.ndarray:
    """Mean absolute difference."""
    x, y = _as_pair(generated, ground_truth)
    return np.mean(np.abs(x - y), axis=(1, 2, 3))


def mae(generated, ground_truth) -> np.ndarray:
    """The script's "MAE": summed absolute difference over the summed intensities of both images."""
    x, y = _as_pair(generated, ground_truth)
    return np.sum(np.abs(x - y), axis=(1, 2, 3)) / np.sum(x + y, axis=(1, 2, 3))
