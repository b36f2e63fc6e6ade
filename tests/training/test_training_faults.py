"""Faults injected into training: NaN through the data and the learning rate, SIGKILL at random
points and during a backup, a second trainer, damaged backups, the run directory spelled or
placed otherwise. The run is never lost and nothing half-written is ever visible."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.config import load_config
from dptn_tf.files.atomic import TEMPORARY_NAME
from dptn_tf.training.backups import Backup, NonFiniteTrainingError, StopOnNonFiniteLoss
from helpers.training import TINY_MODEL, compiled_model, random_batch, tiny_config

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 20  # of one step each: the first run must outlive the second trainer's start


def command(root, run_dir, *overrides) -> list:
    settings = [
        *TINY_MODEL,
        f"data.root={root}",
        "data.load_size=[64,32]",
        "data.old_size=[64,32]",
        "data.batch_size=4",
        "train.lr=2e-4",
        "train.steps_per_epoch=1",
        f"train.niter={EPOCHS}",
        "train.niter_decay=0",
        "train.log_every=1",
        "train.image_every=1",
        "train.validation_steps=1",
        "train.sample_pairs=1",
        *overrides,
    ]
    return [
        sys.executable,
        str(REPO / "train.py"),
        "--config",
        str(REPO / "configs/synthetic.yaml"),
        "--run-dir",
        str(run_dir),
        *(arg for item in settings for arg in ("--set", item)),
    ]


def start(args, cwd=REPO) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(condition, process, what: str, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.001)


def kill(process) -> None:
    assert process.poll() is None, "the run ended by itself before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.communicate()


def backup_staging(run_dir: Path) -> bool:
    """A backup is being written (TensorFlow's `_temp` folder or `checkpoint.tmp` file)."""
    names = os.listdir(run_dir / "backup") if (run_dir / "backup").is_dir() else []
    return any(n.endswith("_temp") or n.startswith("checkpoint.tmp") for n in names)


def temporaries(run_dir: Path) -> list[str]:
    return sorted(
        str(p.relative_to(run_dir))
        for p in run_dir.rglob("*")
        if TEMPORARY_NAME.fullmatch(p.name)
        or p.name.endswith("_temp")
        or p.name.startswith("checkpoint.tmp")
    )


def backed_up_steps(run_dir: Path) -> dict:
    """{backup path: generator step} of every backup the `checkpoint` file lists, each read
    whole and checked finite."""
    state = tf.train.get_checkpoint_state(str(run_dir / "backup"))
    steps = {}
    for path in state.all_model_checkpoint_paths if state else []:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            value = reader.get_tensor(name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.isfinite(value).all(), f"{path}: {name}"
        steps[Path(path).name] = int(
            reader.get_tensor("generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
        )
    return steps


def assert_nothing_visible_is_half_written(run_dir: Path) -> None:
    if (run_dir / "config.yaml").exists():
        load_config(run_dir / "config.yaml")
    backed_up_steps(run_dir)
    for png in (run_dir / "samples").glob("step-*.png"):
        tf.io.decode_png(png.read_bytes())
    assert not (run_dir / "generator.keras").exists()  # the run was killed before its end
    assert not (run_dir / "validation.json").exists()


@pytest.fixture(scope="module")
def survived_run(synthetic_root, tmp_path_factory):
    """One run through everything: a second trainer, a kill at a random point after the first
    backup, the folder moved, a kill during a backup, and the end under a third spelling."""
    rng = random.Random(11)
    base = tmp_path_factory.mktemp("faults")
    run_dir = base / "first" / "run"
    first = start(command(synthetic_root, run_dir))
    lock = run_dir / ".lock"
    wait_for(lambda: lock.exists() and f"PID {first.pid}" in lock.read_text(), first, "lock")
    second = subprocess.run(
        command(synthetic_root, "run/"),
        cwd=run_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    wait_for(lambda: (run_dir / "backup" / "checkpoint").exists(), first, "first backup")
    time.sleep(rng.uniform(0, 1))
    kill(first)
    after_first_kill = backed_up_steps(run_dir)
    assert_nothing_visible_is_half_written(run_dir)

    moved = base / "moved" / "run"
    moved.parent.mkdir()
    os.rename(run_dir, moved)
    resumed = start(command(synthetic_root, moved))
    wait_for(lambda: backup_staging(moved), resumed, "backup being written")
    kill(resumed)
    killed_during_a_save = temporaries(moved)
    assert_nothing_visible_is_half_written(moved)

    final = subprocess.run(
        command(synthetic_root, "run/"),
        cwd=moved.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert final.returncode == 0, final.stderr[-3000:]
    return {
        "run_dir": moved,
        "second": second,
        "first_pid": first.pid,
        "final": final,
        "after_first_kill": after_first_kill,
        "killed_during_a_save": killed_during_a_save,
    }


@pytest.mark.slow
def test_a_second_trainer_is_refused_naming_the_first(survived_run):
    second = survived_run["second"]
    assert second.returncode == 2
    error = second.stderr.strip().splitlines()[-1]
    assert error.startswith(
        f"error: run is in use by train.py (PID {survived_run['first_pid']} on "
    )
    assert ", started 20" in error


@pytest.mark.slow
def test_killed_twice_and_moved_the_run_ends_at_the_same_step(survived_run):
    run_dir, final = survived_run["run_dir"], survived_run["final"]
    assert survived_run["after_first_kill"], "the first kill came before any backup"
    assert "Resuming from run/backup/backup-" in final.stdout
    assert "Changed since the last session" not in final.stdout  # only the spelling changed
    steps = backed_up_steps(run_dir)
    assert steps[max(steps, key=lambda name: int(name.split("-")[1]))] == EPOCHS
    assert json.loads((run_dir / "validation.json").read_text())["step"] == EPOCHS


@pytest.mark.slow
def test_the_next_start_removes_what_a_killed_save_left(survived_run):
    run_dir, final = survived_run["run_dir"], survived_run["final"]
    left = survived_run["killed_during_a_save"]
    if left:  # the kill can land after the save's last rename
        assert f"Removed {len(left)} temporary file(s) a killed run left in run" in final.stdout
        assert all(name in final.stdout for name in left)
    assert temporaries(run_dir) == []
    assert not (run_dir / ".lock").exists()


@pytest.mark.slow
def test_non_finite_weights_after_an_update_are_never_backed_up(
    survived_run, tmp_path, synthetic_root
):
    """An infinite generator learning rate (the discriminator's stays finite, so the step's
    losses are too) turns the weights into NaN in the epoch's only update: the stop comes
    before the backup, names the last good one, and the run resumes with a lower rate."""
    run_dir = tmp_path / "run"
    os.rename(survived_run["run_dir"], run_dir)
    before = backed_up_steps(run_dir)
    more = f"train.niter={EPOCHS + 1}"
    poisoned = subprocess.run(
        command(synthetic_root, run_dir, more, "train.lr=1e39", "train.d_lr_ratio=1e-40"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert poisoned.returncode == 1, poisoned.stderr[-3000:]
    error = poisoned.stderr.strip().splitlines()[-1]
    assert error.startswith(
        f"error: NaN or infinity in the weights after step {EPOCHS + 1} ('generator:"
    )
    last = max(before, key=lambda name: int(name.split("-")[1]))
    assert (
        f"The last good backup is {run_dir / 'backup' / last} (step {EPOCHS}): running again "
        "resumes from it" in error
    )
    assert error.endswith("lower the learning rate (--set train.lr=...) or check the data.")
    assert backed_up_steps(run_dir) == before

    lowered = subprocess.run(
        command(synthetic_root, run_dir, more, "train.lr=1e-4"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert lowered.returncode == 0, lowered.stderr[-3000:]
    assert (
        "Changed since the last session: train.lr: 1e+39 -> 0.0001; train.d_lr_ratio: "
        "1e-40 -> 0.1" in lowered.stdout
    )
    assert f"Resuming from {run_dir / 'backup' / last} (epoch {EPOCHS}" in lowered.stdout
    assert json.loads((run_dir / "validation.json").read_text())["step"] == EPOCHS + 1


STEPS_PER_EPOCH = 2


@pytest.fixture
def model():
    return compiled_model(tiny_config("loss.lambda_content=0", "loss.lambda_style=0"))


def test_nan_through_the_data_mid_epoch_keeps_the_last_backup_good(model, tmp_path):
    """Epoch 1 is healthy; the second batch of epoch 2 holds a NaN pixel. The stop names
    backup-1, which holds finite weights and from which a fresh model goes on."""
    batches = [random_batch(seed=i) for i in range(4)]
    batches[3]["target_image"][0, 5, 5, 0] = np.nan
    data = tf.data.Dataset.from_tensor_slices(
        {k: np.stack([b[k] for b in batches]) for k in batches[0]}
    )
    backup = Backup(tmp_path, model, STEPS_PER_EPOCH)
    with pytest.raises(
        NonFiniteTrainingError,
        match=rf"non-finite loss \(.*\) at step 4; .* last good backup is "
        rf"{tmp_path / 'backup-1'} \(step 2\)",
    ):
        model.fit(
            data,
            epochs=2,
            steps_per_epoch=STEPS_PER_EPOCH,
            verbose=0,
            callbacks=[StopOnNonFiniteLoss(backup), backup],
        )
    assert [Path(p).name for p in backup.manager.checkpoints] == ["backup-1"]

    fresh = compiled_model(tiny_config("loss.lambda_content=0", "loss.lambda_style=0"))
    resumed = Backup(tmp_path, fresh, STEPS_PER_EPOCH)
    assert resumed.restore() == 1
    fresh.fit(
        data.take(2),
        epochs=2,
        initial_epoch=1,
        steps_per_epoch=STEPS_PER_EPOCH,
        verbose=0,
        callbacks=[StopOnNonFiniteLoss(resumed), resumed],
    )
    assert resumed.last_good == (str(tmp_path / "backup-2"), 4)


def test_a_damaged_newest_backup_gives_way_to_the_previous_one(model, tmp_path, capsys):
    data = tf.data.Dataset.from_tensors(random_batch()).repeat()
    backup = Backup(tmp_path, model, STEPS_PER_EPOCH)
    model.fit(data, epochs=2, steps_per_epoch=STEPS_PER_EPOCH, verbose=0, callbacks=[backup])
    newest = tmp_path / "backup-2.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated
    fresh = compiled_model(tiny_config("loss.lambda_content=0", "loss.lambda_style=0"))
    assert Backup(tmp_path, fresh, STEPS_PER_EPOCH).restore() == 1
    output = capsys.readouterr()
    assert f"warning: skipped the unreadable backup {tmp_path / 'backup-2'}: " in output.err
    assert f"Resuming from {tmp_path / 'backup-1'} (epoch 1, step 2)" in output.out

    (tmp_path / "backup-1.index").write_bytes(b"")
    with pytest.raises(
        ValueError,
        match=r"no backup reads back whole and finite:\n  .*backup-2"
        r": .*\n  .*backup-1: ",
    ):
        Backup(tmp_path, fresh, STEPS_PER_EPOCH).restore()
