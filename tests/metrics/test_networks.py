"""The metric networks, loaded from `.pth` files laid out as the real ones, compute what torch does.

The state dicts are written here with torchvision's key names and shapes and random values; the
reference is a torch.nn.functional forward written from torchvision's / LPIPS' module code.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.files import weight_files
from dptn_tf.metrics import (
    assign_state_dict,
    build_alexnet_features,
    find_weight_file,
    inception_features,
    load_inception_v3,
    load_lpips,
)
from dptn_tf.metrics.inception import fold_batch_norms
from helpers.networks import (
    ALEXNET_CONVS,
    alexnet_state_dict,
    inception_state_dict,
    lpips_linear_state_dict,
    requires_torch,
    save,
)

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A weights folder with all four files, named as downloaded."""
    if torch is None:
        pytest.skip("torch (optional extra) not installed: cannot write .pth files")
    folder = tmp_path_factory.mktemp("weights")
    save(inception_state_dict(fid=False), folder / "inception_v3_google-0cc3c7bd.pth")
    save(inception_state_dict(fid=True), folder / "pt_inception-2015-12-05-6726825d.pth")
    save(alexnet_state_dict(), folder / "alexnet-owt-7be5be79.pth")
    save(lpips_linear_state_dict(), folder / "lpips_v0.1_alex.pth")
    return folder


# ---- torch references ---------------------------------------------------------------------------


def torch_inception_pool3(sd: dict, images: np.ndarray, fid: bool) -> np.ndarray:
    """torchvision InceptionV3 blocks up to pool3 on NCHW [0, 1] images of any size, in torch."""
    t = {k: torch.from_numpy(v) for k, v in sd.items()}

    def conv(x, name, stride=1, padding=0):
        x = F.conv2d(x, t[f"{name}.conv.weight"], stride=stride, padding=padding)
        bn = f"{name}.bn"
        x = F.batch_norm(
            x,
            t[f"{bn}.running_mean"],
            t[f"{bn}.running_var"],
            t[f"{bn}.weight"],
            t[f"{bn}.bias"],
            False,
            0.0,
            1e-3,
        )
        return F.relu(x)

    def avg(x):
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=not fid)

    def block_a(x, n):
        b5 = conv(conv(x, f"{n}.branch5x5_1"), f"{n}.branch5x5_2", padding=2)
        b3 = conv(
            conv(conv(x, f"{n}.branch3x3dbl_1"), f"{n}.branch3x3dbl_2", padding=1),
            f"{n}.branch3x3dbl_3",
            padding=1,
        )
        return torch.cat([conv(x, f"{n}.branch1x1"), b5, b3, conv(avg(x), f"{n}.branch_pool")], 1)

    def block_c(x, n):
        b7 = conv(x, f"{n}.branch7x7_1")
        b7 = conv(conv(b7, f"{n}.branch7x7_2", padding=(0, 3)), f"{n}.branch7x7_3", padding=(3, 0))
        bd = conv(x, f"{n}.branch7x7dbl_1")
        for i, pad in zip(range(2, 6), [(3, 0), (0, 3), (3, 0), (0, 3)], strict=True):
            bd = conv(bd, f"{n}.branch7x7dbl_{i}", padding=pad)
        return torch.cat([conv(x, f"{n}.branch1x1"), b7, bd, conv(avg(x), f"{n}.branch_pool")], 1)

    def block_e(x, n, pool):
        b3 = conv(x, f"{n}.branch3x3_1")
        b3 = torch.cat(
            [
                conv(b3, f"{n}.branch3x3_2a", padding=(0, 1)),
                conv(b3, f"{n}.branch3x3_2b", padding=(1, 0)),
            ],
            1,
        )
        bd = conv(conv(x, f"{n}.branch3x3dbl_1"), f"{n}.branch3x3dbl_2", padding=1)
        bd = torch.cat(
            [
                conv(bd, f"{n}.branch3x3dbl_3a", padding=(0, 1)),
                conv(bd, f"{n}.branch3x3dbl_3b", padding=(1, 0)),
            ],
            1,
        )
        return torch.cat([conv(x, f"{n}.branch1x1"), b3, bd, conv(pool(x), f"{n}.branch_pool")], 1)

    x = torch.from_numpy(images)
    if fid:
        x = 2 * x - 1
    else:  # the DPTN metrics script's normalisation of [0, 1] input
        mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
        x = x * (std / 0.5)[None, :, None, None] + ((mean - 0.5) / 0.5)[None, :, None, None]
    x = conv(conv(conv(x, "Conv2d_1a_3x3", stride=2), "Conv2d_2a_3x3"), "Conv2d_2b_3x3", padding=1)
    x = conv(conv(F.max_pool2d(x, 3, 2), "Conv2d_3b_1x1"), "Conv2d_4a_3x3")
    x = F.max_pool2d(x, 3, 2)
    for n in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
        x = block_a(x, n)
    bd = conv(
        conv(conv(x, "Mixed_6a.branch3x3dbl_1"), "Mixed_6a.branch3x3dbl_2", padding=1),
        "Mixed_6a.branch3x3dbl_3",
        stride=2,
    )
    x = torch.cat([conv(x, "Mixed_6a.branch3x3", stride=2), bd, F.max_pool2d(x, 3, 2)], 1)
    for n in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        x = block_c(x, n)
    b3 = conv(conv(x, "Mixed_7a.branch3x3_1"), "Mixed_7a.branch3x3_2", stride=2)
    b7 = conv(x, "Mixed_7a.branch7x7x3_1")
    b7 = conv(
        conv(b7, "Mixed_7a.branch7x7x3_2", padding=(0, 3)), "Mixed_7a.branch7x7x3_3", padding=(3, 0)
    )
    x = torch.cat([b3, conv(b7, "Mixed_7a.branch7x7x3_4", stride=2), F.max_pool2d(x, 3, 2)], 1)
    x = block_e(x, "Mixed_7b", avg)
    x = block_e(x, "Mixed_7c", (lambda y: F.max_pool2d(y, 3, 1, 1)) if fid else avg)
    return x.mean(dim=(2, 3)).numpy()


