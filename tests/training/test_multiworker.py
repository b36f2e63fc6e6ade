"""`train.py` on two replicas (the CPU split into two logical devices) and on two worker processes
(`TF_CONFIG` on loopback), against one device on the same global batches.

The test split (1 pair) is smaller than one global batch (4) and than one validation run (2
batches): the second replica or worker gets nothing but the weightless copies that fill up a
batch. Every process has a hard
timeout and is killed when its test ends.
"""

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.data.synthetic import make_synthetic_dataset
from dptn_tf.training import build_dptn, make_optimizers
from dptn_tf.training.backups import Backup
from dptn_tf.training.distribute import loopback_cluster
from helpers.train_cli import REPO, backed_up_iterations, command, run, summaries
from helpers.training import random_batch, tiny_config

STEPS_PER_EPOCH, EPOCHS = 1, 3
# The runs are compared weight by weight: float32 (the quickstart's config trains in bfloat16),
# and DeepFashion's t_s_ratio 0.5, whose weights scale partial sums exactly. With the
# quickstart's 0.8 one device and two workers round the weighted sums differently, and the
# elements whose gradient is only rounding noise (biases an instance norm subtracts again) take
# Adam steps of either sign: 4e-4 apart after 3 steps at lr 2e-4, measured.
SETTINGS = [
    "loss.t_s_ratio=0.5",
    "train.mixed_precision=false",
    "data.seed=0",
    "data.deterministic=true",
    f"train.steps_per_epoch={STEPS_PER_EPOCH}",
    "train.validation_steps=2",
    f"train.keep_backups={EPOCHS}",
    "train.sample_pairs=1",
]
TOLERANCE = 1e-5
TIMEOUT = 600  # seconds, for any one process


@pytest.fixture(scope="module")
def small_test_split(tmp_path_factory) -> Path:
    """36 training pairs (9 global batches of 4) and one test pair."""
    return make_synthetic_dataset(
        tmp_path_factory.mktemp("small_test_split") / "root",
        image_size=(64, 32),
        num_train_identities=3,
        num_test_identities=1,
        poses_per_identity=4,
        test_pairs_per_identity=1,
        seed=1,
    )


def train_command(root: Path, run_dir: Path) -> list:
    """test_train_cli's tiny run, 3 epochs of one step, in a fixed data order."""
    return command(root, run_dir) + [arg for item in SETTINGS for arg in ("--set", item)]


def weights(model) -> dict:
    """The networks' variables by network and position."""
    return {
        f"{network.name}/{i}/{v.path}": v.numpy()
        for network in (model.generator, model.discriminator)
        for i, v in enumerate(network.weights)
    }


def trained_weights(run_dir: Path, epoch: int) -> dict:
    """The weights in `<run_dir>/backup/backup-<epoch>`."""
    model = build_dptn(tiny_config())
    model.compile(*make_optimizers(tiny_config().train, STEPS_PER_EPOCH))
    backup = Backup(run_dir / "backup", model, STEPS_PER_EPOCH)
    backup.checkpoint.restore(str(run_dir / "backup" / f"backup-{epoch}")).assert_consumed()
    return weights(model)


@pytest.fixture(scope="module")
def outputs_ignore() -> set:
    """The generator variables no output depends on: biases an instance norm subtracts again,
    key biases a softmax ignores, scales a later norm divides out. Their gradient is rounding
    noise, which Adam turns into steps of up to the learning rate, so they differ between any
    two runs that round differently."""
    keras.utils.set_random_seed(0)
    generator = build_dptn(tiny_config()).generator
    batch = random_batch(batch_size=2, size=(64, 32))
    with tf.GradientTape() as tape:
        outputs = generator(
            {k: batch[k] for k in ("source_image", "source_pose", "target_pose")}, training=True
        )
        total = sum(tf.reduce_sum(o * tf.random.normal(o.shape)) for o in outputs.values())
    largest = [
        float(tf.reduce_max(tf.abs(g))) for g in tape.gradient(total, generator.trainable_variables)
    ]
    position = {id(v): i for i, v in enumerate(generator.weights)}
    return {
        f"{generator.name}/{position[id(v)]}/{v.path}"
        for v, g in zip(generator.trainable_variables, largest, strict=True)
        if g < 1e-4 * max(largest)
    }


