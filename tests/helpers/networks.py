"""Weight files laid out as the real metric networks' (torchvision's InceptionV3 and AlexNet,
LPIPS' linear layers): their key names and shapes, random values."""

import numpy as np
import pytest

try:
    import torch
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
