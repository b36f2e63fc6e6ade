"""The training benchmarks, run through their command lines on tiny settings, so that they keep
working: `benchmarks/ablation.py` (dptn-tf alone, through `train.py`), `benchmarks/sharpness.py`
(on the runs it leaves) and `benchmarks/long_run_parity.py` (beside the official code, which CI
may not have)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dptn_tf.data.synthetic import make_synthetic_dataset
from helpers.training import TINY_MODEL

REPO = Path(__file__).resolve().parents[2]
# benchmarks/official.py's default (the benchmarks are scripts, not importable here).
OFFICIAL_MIRROR = "/work/.mirror/PangzeCheung+Dual-task-Pose-Transformer-Network/repo"


def _run(script: str, *args: str, timeout: int = 600) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _loss_tags(run_dir: Path) -> set:
    """The scalar tags of a run's TensorBoard training logs."""
    import tensorflow as tf

    return {
        value.tag
        for path in (run_dir / "logs" / "train").glob("events.out.tfevents.*")
        for event in tf.compat.v1.train.summary_iterator(str(path))
        for value in event.summary.value
    }


@pytest.mark.slow
def test_the_ablation_reports_every_variant_against_the_full_model(tmp_path):
    pytest.importorskip("matplotlib")
    data = make_synthetic_dataset(
        tmp_path / "data",
        image_size=(64, 32),
        num_train_identities=3,
        num_test_identities=2,
        poses_per_identity=3,
        test_pairs_per_identity=2,
    )
    overrides = [
        *TINY_MODEL,
        "train.steps_per_epoch=2",
        "train.niter=1",
        "train.niter_decay=1",
        "train.log_every=1",
    ]
    args = [
        "--out",
        str(tmp_path / "out"),
        "--data",
        str(data),
        "--seeds",
        "0",
        "1",
        "--variants",
        "full",
        "no-source-task",
        "--plots",
        str(tmp_path / "plots"),
        "--set",
        *overrides,
    ]
    output = _run("ablation.py", *args)
    assert "2 seeds per variant, step 4, 4 test pairs" in output
    rows = {
        line.split()[0]: line.split()[1:]
        for line in output.splitlines()
        if line.split() and line.split()[0] in ("full", "no-source-task")
    }
    assert len(rows["full"]) == 9 and len(rows["no-source-task"]) == 12  # 3 x (mean +/- sd, vs)
    assert (tmp_path / "plots" / "ablation_curves.png").stat().st_size > 0
    # The run without the source-to-source task logs none of its terms; the full run does.
    full, no_source = (
        _loss_tags(tmp_path / "out" / variant / "seed0") for variant in ("full", "no-source-task")
    )
    source_terms = {"Loss/app_gen_s", "Loss/content_gen_s", "Loss/style_gen_s"}
    assert source_terms <= full and not source_terms & no_source
    assert "Loss/app_gen_t" in no_source
    # The quickstart study's sharpness table reads finished runs as train.py leaves them.
    runs = [str(tmp_path / "out" / variant / "seed0") for variant in ("full", "no-source-task")]
    table = _run("sharpness.py", *runs, "--grid", str(tmp_path / "grid.png"))
    rows = [line.split() for line in table.splitlines() if line.startswith(tuple(runs))]
    assert [row[0] for row in rows] == runs
    assert all(row[1] == "4" and float(row[6]) > 0 for row in rows)  # step, HF energy ratio
    assert (tmp_path / "grid.png").stat().st_size > 0
    # A second call trains nothing: every run directory holds a finished run.
    again = _run("ablation.py", *args)
    assert again.splitlines()[-4:-1] == output.splitlines()[-4:-1]
    log = (tmp_path / "out" / "full" / "seed0.log").read_text()
    assert log.count("holds a finished run") == 1


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.isdir(OFFICIAL_MIRROR),
    reason=f"the official code's git mirror {OFFICIAL_MIRROR} is absent (fetch "
    "github:PangzeCheung/Dual-task-Pose-Transformer-Network)",
)
def test_the_long_run_harness_trains_every_side_from_the_same_point(tmp_path):
    """The official code, dptn-tf in float32 and dptn-tf in bfloat16, from one seed's weights."""
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    args = [
        "--out",
        str(tmp_path / "out"),
        "--plots",
        str(tmp_path / "plots"),
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--seeds",
        "0",
        "1",
        "--size",
        "32",
        "16",
        "--ngf",
        "8",
        "--img-f",
        "32",
        "--blocks",
        "1",
        "--data-set",
        "small",
        "--jobs",
        "2",
    ]
    output = _run("long_run_parity.py", *args, timeout=1800)
    assert "2 seeds per side (0, 1)" in output
    for side in ("dptn-tf", "dptn-tf bfloat16"):
        assert f"paired difference at the end ({side} - official" in output
        assert f"\n{side}: L1 at the end" in output  # whether it learned, against the copy
    assert "training seconds per step" in output
    sides = ("official", "dptn-tf", "dptn-tf bfloat16")
    for seed in (0, 1):
        record = json.loads((tmp_path / "out" / f"seed{seed}.json").read_text())
        assert record["policies"] == {"dptn-tf": "float32", "dptn-tf bfloat16": "mixed_bfloat16"}
        assert 0 < record["copy_source"]["l1"] < 1
        official, ours = record["validation"]["official"], record["validation"]["dptn-tf"]
        # The same weights: the same pictures before training (DESIGN's output tolerance) ...
        np.testing.assert_allclose(ours["l1"][0], official["l1"][0], rtol=1e-4)
        # ... and the same batch, losses and total at the first step.
        first = {side: {n: v[0] for n, v in record["losses"][side].items()} for side in sides}
        assert set(first["dptn-tf"]) == set(first["official"]) == set(first["dptn-tf bfloat16"])
        for name, value in first["official"].items():
            np.testing.assert_allclose(first["dptn-tf"][name], value, rtol=1e-4, atol=1e-7)
            # bfloat16 keeps 8 bits of mantissa: the same step, to bfloat16's accuracy
            np.testing.assert_allclose(first["dptn-tf bfloat16"][name], value, rtol=0.05, atol=1e-3)
        bf16 = record["validation"]["dptn-tf bfloat16"]
        np.testing.assert_allclose(bf16["l1"][0], official["l1"][0], rtol=0.02)
    for name in ("long_run_parity_curves.png", "long_run_parity_samples.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "out").glob("seed*.json")) == [
        "seed0.json",
        "seed1.json",
    ]


