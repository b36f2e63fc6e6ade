"""Faults injected into the export: SIGKILL while a version is written, a second export on the
same base, a generator holding NaN. No half-written version is ever visible to a server."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from test_savedmodel import TINY, _cli

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, Config
from dptn_tf.files.directory_lock import exclusive_directory
from dptn_tf.models import build_generator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A training run's generator.keras and config.yaml, as `export_savedmodel.py --run` reads."""
    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    build_generator(TINY).save(run / GENERATOR_NAME)
    config = Config(model=TINY)
    config.data.load_size = config.data.old_size = (32, 24)
    (run / CONFIG_NAME).write_text(config.to_yaml())
    return run


def export_command(run, base) -> list:
    return [
        sys.executable,
        str(REPO / "export_savedmodel.py"),
        "--run",
        str(run),
        "--out",
        str(base),
    ]


@pytest.mark.slow
def test_an_export_killed_while_writing_leaves_no_version_and_the_next_cleans_up(run_dir, tmp_path):
    base = tmp_path / "dptn"
    process = subprocess.Popen(
        export_command(run_dir, base), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not (base.is_dir() and any(n.startswith(".1.tmp-") for n in os.listdir(base))):
        assert process.poll() is None, "the export ended before writing its version"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = sorted(p.name for p in base.iterdir())
    assert "1" not in left and any(n.startswith(".1.tmp-") for n in left)  # nothing a server loads

    result = subprocess.run(
        export_command(run_dir, base), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in base.iterdir()) == ["1"]  # leftovers and lock gone
    assert (base / "1" / "saved_model.pb").is_file()
    assert (base / "1" / "variables" / "variables.index").is_file()


def test_a_second_export_on_the_same_base_is_refused_naming_the_first(run_dir, tmp_path, capsys):
    base = tmp_path / "dptn"
    with exclusive_directory(base, "export_savedmodel.py"):
        status = _cli().main(["--run", str(run_dir), "--out", str(base)])
    assert status == 1
    error = capsys.readouterr().err
    assert f"error: {base} is in use by export_savedmodel.py (PID {os.getpid()} on " in error
    assert list(base.iterdir()) == []


def test_a_generator_holding_nan_is_never_exported(run_dir, tmp_path, capsys):
    generator = keras.saving.load_model(run_dir / GENERATOR_NAME)
    kernel = generator.weights[0]
    kernel.assign(np.where(np.arange(kernel.shape[-1]) == 1, np.nan, kernel.numpy()))
    generator.save(tmp_path / "poisoned.keras")
    base = tmp_path / "dptn"
    status = _cli().main(
        [
            "--generator",
            str(tmp_path / "poisoned.keras"),
            "--set",
            "data.load_size=[32,24]",
            "--out",
            str(base),
        ]
    )
    assert status == 1
    error = capsys.readouterr().err.strip()
    assert error == (
        f"error: {base}: the generator: NaN or infinity in '{kernel.path}'; nothing was written"
    )
    assert not base.exists()
