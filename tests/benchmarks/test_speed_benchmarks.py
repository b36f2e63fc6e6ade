"""The speed benchmarks, run through their command lines on tiny sizes (nothing is timed here):
each prints its rows with the share of the GEMM peak of the precision computed in."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = ["model.ngf=8", "model.img_f=32", "model.num_blocks=1", "model.num_cabs=1"]


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _share(line: str) -> float:
    """The last percentage of a table row."""
    return float(re.findall(r"(\d+)%", line)[-1])


@pytest.mark.slow
def test_inference_rates_bfloat16_against_the_bfloat16_peak():
    output = _run(
        "inference.py", "--sizes", "32x16", "--batches", "2", "--repeats", "1",
        "--threads", "1", "--precision", "mixed",
    )  # fmt: skip
    assert "policy mixed_bfloat16, frozen_forward" in output
    assert re.search(r"bfloat16 GEMM peak \(best of \d+ samples between the runs\): \d+", output)
    (row,) = [line for line in output.splitlines() if line.split()[:2] == ["32x16", "2"]]
    assert 0 < _share(row) < 200


@pytest.mark.slow
def test_training_step_rates_float32_against_the_float32_peak():
    sets = [arg for item in TINY for arg in ("--set", item)]
    output = _run(
        "train_step.py", "--sizes", "32x16", "--batches", "1", "--steps", "1",
        "--threads", "1", "--no-vgg", *sets,
    )  # fmt: skip
    assert "policy float32" in output and "float32 GEMM peak" in output
    (row,) = [line for line in output.splitlines() if line.split()[:2] == ["32x16", "1"]]
    assert 0 < _share(row) < 200


@pytest.mark.slow
def test_op_profile_splits_products_from_the_rest():
    output = _run("op_profile.py", "inference", "--size", "32x16", "--steps", "1", "--threads", "1")
    match = re.search(r"op time [\d.]+ s, of which matrix products (\d+)%", output)
    assert match and 0 < int(match.group(1)) <= 100
    kinds = [line.split()[0] for line in output.splitlines()[3:] if line.strip()]
    assert any("Conv2D" in kind for kind in kinds)
    assert any("FusedBatchNorm" in kind for kind in kinds)  # the instance norms


@pytest.mark.slow
def test_evaluation_gives_the_fid_features_share_of_the_peak():
    output = _run(
        "evaluation.py", "--pairs", "2", "--fid-images", "3", "--test-pairs", "10",
        "--real-images", "20", "--threads", "1",
    )  # fmt: skip
    rows = [line for line in output.splitlines() if line.startswith("FID features")]
    assert len(rows) == 2 and all(0 < _share(row) < 200 for row in rows)
    assert re.search(r"InceptionV3: \d+\.\d+ GFLOP per 299x299 image", output)
