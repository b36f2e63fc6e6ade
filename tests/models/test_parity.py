"""The Keras DPTN reproduces the official PyTorch code's golden outputs (../shared/fixtures)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dptn_tf.convert import (
    import_discriminator,
    import_generator,
    load_torch_state_dict,
)
from dptn_tf.models import generator_parts, inference_generator

pytest.importorskip(
    "torch", reason="reading the .pth fixtures needs torch (pip install 'dptn-tf[torch]')"
)

TOLERANCE = 1e-4
REPO = Path(__file__).resolve().parents[2]
INPUT_NAMES = ("source_image", "source_pose", "target_pose")


@pytest.fixture(scope="module")
def golden(fixtures_dir):
    return dict(np.load(fixtures_dir / "dptn_market_128x64.npz"))


@pytest.fixture(scope="module")
def generator(fixtures_dir):
    return import_generator(load_torch_state_dict(fixtures_dir / "dptn_market_128x64_G.pth"))[0]


def _max_error(actual, expected):
    return float(np.max(np.abs(np.asarray(actual) - expected)))


def test_generator_outputs_match_official(generator, golden):
    outputs = generator({k: golden[k] for k in INPUT_NAMES})
    assert _max_error(outputs["generated_target"], golden["out_target"]) < TOLERANCE
    assert _max_error(outputs["reconstructed_source"], golden["out_source"]) < TOLERANCE


def test_intermediate_features_match_official(generator, golden):
    parts = generator_parts(generator)
    x_s, p_s, p_t = (golden[k] for k in INPUT_NAMES)
    f_ss = parts["shared_encoder"](np.concatenate([x_s, p_s, p_s], -1))
    f_st = parts["shared_encoder"](np.concatenate([x_s, p_s, p_t], -1))
    f_s = parts["source_encoder"](x_s)
    f_ptm = parts["pose_transformer"](f_ss, f_st, f_s)
    assert _max_error(f_ss, golden["feat_source_to_source"]) < TOLERANCE
    assert _max_error(f_st, golden["feat_source_to_target"]) < TOLERANCE
    assert _max_error(f_s, golden["feat_source"]) < TOLERANCE
    assert _max_error(f_ptm, golden["feat_ptm"]) < TOLERANCE


def test_discriminator_matches_official(fixtures_dir, golden):
    discriminator, config = import_discriminator(
        load_torch_state_dict(fixtures_dir / "dptn_market_128x64_D.pth")
    )
    assert config.dis_layers == 3
    assert _max_error(discriminator(golden["source_image"]), golden["disc_out"]) < TOLERANCE


def test_converter_cli_writes_loadable_models(fixtures_dir, golden, tmp_path):
    """The issue's acceptance command, then a fresh process that only imports dptn_tf."""
    out = tmp_path / "converted"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "convert_torch_checkpoint.py"),
            str(fixtures_dir / "dptn_market_128x64_G.pth"),
            "--discriminator",
            str(fixtures_dir / "dptn_market_128x64_D.pth"),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "discriminator.keras",
        "generator.keras",
        "preset",
    ]
    check = f"""
import numpy as np, keras, dptn_tf.layers
golden = np.load({str(fixtures_dir / "dptn_market_128x64.npz")!r})
g = keras.saving.load_model({str(out / "generator.keras")!r})
d = keras.saving.load_model({str(out / "discriminator.keras")!r})
print(float(np.abs(g({{k: golden[k] for k in {INPUT_NAMES!r}}}) - golden['out_target']).max()))
print(float(np.abs(d(golden['source_image']) - golden['disc_out']).max()))
"""
    result = subprocess.run(
        [sys.executable, "-c", check], check=True, capture_output=True, text=True
    )
    generator_error, discriminator_error = map(float, result.stdout.split())
    assert generator_error < TOLERANCE
    assert discriminator_error < TOLERANCE


def test_inference_generator_returns_only_the_target(generator, golden):
    model = inference_generator(generator)
    output = model({k: golden[k] for k in INPUT_NAMES})
    assert _max_error(output, golden["out_target"]) < TOLERANCE
    assert len(model.outputs) == 1
