"""Pixel metrics equal scikit-image's called as DPTN's script calls them; padding and body mask."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dptn_tf.metrics import body_mask, l1, mae, pad_to_256, psnr, ssim, ssim_256


def _batch(shape, seed=0):
    """Smooth-ish ground truth and a noisy, clipped "generated" version, in [0, 1]."""
    rng = np.random.default_rng(seed)
    truth = np.cumsum(rng.normal(0, 0.05, shape), axis=2)
    truth = (truth - truth.min()) / (truth.max() - truth.min())
    generated = np.clip(truth + rng.normal(0, 0.15, shape), 0, 1)
    return generated, truth


@pytest.mark.parametrize("shape", [(3, 256, 256, 3), (2, 128, 64, 3)])
def test_ssim_and_psnr_equal_scikit_image(shape):
    generated, truth = _batch(shape)
    expected_ssim = [
        structural_similarity(t, g, data_range=1, win_size=51, channel_axis=-1)
        for g, t in zip(generated, truth, strict=True)
    ]
    expected_psnr = [
        peak_signal_noise_ratio(t, g, data_range=1) for g, t in zip(generated, truth, strict=True)
    ]
    np.testing.assert_allclose(ssim(generated, truth), expected_ssim, rtol=0, atol=1e-10)
    np.testing.assert_allclose(psnr(generated, truth), expected_psnr, rtol=1e-12)


def test_ssim_256_equals_scikit_image_gaussian_call():
    generated, truth = _batch((2, 256, 256, 3), seed=1)
    generated[1] *= (
        0.8  # a value range other than 0..255: the data range follows the generated image
    )
    expected = [
        structural_similarity(
            t * 255, g * 255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            channel_axis=-1, data_range=g.max() * 255 - g.min() * 255,
        )
        for g, t in zip(generated, truth, strict=True)
    ]  # fmt: skip
    np.testing.assert_allclose(ssim_256(generated, truth), expected, rtol=0, atol=1e-10)


def test_l1_and_mae():
    generated, truth = _batch((2, 32, 16, 3), seed=2)
    diff = np.abs(generated - truth).reshape(2, -1)
    np.testing.assert_allclose(l1(generated, truth), diff.mean(axis=1))
    np.testing.assert_allclose(
        mae(generated, truth), diff.sum(axis=1) / (generated + truth).reshape(2, -1).sum(axis=1)
    )


def test_identical_images_score_perfectly():
    _, truth = _batch((1, 64, 64, 3), seed=3)
    assert ssim(truth, truth)[0] == pytest.approx(1.0)
    assert ssim_256(truth, truth)[0] == pytest.approx(1.0)
    assert psnr(truth, truth)[0] == np.inf
    assert l1(truth, truth)[0] == 0.0


def test_white_padding_centres_deepfashion_images():
    images = np.random.default_rng(4).random((2, 256, 176, 3))
    padded = pad_to_256(images)
    assert padded.shape == (2, 256, 256, 3)
    np.testing.assert_array_equal(padded[:, :, 40:216], images)
    assert (padded[:, :, :40] == 1).all() and (padded[:, :, 216:] == 1).all()
    with pytest.raises(ValueError, match=r"256 pixels high .* got 128x64"):
        pad_to_256(np.zeros((1, 128, 64, 3)))


def test_bad_shapes_are_refused():
    with pytest.raises(
        ValueError, match=r"same shape, got \[1, 256, 176, 3\] and \[1, 256, 256, 3\]"
    ):
        ssim(np.zeros((1, 256, 176, 3)), np.zeros((1, 256, 256, 3)))
    with pytest.raises(ValueError, match="SSIM window 51 does not fit 40x40 images"):
        ssim(np.zeros((1, 40, 40, 3)), np.zeros((1, 40, 40, 3)))


def test_body_mask_covers_limbs_and_joints_only():
    keypoints = np.full((18, 2), -1)
    assert not body_mask(keypoints).any()

    keypoints[1] = (20, 32)  # neck
    keypoints[8] = (100, 32)  # right hip: the neck-hip limb is a vertical band 2 x 4 pixels wide
    mask = body_mask(keypoints)
    assert mask.shape == (128, 64)
    assert mask[20:101, 29:36].all()
    assert not mask[:, :27].any() and not mask[:, 38:].any()
    assert not mask[110:].any() and not mask[:14].any()

    alone = np.full((18, 2), -1)
    alone[0] = (60, 30)  # a joint with no present neighbour: just its disc (radius 4, open)
    rows, cols = np.nonzero(body_mask(alone))
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (57, 63, 27, 33)
