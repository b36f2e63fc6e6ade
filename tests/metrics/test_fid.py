"""Fréchet distance against closed forms; the official batching; the real-set statistics cache."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.metrics import (
    Statistics,
    cached_folder_statistics,
    fid,
    frechet_distance,
    images_used,
    inception_features,
)


def _random_rotation(n, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q


def test_equal_gaussians_are_at_distance_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 40))
    sigma = a @ a.T + 0.1 * np.eye(40)
    mu = rng.normal(size=40)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_known_value_for_commuting_covariances():
    """Same eigenvectors: d = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2 over the eigenvalues."""
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    q = _random_rotation(16, 2)
    rotated = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(1.0, 4.0, 3.0, 9.0) == pytest.approx(
        4.0 + 1.0
    )  # 1-D: (1-3)^2 + (2-3)^2


def test_singular_covariances_still_give_a_finite_distance():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 32)), rng.normal(size=(5, 32)) + 1  # rank 4 of 32
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    d = frechet_distance(x.mean(0), s1, y.mean(0), s2)
    assert np.isfinite(d) and d > 0


def test_mismatched_statistics_are_refused():
    with pytest.raises(ValueError, match="statistics do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_statistics_need_two_images_and_warn_below_the_feature_dimension():
    with pytest.raises(ValueError, match="at least 2 images, got 1"):
        Statistics.of(np.zeros((1, 8)), "folder x")
    features = np.random.default_rng(4).normal(size=(5, 8))
    with pytest.warns(UserWarning, match="5 images for 8 features"):
        stats = Statistics.of(features, "folder x")
    np.testing.assert_allclose(stats.sigma, np.cov(features, rowvar=False))
    assert stats.num_images == 5


def test_official_batching_drops_the_incomplete_last_batch():
    assert images_used(8570) == 8512  # DeepFashion's test set: 133 full batches
    assert images_used(12000) == 11968
    assert images_used(64) == 64 and images_used(63) == 63 and images_used(2) == 2


def _mean_model():
    """A stand-in for InceptionV3: every feature is the mean of the input's centre pixel."""
    images = keras.Input((299, 299, 3))
    centre = keras.layers.Flatten()(keras.layers.Cropping2D(149)(images))
    features = keras.layers.Dense(
        2048, use_bias=False, kernel_initializer=keras.initializers.Constant(1 / 3)
    )(centre)
    return keras.Model(images, features, name="mean_model")


def _write_constant_images(folder, values, size=(20, 12)):
    folder.mkdir(exist_ok=True)
    for v in values:
        image = np.full((*size, 3), v, np.uint8)
        (folder / f"{v:03d}.png").write_bytes(tf.io.encode_png(image).numpy())


def test_features_come_in_name_order_from_full_batches(tmp_path):
    _write_constant_images(tmp_path / "real", range(10))
    files = sorted((tmp_path / "real").iterdir())
    features = inception_features(_mean_model(), files, batch_size=4, verbose=False)
    assert features.shape == (8, 2048)
    np.testing.assert_allclose(features[:, 0] * 255, np.arange(8), atol=1e-3)


@pytest.mark.filterwarnings("ignore:FID of")
def test_real_statistics_are_cached_per_folder_content_and_weights(tmp_path, monkeypatch):
    real, cache = tmp_path / "real", tmp_path / "cache"
    _write_constant_images(real, [10, 50, 90, 130])
    weights_a, weights_b = tmp_path / "a.pth", tmp_path / "b.pth"
    weights_a.write_bytes(b"a")
    weights_b.write_bytes(b"bb")
    model = _mean_model()

    stats, file = cached_folder_statistics(model, real, weights_a, cache, verbose=False)
    assert file.parent == cache and file.suffix == ".npz"
    assert stats.num_images == 4
    assert stats.mu[0] * 255 == pytest.approx(70, abs=1e-3)
    assert stats.sigma[0, 0] * 255**2 == pytest.approx(np.var([10, 50, 90, 130], ddof=1), rel=1e-4)
    assert [p.name for p in cache.iterdir()] == [file.name]  # no temporary file left behind

    def no_recompute(*args, **kwargs):
        raise AssertionError("statistics recomputed although cached")

    monkeypatch.setattr(fid, "inception_features", no_recompute)
    again, same_file = cached_folder_statistics(model, real, weights_a, cache, verbose=False)
    assert same_file == file
    np.testing.assert_array_equal(again.sigma, stats.sigma)
    monkeypatch.undo()

    _, other_weights = cached_folder_statistics(model, real, weights_b, cache, verbose=False)
    _write_constant_images(real, [200])
    changed, changed_folder = cached_folder_statistics(model, real, weights_a, cache, verbose=False)
    assert len({file, other_weights, changed_folder}) == 3
    assert changed.num_images == 5