# Run with benchmarks/ on the path: dptn-tf's `model.init` draws against the official model's own
# (under `init_weights`) and against `redraw_as_keras`, tensor by tensor.
INIT_CHECK = """
import argparse, contextlib, dataclasses, io, sys
import keras, numpy as np, torch
from official import (add_official_arguments, import_official, official_options, official_root,
                      redraw_as_keras, resize_generator, same_networks)
from dptn_tf.convert import infer_generator_config
from dptn_tf.models import build_discriminator, build_generator

def spreads(networks):
    return [(w.path, float(np.std(w.numpy()))) for n in networks for w in n.trainable_weights]

parser = argparse.ArgumentParser(); add_official_arguments(parser)
with official_root(parser.parse_args([])) as root:
    module = import_official(root, torch)
    resize_generator(module, ngf=8, img_f=32, num_blocks=1)
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        official = module.DPTNModel(official_options(32, 16, 3, dict(
            lambda_rec=5.0, lambda_g=2.0, t_s_ratio=0.5)))
    for init in ("official", "keras"):
        if init == "keras":
            redraw_as_keras(official, torch)
        theirs = same_networks(official)
        config = dataclasses.replace(infer_generator_config(
            {k: v.numpy() for k, v in official.net_G.state_dict().items()}, 2),
            dis_layers=3, init=init)
        keras.utils.set_random_seed(0)
        ours = build_generator(config), build_discriminator(config)
        for (path, a), (_, b) in zip(spreads(theirs), spreads(ours), strict=True):
            attention_input = any(f"/{n}/kernel" in path for n in ("query", "key", "value"))
            if init == "keras" and attention_input:
                continue  # PyTorch's packed draw on their side, Keras' own on ours
            print(init, path, a, b)
"""


@pytest.mark.skipif(
    not os.path.isdir(OFFICIAL_MIRROR),
    reason=f"the official code's git mirror {OFFICIAL_MIRROR} is absent",
)
def test_model_init_draws_each_tensor_as_the_official_code_and_as_keras():
    """`model.init=official` against the official model's own start, `model.init=keras` against
    the harness's `--init keras` redraw: each trainable tensor's spread, tensor by tensor."""
    pytest.importorskip("torch")
    result = subprocess.run(
        [sys.executable, "-c", INIT_CHECK],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO / "benchmarks",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    rows = [line.split() for line in result.stdout.splitlines()]
    assert {init for init, *_ in rows} == {"official", "keras"}
    for init, path, theirs, ours in rows:
        theirs, ours = float(theirs), float(ours)
        attention_input = any(f"/{n}/kernel" in path for n in ("query", "key", "value"))
        if theirs == 0:  # biases, the normalizations' offsets
            assert ours == 0, (init, path)
        elif init == "official" and not attention_input:  # orthogonal: the spread is all but exact
            assert ours == pytest.approx(theirs, rel=0.02), (init, path)
        else:  # uniform draws, alike within the sampling of a few hundred values
            assert ours == pytest.approx(theirs, rel=0.2), (init, path)
