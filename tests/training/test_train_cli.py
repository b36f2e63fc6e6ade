"""`train.py` end to end on a tiny synthetic set: outputs, TensorBoard logs, its console output
in a file, kill and resume, a finished run started again."""

import json
import re
import signal
import subprocess
import time

import keras
import pytest
import tensorflow as tf

from dptn_tf.config import CONFIG_NAME, load_config
from dptn_tf.training import VALIDATION_NAMES
from helpers.train_cli import (
    REPO,
    REPORTED,
    STEPS,
    TENSORFLOW_LOG_LINE,
    backed_up_iterations,
    command,
    run,
    summaries,
)


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
    assert backed_up_iterations(run_dir) == {
        "generator_optimizer": STEPS,
        "discriminator_optimizer": STEPS,
    }
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [
        "step-0000002.png",
        "step-0000004.png",
        "step-0000006.png",
    ]
    generator = keras.saving.load_model(run_dir / "generator.keras")
    inputs = {
        "source_image": tf.zeros((1, 64, 32, 3)),
        "source_pose": tf.zeros((1, 64, 32, 18)),
        "target_pose": tf.zeros((1, 64, 32, 18)),
    }
    assert generator(inputs).shape == (1, 64, 32, 3)


@pytest.mark.slow
def test_console_output_reads_well_in_a_file(finished_run):
    run_dir, result = finished_run  # stdout and stderr were pipes, not a terminal
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert not TENSORFLOW_LOG_LINE.search(result.stderr), result.stderr[-2000:]
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith("step ")]
    assert [line.split()[1] for line in progress] == [f"{step}/{STEPS}" for step in range(1, 7)]
    for line in progress:  # the losses that are on, and only those
        assert sorted(re.findall(r"([a-z_]+) -?\d+\.\d{4}", line)) == sorted(REPORTED), line
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("val_ssim" in line for line in epochs)
    # the quickstart leaves the precision to the CPU; config.yaml records what the console says
    mixed = load_config(run_dir / CONFIG_NAME).train.mixed_precision
    policy = "mixed_bfloat16" if mixed else "float32"
    assert f"Precision: {policy} (the default on this CPU" in result.stdout


@pytest.mark.slow
def test_tensorboard_logs_every_scalar_and_the_image_grid(finished_run):
    run_dir, _ = finished_run
    # Two named TensorBoard runs (not "."): train and validation.
    assert sorted(path.name for path in (run_dir / "logs").iterdir()) == ["train", "validation"]
    found = summaries(run_dir)
    assert {tag[len("Loss/") :] for tag in found if tag.startswith("Loss/")} == set(REPORTED)
    for name in REPORTED:
        assert [step for step, _ in found[f"Loss/{name}"]] == list(range(1, STEPS + 1)), name
    # Epochs 1 and 2 at the initial rates, epoch 3 (niter + 1) at half of them; logged x1000.
    learning_rates = [float(value) for _, value in found["LR/G_x1000"]]
    assert learning_rates == pytest.approx([0.2] * 4 + [0.1] * 2)
    learning_rates = [float(value) for _, value in found["LR/D_x1000"]]
    assert learning_rates == pytest.approx([0.02] * 4 + [0.01] * 2)
    validation = summaries(run_dir, "validation")
    for name in VALIDATION_NAMES:
        assert [step for step, _ in validation[f"Validation/{name}"]] == [2, 4, 6], name
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
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    for tag in ("LR/G_x1000", "LR/D_x1000"):
        assert float(resumed[tag][-1][1]) == float(uninterrupted[tag][-1][1])
        assert resumed[tag][-1][0] == STEPS


@pytest.mark.slow
def test_a_finished_run_started_again_says_so_and_changes_nothing(synthetic_root, finished_run):
    run_dir, _ = finished_run
    before = {path: path.stat().st_mtime_ns for path in run_dir.rglob("*") if path.is_file()}
    result = run(command(synthetic_root, run_dir))
    assert f"{run_dir} holds a finished run (3 epochs, {STEPS} steps)" in result.stdout
    assert "train.niter_decay=" in result.stdout  # how to extend it
    assert f"--run-dir {run_dir}-2" in result.stdout  # how to start another
    assert "Resuming" not in result.stdout
    after = {path: path.stat().st_mtime_ns for path in run_dir.rglob("*") if path.is_file()}
    assert after == before  # no new samples, summaries, backups or exports


@pytest.mark.slow
def test_refuses_to_resume_with_another_model_or_data(synthetic_root, finished_run):
    run_dir, _ = finished_run
    args = command(synthetic_root, run_dir) + [
        "--set",
        "model.ngf=16",
        "--set",
        "data.batch_size=2",
        "--set",
        "train.lr=1e-3",
    ]
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=600, cwd=REPO, check=False
    )
    assert result.returncode == 2
    refused = result.stderr.split("cannot go on with this configuration:")[1]
    assert "model.ngf: 8 -> 16" in refused and "data.batch_size: 4 -> 2" in refused
    assert "train.lr" not in refused  # the learning rate may change
