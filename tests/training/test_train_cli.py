"""`train.py` end to end on a tiny synthetic set: outputs, TensorBoard logs, kill and resume."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
import tensorflow as tf
from test_training import TINY_MODEL

from dptn_tf.training import LOSS_NAMES, TOTAL_NAME, VALIDATION_NAMES

REPO = Path(__file__).resolve().parents[2]
STEPS = 6  # 3 epochs of 2 steps


def command(root: Path, run_dir: Path) -> list:
    overrides = [*TINY_MODEL, f"data.root={root}", "data.load_size=[64,32]",
                 "data.old_size=[64,32]", "data.batch_size=4", "train.lr=2e-4", "train.steps_per_epoch=2",
                 "train.niter=2", "train.niter_decay=1", "train.log_every=1",
                 "train.image_every=2", "train.validation_steps=1", "train.sample_pairs=2"]
    return [sys.executable, str(REPO / "train.py"), "--config", str(REPO / "configs/synthetic.yaml"),
            "--run-dir", str(run_dir), *(arg for item in overrides for arg in ("--set", item))]


def run(args) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def backed_up_iterations(run_dir: Path) -> dict:
    reader = tf.train.load_checkpoint(str(run_dir / "backup"))
    return {name: int(reader.get_tensor(f"{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"))
            for name in ("generator_optimizer", "discriminator_optimizer")}


def summaries(run_dir: Path) -> dict:
    """tag -> [(step, value or image)] from the run's event files."""
    found = {}
    for path in sorted((run_dir / "logs").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                found.setdefault(value.tag, []).append((event.step, tensor))
    return found


@pytest.fixture(scope="module")
def finished_run(synthetic_root, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    result = run(command(synthetic_root, run_dir))
    return run_dir, result


@pytest.mark.slow
def test_run_directory(finished_run):
    run_dir, result = finished_run
    assert "copy the source (baseline)" in result.stdout
    figures = json.loads((run_dir / "validation.json").read_text())
    assert figures["step"] == STEPS
    assert set(figures["generated"]) == set(figures["copy_source"]) == set(VALIDATION_NAMES)
    assert "ngf: 8" in (run_dir / "config.yaml").read_text()
    assert backed_up_iterations(run_dir) == {"generator_optimizer": STEPS,
                                             "discriminator_optimizer": STEPS}
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [
        "step-0000002.png", "step-0000004.png", "step-0000006.png"]
    generator = keras.saving.load_model(run_dir / "generator.keras")
    inputs = {"source_image": tf.zeros((1, 64, 32, 3)), "source_pose": tf.zeros((1, 64, 32, 18)),
              "target_pose": tf.zeros((1, 64, 32, 18))}
    assert generator(inputs).shape == (1, 64, 32, 3)


@pytest.mark.slow
def test_tensorboard_logs_every_scalar_and_the_image_grid(finished_run):
    run_dir, _ = finished_run
    found = summaries(run_dir)
    for name in (*LOSS_NAMES, TOTAL_NAME):
        assert [step for step, _ in found[f"Loss/{name}"]] == list(range(1, STEPS + 1)), name
    # Epochs 1 and 2 at the initial rates, epoch 3 (niter + 1) at half of them.
    learning_rates = [float(value) for _, value in found["LR/G"]]
    assert learning_rates == pytest.approx([2e-4] * 4 + [1e-4] * 2)
    learning_rates = [float(value) for _, value in found["LR/D"]]
    assert learning_rates == pytest.approx([2e-5] * 4 + [1e-5] * 2)
    for name in VALIDATION_NAMES:
        assert [step for step, _ in found[f"Validation/{name}"]] == [2, 4, 6], name
    assert b"ngf: 8" in found["config"][0][1].item()
    steps = [step for step, _ in found["samples"]]
    assert steps == [2, 4, 6]
    # An image summary holds width, height and the PNG: 2 pairs x 6 columns of 64x32 tiles.
    width, height, png = found["samples"][-1][1]
    assert (int(height), int(width)) == (2 * 66 + 2, 6 * 34 + 2)
    assert tf.io.decode_png(png).shape == (int(height), int(width), 3)


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_backup(synthetic_root, finished_run, tmp_path):
    run_dir = tmp_path / "run"
    args = command(synthetic_root, run_dir)
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "backup" / "checkpoint").exists():
            assert process.poll() is None, "the run ended before its first backup"
            assert time.monotonic() < deadline, "no backup within 5 minutes"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (run_dir / "generator.keras").exists()

    result = run(args)
    assert "Resuming from" in result.stdout
    expected = {"generator_optimizer": STEPS, "discriminator_optimizer": STEPS}
    assert backed_up_iterations(run_dir) == expected == backed_up_iterations(finished_run[0])
    assert json.loads((run_dir / "validation.json").read_text())["step"] == STEPS
    # The learning rates resumed where they were: the last logged ones match an uninterrupted run.
    resumed, uninterrupted = summaries(run_dir), summaries(finished_run[0])
    for tag in ("LR/G", "LR/D"):
        assert float(resumed[tag][-1][1]) == float(uninterrupted[tag][-1][1])
        assert resumed[tag][-1][0] == STEPS


@pytest.mark.slow
def test_refuses_to_resume_with_another_model_or_data(synthetic_root, finished_run):
    run_dir, _ = finished_run
    args = command(synthetic_root, run_dir) + ["--set", "model.ngf=16", "--set",
                                               "data.batch_size=2", "--set", "train.lr=1e-3"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO,
                            check=False)
    assert result.returncode == 2
    refused = result.stderr.split("cannot go on with this configuration:")[1]
    assert "model.ngf: 8 -> 16" in refused and "data.batch_size: 4 -> 2" in refused
    assert "train.lr" not in refused  # the learning rate may change