def torch_lpips(trunk: dict, linear: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LPIPS v0.1 net-lin AlexNet distance of NCHW [-1, 1] batches, in torch."""
    t = {k: torch.from_numpy(v) for k, v in {**trunk, **linear}.items()}
    shift = torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None]
    scale = torch.tensor([0.458, 0.448, 0.450])[None, :, None, None]

    def taps(x):
        x = (x - shift) / scale
        outs = []
        for index, _, _, k in ALEXNET_CONVS:
            if index in (3, 6):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(
                F.conv2d(
                    x,
                    t[f"features.{index}.weight"],
                    t[f"features.{index}.bias"],
                    stride=4 if index == 0 else 1,
                    padding=k // 2 if index else 2,
                )
            )
            outs.append(x)
        return outs

    total = 0
    for k, (fa, fb) in enumerate(
        zip(taps(torch.from_numpy(a)), taps(torch.from_numpy(b)), strict=True)
    ):
        fa = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        fb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total = total + F.conv2d((fa - fb) ** 2, t[f"lin{k}.model.1.weight"]).mean(dim=(2, 3))
    return total[:, 0].numpy()


def nchw(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


# ---- tests --------------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize(
    "variant, file_name, size",
    [
        ("torchvision", "inception_v3_google-0cc3c7bd.pth", (256, 176)),
        ("pytorch-fid", "pt_inception-2015-12-05-6726825d.pth", (320, 310)),
    ],
    ids=["torchvision", "pytorch-fid"],
)
def test_inception_features_match_torch_including_the_resize(
    weights_dir, tmp_path, variant, file_name, size
):
    """An image file -> bilinear resize to 299 (up or down) -> normalisation -> pool3, as torch.

    The pytorch-fid variant also checks its padding-free average pools and Mixed_7c's max pool.
    """
    model, path = load_inception_v3(variant, weights_dir)
    assert path.name == file_name
    image = np.random.default_rng(3).integers(0, 256, (*size, 3), dtype=np.uint8)
    (tmp_path / "image.png").write_bytes(tf.io.encode_png(image).numpy())
    features = inception_features(model, [tmp_path / "image.png"], verbose=False)

    unit = torch.from_numpy(nchw(image[None].astype(np.float32) / 255))
    resized = F.interpolate(unit, size=(299, 299), mode="bilinear", align_corners=False).numpy()
    fid = variant == "pytorch-fid"
    reference = torch_inception_pool3(inception_state_dict(fid=fid), resized, fid=fid)
    assert features.shape == (1, 2048)
    np.testing.assert_allclose(features, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())


def test_folding_a_batch_norm_computes_it_and_names_a_missing_tensor():
    rng = np.random.default_rng(4)
    weight = rng.normal(size=(4, 3, 3, 3)).astype("float32")
    gamma, beta, mean = (rng.normal(size=4).astype("float32") for _ in range(3))
    variance = rng.uniform(0.5, 2, 4).astype("float32")
    state = {
        "Conv2d_1a_3x3.conv.weight": weight,
        "Conv2d_1a_3x3.bn.weight": gamma,
        "Conv2d_1a_3x3.bn.bias": beta,
        "Conv2d_1a_3x3.bn.running_mean": mean,
        "Conv2d_1a_3x3.bn.running_var": variance,
        "Conv2d_1a_3x3.bn.num_batches_tracked": np.array(7),
        "fc.weight": np.ones((2, 2), "float32"),
    }
    folded = fold_batch_norms(state, "weights.pth")
    assert sorted(folded) == ["Conv2d_1a_3x3.conv.bias", "Conv2d_1a_3x3.conv.weight", "fc.weight"]
    x = rng.normal(size=(1, 8, 8, 3)).astype("float32")
    conv = lambda w: tf.nn.conv2d(x, w.transpose(2, 3, 1, 0), 1, "VALID")  # noqa: E731
    normalised = (conv(weight) - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    folded_output = conv(folded["Conv2d_1a_3x3.conv.weight"]) + folded["Conv2d_1a_3x3.conv.bias"]
    np.testing.assert_allclose(folded_output, normalised, rtol=1e-5, atol=1e-5)
    del state["Conv2d_1a_3x3.bn.running_var"]
    with pytest.raises(
        ValueError, match=r"weights.pth: missing tensor 'Conv2d_1a_3x3.bn.running_var'"
    ):
        fold_batch_norms(state, "weights.pth")


@requires_torch
@pytest.mark.parametrize("size", [(128, 64), (67, 93)])
def test_lpips_matches_torch(weights_dir, size):
    model, (trunk, linear) = load_lpips(weights_dir)
    assert (trunk.name, linear.name) == ("alexnet-owt-7be5be79.pth", "lpips_v0.1_alex.pth")
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (3, *size, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1).astype(np.float32)
    distance = model.predict_on_batch([a, b])
    reference = torch_lpips(alexnet_state_dict(), lpips_linear_state_dict(), nchw(a), nchw(b))
    np.testing.assert_allclose(distance, reference, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch([a, a]), 0.0, atol=1e-6)


def test_missing_weight_file_names_the_file_every_folder_and_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    with pytest.raises(FileNotFoundError) as error:
        find_weight_file(weight_files.INCEPTION_TORCHVISION, tmp_path / "mine")
    message = str(error.value)
    assert "inception_v3_google-*.pth" in message
    assert str(tmp_path / "mine") in message
    assert str(tmp_path / "torch_home" / "hub" / "checkpoints") in message
    assert "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth" in message


def test_weight_lookup_order(tmp_path, monkeypatch):
    """Explicit folder, else $DPTN_WEIGHTS_DIR, then torch hub's cache; any release hash matches."""
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    env, explicit = tmp_path / "env", tmp_path / "explicit"
    for folder in (hub, env, explicit):
        folder.mkdir(parents=True)
        (folder / "alexnet-owt-4df8aa71.pth").touch()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("DPTN_WEIGHTS_DIR", str(env))
    assert find_weight_file(weight_files.ALEXNET, explicit).parent == explicit
    assert find_weight_file(weight_files.ALEXNET).parent == env
    (env / "alexnet-owt-4df8aa71.pth").unlink()
    assert find_weight_file(weight_files.ALEXNET).parent == hub


def test_conversion_refuses_missing_misshapen_and_unknown_tensors():
    model = build_alexnet_features()
    good = alexnet_state_dict()
    assign_state_dict(model, good, "alexnet.pth", ignored_prefixes=("classifier.",))
    np.testing.assert_array_equal(
        model.get_layer("features.3").kernel.numpy(),
        good["features.3.weight"].transpose(2, 3, 1, 0),
    )

    missing = {k: v for k, v in good.items() if k != "features.6.bias"}
    with pytest.raises(ValueError, match=r"alexnet.pth: missing tensor 'features.6.bias'"):
        assign_state_dict(model, missing, "alexnet.pth", ignored_prefixes=("classifier.",))
    misshapen = {**good, "features.8.weight": np.zeros((256, 384, 5, 5), np.float32)}
    with pytest.raises(ValueError, match=r"features.8.weight.*do not fit layer features.8"):
        assign_state_dict(model, misshapen, "alexnet.pth", ignored_prefixes=("classifier.",))
    with pytest.raises(
        ValueError, match=r"6 tensors match no layer of alexnet_features \(classifier"
    ):
        assign_state_dict(model, good, "alexnet.pth")


def test_library_imports_without_torch_and_says_what_to_install(tmp_path):
    (tmp_path / "alexnet-owt-7be5be79.pth").touch()
    (tmp_path / "lpips_v0.1_alex.pth").touch()
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import dptn_tf.metrics as m\n"
        "try:\n"
        f"    m.load_lpips({str(tmp_path)!r})\n"
        "except ImportError as e:\n"
        "    print('ERROR', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert out.returncode == 0, out.stderr
    assert "ERROR" in out.stdout and "pip install 'dptn-tf[torch]'" in out.stdout


def _png(image: np.ndarray) -> bytes:
    return tf.io.encode_png(image).numpy()
