"""`tools/evaluate.py` end to end on synthetic results, and its answers to bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dptn_tf.data import read_rgb
from dptn_tf.metrics import (
    body_mask,
    load_lpips,
    pad_to_256,
    pair_with_ground_truth,
    score_pairs,
)
from helpers.networks import (
    alexnet_state_dict,
    inception_state_dict,
    lpips_linear_state_dict,
    requires_torch,
    save,
)


@pytest.fixture(scope="module")
def tool():
    from dptn_tf.cli import evaluate

    return evaluate


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """The three files evaluation reads: real key names and shapes, random values (needs torch)."""
    folder = tmp_path_factory.mktemp("weights")
    save(inception_state_dict(fid=False), folder / "inception_v3_google-0cc3c7bd.pth")
    save(alexnet_state_dict(), folder / "alexnet-owt-7be5be79.pth")
    save(lpips_linear_state_dict(), folder / "lpips_v0.1_alex.pth")
    return folder


@pytest.fixture(autouse=True)
def no_torch_hub_cache(tmp_path, monkeypatch):
    """Weight lookups must not find files a developer happens to have downloaded."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.delenv("DPTN_WEIGHTS_DIR", raising=False)


def _person(rng, size):
    """A smooth random image: noise low-passed by bilinear upsampling."""
    small = rng.uniform(0, 255, (size[0] // 8, size[1] // 8, 3))
    return tf.image.resize(small, size).numpy().clip(0, 255).astype(np.uint8)


def _write(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    encode = tf.io.encode_jpeg if path.suffix == ".jpg" else tf.io.encode_png
    path.write_bytes(encode(image).numpy())


def _fashion_results(root, rng, pairs=3, real=4):
    """test/<to>.jpg, generated <from>_2_<to>_vis.jpg (the target plus noise), train/*.jpg."""
    for i in range(pairs):
        truth = _person(rng, (256, 176))
        noisy = np.clip(truth + rng.normal(0, 20, truth.shape), 0, 255).astype(np.uint8)
        _write(root / "test" / f"to{i}.jpg", truth)
        _write(root / "generated" / f"from{i}_2_to{i}_vis.jpg", noisy)
    for i in range(real):
        _write(root / "train" / f"real{i}.jpg", _person(rng, (256, 176)))


def _tool_args(root, weights_dir):
    return [
        "--generated", str(root / "generated"), "--ground-truth", str(root / "test"),
        "--fid-real", str(root / "train"), "--dataset", "fashion",
        "--weights-dir", str(weights_dir),
    ]  # fmt: skip


@pytest.mark.slow  # one 2048 x 2048 matrix square root: 15-40 s of CPU
@requires_torch
def test_fashion_evaluation_writes_the_table_and_json(tool, weights_dir, tmp_path, capsys):
    _fashion_results(tmp_path, np.random.default_rng(0))
    output = tmp_path / "out" / "metrics.json"
    args = _tool_args(tmp_path, weights_dir)
    args += ["--stats-cache", str(tmp_path / "cache"), "--output", str(output), "--quiet"]
    with pytest.warns(UserWarning, match="images for 2048 features"):
        assert tool.main(args) == 0

    result = json.loads(output.read_text())
    assert result["images"] == {"pairs": 3, "fid_generated": 3, "fid_real": 4}
    assert set(result["metrics"]) == {"ssim", "ssim_256", "psnr", "l1", "mae", "lpips", "fid"}
    assert result["paper"]["ssim"] == 0.7782
    assert Path(result["weights"]["inception"]).name == "inception_v3_google-0cc3c7bd.pth"
    assert Path(result["fid_real_statistics"]).is_file()
    assert result["metrics"]["lpips"] > 0 and result["metrics"]["fid"] > 0

    # The pixel metrics are scikit-image's on the white-padded pairs, matched by name.
    pairs = [(read_rgb(g) / 255.0, read_rgb(tmp_path / "test" / f"to{i}.jpg") / 255.0)
             for i, g in enumerate(sorted((tmp_path / "generated").iterdir()))]  # fmt: skip
    padded = [(pad_to_256(g[None])[0], pad_to_256(t[None])[0]) for g, t in pairs]
    expected_ssim = np.mean(
        [structural_similarity(t, g, data_range=1, win_size=51, channel_axis=-1) for g, t in padded]
    )
    expected_psnr = np.mean([peak_signal_noise_ratio(t, g, data_range=1) for g, t in padded])
    assert result["metrics"]["ssim"] == pytest.approx(expected_ssim, abs=1e-9)
    assert result["metrics"]["psnr"] == pytest.approx(expected_psnr, rel=1e-9)

    table = capsys.readouterr().out
    assert "0.7782" in table and "fid_real 4" in table and str(output) in table


@requires_torch
def test_market_masked_lpips_ignores_the_background(weights_dir, tmp_path):
    rng = np.random.default_rng(1)
    keypoints = np.full((18, 2), -1)
    keypoints[[0, 1, 8, 11]] = [(20, 32), (35, 32), (80, 26), (80, 38)]
    mask = body_mask(keypoints)[..., None]
    ys, xs = json.dumps(keypoints[:, 0].tolist()), json.dumps(keypoints[:, 1].tolist())
    rows = ["name:keypoints_y:keypoints_x"]
    for i in range(2):
        truth = _person(rng, (128, 64))
        generated = np.where(mask, truth, 255 - truth)  # wrong background, right body
        _write(tmp_path / "test" / f"to{i}.png", truth)
        _write(tmp_path / "generated" / f"from{i}_2_to{i}_vis.png", generated)
        rows.append(f"to{i}.png:{ys}:{xs}")
    annotations = tmp_path / "market-annotation-test.csv"
    annotations.write_text("\n".join(rows) + "\n")

    lpips, _ = load_lpips(weights_dir)
    pairs = pair_with_ground_truth(tmp_path / "generated", tmp_path / "test")
    scores = score_pairs(pairs, "market", lpips, annotations, verbose=False)
    assert len(scores["masked_lpips"]) == 2
    np.testing.assert_allclose(scores["masked_lpips"], 0.0, atol=1e-7)
    assert min(scores["lpips"]) > 1e-3
    assert "masked_lpips" not in score_pairs(pairs, "market", lpips, verbose=False)

    annotations.write_text(rows[0] + "\n" + rows[1] + "\n")
    with pytest.raises(
        ValueError, match=r"market-annotation-test.csv: no keypoints for ground truth to1.png"
    ):
        score_pairs(pairs, "market", lpips, annotations, verbose=False)


def test_images_decode_pixel_for_pixel_as_pillow_which_the_official_script_reads_with(tmp_path):
    from PIL import Image

    image = _person(np.random.default_rng(5), (256, 176))
    Image.fromarray(image).save(tmp_path / "a.jpg", quality=75)  # 4:2:0 chroma, lossy
    Image.fromarray(image).convert("RGBA").save(tmp_path / "b.png")
    for name in ("a.jpg", "b.png"):
        expected = np.asarray(Image.open(tmp_path / name).convert("RGB"))
        np.testing.assert_array_equal(read_rgb(tmp_path / name), expected)
    (tmp_path / "c.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"c.jpg: not a JPEG, PNG, BMP or GIF image"):
        read_rgb(tmp_path / "c.jpg")


def test_missing_and_misnamed_results_are_named(tmp_path):
    rng = np.random.default_rng(2)
    _write(tmp_path / "test" / "to0.jpg", _person(rng, (128, 64)))
    for name in ("a_2_to0_vis.jpg", "b_2_to1_vis.jpg"):
        _write(tmp_path / "generated" / name, _person(rng, (128, 64)))
    with pytest.raises(
        FileNotFoundError,
        match=r"1 of 2 generated images have no ground truth .*\n  b_2_to1_vis.jpg -> to1.jpg",
    ):
        pair_with_ground_truth(tmp_path / "generated", tmp_path / "test")

    _write(tmp_path / "generated" / "b_2_to1_vis.jpg", _person(rng, (128, 64)))
    _write(tmp_path / "odd" / "picture.jpg", _person(rng, (128, 64)))
    with pytest.raises(
        ValueError, match=r"picture.jpg: generated images must be named <from>_2_<to>_vis.jpg"
    ):
        pair_with_ground_truth(tmp_path / "odd", tmp_path / "test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no .jpg/.png images"):
        pair_with_ground_truth(tmp_path / "empty", tmp_path / "test")


def test_results_of_another_size_than_their_ground_truth_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    _write(tmp_path / "test" / "to0.jpg", _person(rng, (256, 176)))
    _write(tmp_path / "generated" / "a_2_to0_vis.jpg", _person(rng, (256, 256)))  # not resized back
    pairs = pair_with_ground_truth(tmp_path / "generated", tmp_path / "test")
    with pytest.raises(
        ValueError,
        match=r"generated .*a_2_to0_vis.jpg is 256x256, its ground truth .*to0.jpg is 256x176",
    ):
        score_pairs(pairs, "fashion", lpips_model=None, verbose=False)


def test_missing_weights_skip_their_metrics_and_are_all_named(tool, tmp_path, capsys):
    _fashion_results(tmp_path, np.random.default_rng(4), pairs=2, real=1)
    assert tool.main([*_tool_args(tmp_path, tmp_path / "none"), "--quiet"]) == 0
    result = json.loads((tmp_path / "generated" / "metrics.json").read_text())
    assert set(result["metrics"]) == {"ssim", "ssim_256", "psnr", "l1", "mae"}
    assert set(result["missing_weights"]) == {"lpips", "fid"}
    output = capsys.readouterr()
    assert "lpips" in output.out and "skipped" in output.out
    message = output.err
    for needed in (
        "alexnet-owt-*.pth",
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        "lpips_v0.1_alex.pth",
        "inception_v3_google-*.pth",
        "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
        str(tmp_path / "none"),
    ):
        assert needed in message, needed


@requires_torch
def test_lpips_without_inception_skips_only_fid(tool, weights_dir, tmp_path, capsys):
    _fashion_results(tmp_path, np.random.default_rng(6), pairs=2, real=1)
    partial = tmp_path / "weights"
    partial.mkdir()
    for name in ("alexnet-owt-7be5be79.pth", "lpips_v0.1_alex.pth"):
        (partial / name).symlink_to(weights_dir / name)
    output = tmp_path / "metrics.json"
    assert tool.main([*_tool_args(tmp_path, partial), "--output", str(output), "--quiet"]) == 0
    result = json.loads(output.read_text())
    assert "lpips" in result["metrics"] and "fid" not in result["metrics"]
    assert list(result["missing_weights"]) == ["fid"]
    message = capsys.readouterr().err
    assert "inception_v3_google-*.pth" in message and "alexnet" not in message


def test_the_command_line_offers_what_the_library_computes(tool):
    """evaluate.py spells its choices out (its --help loads no TensorFlow): the library's."""
    from dptn_tf.metrics.evaluation import DATASETS
    from dptn_tf.metrics.fid import DEFAULT_CACHE_DIR
    from dptn_tf.metrics.inception import VARIANTS

    assert tool.DATASETS == DATASETS
    assert tool.FID_VARIANTS == tuple(VARIANTS)
    assert Path(tool.FID_STATS_CACHE) == DEFAULT_CACHE_DIR
