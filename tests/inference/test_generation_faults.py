"""Faults injected into generation: SIGKILL at a random point of `tools/generate.py`, a second
generator on the same output folder. Every visible result is whole; the next run completes."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf

from dptn_tf.data import load_split
from dptn_tf.files.atomic import TEMPORARY_NAME
from dptn_tf.files.directory_lock import exclusive_directory
from dptn_tf.inference.generation import result_name

REPO = Path(__file__).resolve().parents[2]


def generate_args(root, generator, out) -> list:
    settings = [
        f"data.root={root}",
        "data.prefix=synthetic",
        "data.load_size=[64,32]",
        "data.old_size=[64,32]",
        "data.batch_size=1",
    ]
    return [
        "--generator",
        str(generator),
        "--out",
        str(out),
        *(arg for item in settings for arg in ("--set", item)),
    ]


@pytest.mark.slow
def test_generation_killed_at_a_random_point_leaves_only_whole_images(
    synthetic_root, generator_file, tmp_path
):
    out = tmp_path / "results"
    args = [
        sys.executable,
        str(REPO / "tools" / "generate.py"),
        *generate_args(synthetic_root, generator_file, out),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (out.is_dir() and any(n.endswith(".jpg") for n in os.listdir(out))):
        assert process.poll() is None, "generation ended before its first image"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(random.Random(5).uniform(0, 0.2))
    process.send_signal(signal.SIGKILL)
    process.wait()
    visible = [p for p in out.iterdir() if not p.name.startswith(".")]
    for path in visible:
        assert tf.io.decode_jpeg(path.read_bytes()).shape == (64, 32, 3), path

    index = load_split(synthetic_root, "test", "synthetic")
    expected = sorted(result_name(a, b) for a, b in index.pair_names())
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    done = len(visible)
    assert f"wrote {len(expected) - done} images" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == expected  # no temporary, no lock
    assert not any(TEMPORARY_NAME.fullmatch(name) for name in os.listdir(out))


def test_a_second_generator_on_the_same_folder_is_refused(
    synthetic_root, generator_file, tmp_path, capsys
):
    from dptn_tf.cli import generate as tool

    out = tmp_path / "results"
    with exclusive_directory(out, "generate.py"):
        assert tool.main(generate_args(synthetic_root, generator_file, out)) == 1
    error = capsys.readouterr().err
    assert f"error: {out} is in use by generate.py (PID {os.getpid()} on " in error
    assert list(out.iterdir()) == []
