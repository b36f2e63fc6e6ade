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

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None,
    reason="torch (optional extra) not installed: .pth reading and torch references untested",
)


# ---- state dicts with torchvision's / LPIPS' key names and shapes -------------------------------


def _inception_a(n, cin, pool):
    return [
        (f"{n}.branch1x1", cin, 64, 1, 1),
        (f"{n}.branch5x5_1", cin, 48, 1, 1),
        (f"{n}.branch5x5_2", 48, 64, 5, 5),
        (f"{n}.branch3x3dbl_1", cin, 64, 1, 1),
        (f"{n}.branch3x3dbl_2", 64, 96, 3, 3),
        (f"{n}.branch3x3dbl_3", 96, 96, 3, 3),
        (f"{n}.branch_pool", cin, pool, 1, 1),
    ]


def _inception_c(n, c7):
    return [
        (f"{n}.branch1x1", 768, 192, 1, 1),
        (f"{n}.branch7x7_1", 768, c7, 1, 1),
        (f"{n}.branch7x7_2", c7, c7, 1, 7),
        (f"{n}.branch7x7_3", c7, 192, 7, 1),
        (f"{n}.branch7x7dbl_1", 768, c7, 1, 1),
        (f"{n}.branch7x7dbl_2", c7, c7, 7, 1),
        (f"{n}.branch7x7dbl_3", c7, c7, 1, 7),
        (f"{n}.branch7x7dbl_4", c7, c7, 7, 1),
        (f"{n}.branch7x7dbl_5", c7, 192, 1, 7),
        (f"{n}.branch_pool", 768, 192, 1, 1),
    ]


def _inception_e(n, cin):
    return [
        (f"{n}.branch1x1", cin, 320, 1, 1),
        (f"{n}.branch3x3_1", cin, 384, 1, 1),
        (f"{n}.branch3x3_2a", 384, 384, 1, 3),
        (f"{n}.branch3x3_2b", 384, 384, 3, 1),
        (f"{n}.branch3x3dbl_1", cin, 448, 1, 1),
        (f"{n}.branch3x3dbl_2", 448, 384, 3, 3),
        (f"{n}.branch3x3dbl_3a", 384, 384, 1, 3),
        (f"{n}.branch3x3dbl_3b", 384, 384, 3, 1),
        (f"{n}.branch_pool", cin, 192, 1, 1),
    ]


INCEPTION_CONVS = [
    ("Conv2d_1a_3x3", 3, 32, 3, 3),
    ("Conv2d_2a_3x3", 32, 32, 3, 3),
    ("Conv2d_2b_3x3", 32, 64, 3, 3),
    ("Conv2d_3b_1x1", 64, 80, 1, 1),
    ("Conv2d_4a_3x3", 80, 192, 3, 3),
    *_inception_a("Mixed_5b", 192, 32),
    *_inception_a("Mixed_5c", 256, 64),
    *_inception_a("Mixed_5d", 288, 64),
    ("Mixed_6a.branch3x3", 288, 384, 3, 3),
    ("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1),
    ("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3),
    ("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3),
    *_inception_c("Mixed_6b", 128),
    *_inception_c("Mixed_6c", 160),
    *_inception_c("Mixed_6d", 160),
    *_inception_c("Mixed_6e", 192),
    ("Mixed_7a.branch3x3_1", 768, 192, 1, 1),
    ("Mixed_7a.branch3x3_2", 192, 320, 3, 3),
    ("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1),
    ("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7),
    ("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1),
    ("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3),
    *_inception_e("Mixed_7b", 1280),
    *_inception_e("Mixed_7c", 2048),
]
ALEXNET_CONVS = [
    (0, 3, 64, 11),
    (3, 64, 192, 5),
    (6, 192, 384, 3),
    (8, 384, 256, 3),
    (10, 256, 256, 3),
]
LPIPS_CHANNELS = [64, 192, 384, 256, 256]


def _conv_weight(rng, cout, cin, kh, kw):
    return (rng.standard_normal((cout, cin, kh, kw)) * np.sqrt(2.0 / (cin * kh * kw))).astype(
        np.float32
    )


def inception_state_dict(fid: bool, seed: int = 0) -> dict:
    """torchvision's (or pytorch-fid's: 1008 classes, no aux head) InceptionV3 keys, random."""
    rng = np.random.default_rng(seed)
    sd = {}
    convs = INCEPTION_CONVS + (
        [] if fid else [("AuxLogits.conv0", 768, 128, 1, 1), ("AuxLogits.conv1", 128, 768, 5, 5)]
    )
    for name, cin, cout, kh, kw in convs:
        sd[f"{name}.conv.weight"] = _conv_weight(rng, cout, cin, kh, kw)
        sd[f"{name}.bn.weight"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)
        sd[f"{name}.bn.bias"] = rng.normal(0, 0.1, cout).astype(np.float32)
        sd[f"{name}.bn.running_mean"] = rng.normal(0, 0.1, cout).astype(np.float32)
        sd[f"{name}.bn.running_var"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)
        sd[f"{name}.bn.num_batches_tracked"] = np.array(0, np.int64)
    classes = 1008 if fid else 1000
    sd["fc.weight"] = rng.normal(0, 0.01, (classes, 2048)).astype(np.float32)
    sd["fc.bias"] = np.zeros(classes, np.float32)
    if not fid:
        sd["AuxLogits.fc.weight"] = rng.normal(0, 0.01, (1000, 768)).astype(np.float32)
        sd["AuxLogits.fc.bias"] = np.zeros(1000, np.float32)
    return sd


def alexnet_state_dict(seed: int = 1) -> dict:
    """torchvision's AlexNet feature keys; the classifier (ignored by LPIPS) is kept tiny here."""
    rng = np.random.default_rng(seed)
    sd = {}
    for index, cin, cout, k in ALEXNET_CONVS:
        sd[f"features.{index}.weight"] = _conv_weight(rng, cout, cin, k, k)
        sd[f"features.{index}.bias"] = rng.normal(0, 0.1, cout).astype(np.float32)
    for index in (1, 4, 6):
        sd[f"classifier.{index}.weight"] = np.zeros((2, 2), np.float32)
        sd[f"classifier.{index}.bias"] = np.zeros(2, np.float32)
    return sd


def lpips_linear_state_dict(seed: int = 2) -> dict:
    rng = np.random.default_rng(seed)
    return {
        f"lin{k}.model.1.weight": rng.uniform(0, 0.3, (1, c, 1, 1)).astype(np.float32)
        for k, c in enumerate(LPIPS_CHANNELS)
    }


def save(state_dict: dict, path) -> None:
    torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in state_dict.items()}, path)


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