def assert_same_weights(run_dir: Path, reference_dir: Path, ignore: set, epoch: int):
    ours, reference = trained_weights(run_dir, epoch), trained_weights(reference_dir, epoch)
    keras.utils.set_random_seed(0)  # train.seed: the weights both runs started from
    initial = weights(build_dptn(tiny_config()))
    assert 0 < len(ignore) < len(reference) // 4
    compared = [name for name in reference if name not in ignore]
    # Training moved the weights far more than the tolerance: other batches would show.
    assert max(np.max(np.abs(reference[n] - initial[n])) for n in compared) > 10 * TOLERANCE
    differences = {name: float(np.max(np.abs(ours[name] - reference[name]))) for name in compared}
    worst = max(differences, key=differences.get)
    assert differences[worst] < TOLERANCE, (worst, differences[worst])


def losses_by_step(run_dir: Path) -> dict:
    return {
        tag: [float(value) for _, value in values]
        for tag, values in summaries(run_dir).items()
        if tag.startswith(("Loss/", "Validation/"))
    }


@pytest.fixture(scope="module")
def one_device(small_test_split, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("one_device") / "run"
    run(train_command(small_test_split, run_dir))
    return run_dir


# --- two replicas in one process --------------------------------------------------------------


@pytest.mark.slow
def test_two_replicas_train_as_one_device(small_test_split, one_device, outputs_ignore, tmp_path):
    run_dir = tmp_path / "run"
    args = train_command(small_test_split, run_dir) + ["--strategy", "mirrored"]
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env={**os.environ, "DPTN_CPU_DEVICES": "2"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Training on MirroredStrategy, 2 replicas" in result.stdout
    assert "Precision: float32 (train.mixed_precision: false)" in result.stdout
    # The same global batches: after the first step the weights agree to float32 rounding.
    assert_same_weights(run_dir, one_device, outputs_ignore, epoch=1)
    # Later the rounding of the split batches grows (Adam normalises every gradient, however
    # small), so the rest of the run is compared through its losses and validation figures.
    ours, reference = losses_by_step(run_dir), losses_by_step(one_device)
    assert ours.keys() == reference.keys()
    for tag, values in reference.items():
        assert len(values) == STEPS_PER_EPOCH * EPOCHS, tag
        np.testing.assert_allclose(ours[tag], values, rtol=1e-4, atol=1e-4, err_msg=tag)
    figures = json.loads((run_dir / "validation.json").read_text())
    expected = json.loads((one_device / "validation.json").read_text())
    assert figures["step"] == expected["step"] == STEPS_PER_EPOCH * EPOCHS
    assert figures["test_pairs"] == 1
    for name, value in expected["generated"].items():
        assert figures["generated"][name] == pytest.approx(value, rel=1e-4, abs=1e-4), name


# --- two worker processes --------------------------------------------------------------------


@contextlib.contextmanager
def cluster(commands: list, folder: Path, attempt: str):
    """One `train.py` per command as the workers of one cluster on loopback; each gets its own
    `TMPDIR` and log file. Killed when the block ends."""
    processes = []
    try:
        tf_configs = loopback_cluster(len(commands))
        for index, (args, tf_config) in enumerate(zip(commands, tf_configs, strict=True)):
            temporary = folder / f"{attempt}-tmp-{index}"
            temporary.mkdir()
            env = {**os.environ, "TF_CONFIG": tf_config, "TMPDIR": str(temporary)}
            log = (folder / f"{attempt}-{index}.log").open("w")
            processes.append(
                subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
            log.close()
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def interrupted_cluster(small_test_split, tmp_path_factory) -> dict:
    """Two workers, each given its own run directory; worker 1 is killed once the chief has
    written its first backup, then both are started again with the same commands."""
    folder = tmp_path_factory.mktemp("cluster")
    run_dirs = [folder / "chief-run", folder / "worker-run"]
    commands = [
        train_command(small_test_split, run_dir) + ["--strategy", "multiworker"]
        for run_dir in run_dirs
    ]
    with cluster(commands, folder, "first") as (chief, worker):
        wait_for(
            lambda: (run_dirs[0] / "backup" / "checkpoint").exists() or chief.poll() is not None,
            TIMEOUT,
            "first backup",
        )
        assert chief.poll() is None, (folder / "first-0.log").read_text()[-3000:]
        worker.send_signal(signal.SIGKILL)
        # The chief notices the lost worker (TensorFlow's heartbeats) and stops by itself.
        chief.wait(timeout=180)
    first = [chief.returncode, worker.returncode]
    with cluster(commands, folder, "second") as processes:
        for process in processes:
            process.wait(timeout=TIMEOUT)
    logs = [(folder / f"second-{i}.log").read_text() for i in range(2)]
    return {
        "run_dirs": run_dirs,
        "folder": folder,
        "first": first,
        "logs": logs,
        "second": [process.returncode for process in processes],
    }


@pytest.mark.slow
def test_two_workers_train_as_one_device(interrupted_cluster, one_device, outputs_ignore):
    assert interrupted_cluster["second"] == [0, 0], interrupted_cluster["logs"][0][-3000:]
    assert (
        "MultiWorkerMirroredStrategy, 2 replicas; this is worker 0, the chief"
        in interrupted_cluster["logs"][0]
    )
    assert "this is worker 1, not the chief" in interrupted_cluster["logs"][1]
    # Through the kill and the restart: the resumed run goes on with the batches it would have
    # seen, from exactly the state of its last backup.
    assert_same_weights(
        interrupted_cluster["run_dirs"][0], one_device, outputs_ignore, epoch=EPOCHS
    )


@pytest.mark.slow
def test_only_the_chief_writes(interrupted_cluster):
    chief_dir, worker_dir = interrupted_cluster["run_dirs"]
    written = sorted(str(p.relative_to(chief_dir)) for p in chief_dir.rglob("*") if p.is_file())
    logs = [name for name in written if name.startswith("logs/")]
    assert len(logs) == 4  # train and validation event files per start of the chief, none from
    # the worker
    assert [name for name in written if not name.startswith("logs/")] == [
        "backup/backup-1.data-00000-of-00001",
        "backup/backup-1.index",
        "backup/backup-2.data-00000-of-00001",
        "backup/backup-2.index",
        "backup/backup-3.data-00000-of-00001",
        "backup/backup-3.index",
        "backup/checkpoint",
        "config.yaml",
        "generator.keras",
        "preset/config.json",
        "preset/discriminator.weights.h5",
        "preset/metadata.json",
        "preset/model.weights.h5",
        "samples/step-0000002.png",
        "samples/step-0000003.png",
        "validation.json",
    ]
    assert not worker_dir.exists()
    # The worker's share of each save went to its own temporary folder and was deleted.
    temporary = interrupted_cluster["folder"] / "second-tmp-1"
    assert [p.name for p in temporary.iterdir() if p.name.startswith("dptn-backup")] == []


@pytest.mark.slow
def test_a_killed_worker_rejoins_from_the_last_backup(interrupted_cluster, one_device):
    chief_returncode, worker_returncode = interrupted_cluster["first"]
    assert worker_returncode == -signal.SIGKILL
    assert chief_returncode not in (0, -signal.SIGKILL)  # it failed by itself
    chief_dir = interrupted_cluster["run_dirs"][0]
    assert (
        f"Resuming from {chief_dir / 'backup' / 'backup-1'} (epoch 1, step 1)"
        in interrupted_cluster["logs"][0]
    )
    steps = STEPS_PER_EPOCH * EPOCHS
    assert (
        backed_up_iterations(chief_dir)
        == backed_up_iterations(one_device)
        == {"generator_optimizer": steps, "discriminator_optimizer": steps}
    )
    assert json.loads((chief_dir / "validation.json").read_text())["step"] == steps
