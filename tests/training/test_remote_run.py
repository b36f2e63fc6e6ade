"""`train.py` and `export_savedmodel.py` with the data set, the run directory and the exports on
a file system that is not the local one: TensorFlow's in-memory `ram://`, which needs no network
(and so runs in this process), standing for `gs://` and the others `tf.io.gfile` knows."""

import json
import uuid

import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.cli import export as export_savedmodel
from dptn_tf.cli import train
from helpers.train_cli import command


def upload(local, url: str):
    for directory, _, names in tf.io.gfile.walk(str(local)):
        target = url + directory[len(str(local)) :]
        tf.io.gfile.makedirs(target)
        for name in names:
            tf.io.gfile.copy(f"{directory}/{name}", f"{target}/{name}")


def files_under(root: str) -> list:
    return sorted(
        f"{directory}/{name}"[len(root) + 1 :]
        for directory, _, names in tf.io.gfile.walk(root)
        for name in names
    )


@pytest.mark.slow
def test_train_and_export_on_a_url(synthetic_root, monkeypatch):
    monkeypatch.setenv("TF_CPU_ALLOCATOR_USE_BFC", "true")  # train.main sets it
    bucket = f"ram://bucket-{uuid.uuid4().hex}"
    upload(synthetic_root, f"{bucket}/data")
    run_dir = f"{bucket}/runs/tiny"
    args = command(f"{bucket}/data", run_dir)[2:]  # without `python train.py`
    try:
        assert train.main(args + ["--set", "train.niter=1", "--set", "train.niter_decay=0"]) == 0
        written = files_under(run_dir)
        assert [name for name in written if not name.startswith("logs/")] == [
            "backup/backup-1.data-00000-of-00001",
            "backup/backup-1.index",
            "backup/checkpoint",
            "config.yaml",
            "generator.keras",
            "preset/config.json",
            "preset/discriminator.weights.h5",
            "preset/metadata.json",
            "preset/model.weights.h5",
            "samples/step-0000002.png",
            "validation.json",
        ]
        assert len([name for name in written if name.startswith("logs/train/events")]) == 1
        assert len([name for name in written if name.startswith("logs/validation/events")]) == 1
        figures = json.loads(tf.io.gfile.GFile(f"{run_dir}/validation.json").read())
        assert figures["step"] == 2 and figures["test_pairs"] == 8

        assert export_savedmodel.main(["--run", run_dir, "--out", f"{bucket}/exports"]) == 0
        assert files_under(f"{bucket}/exports") == [
            "1/fingerprint.pb",
            "1/saved_model.pb",
            "1/variables/variables.data-00000-of-00001",
            "1/variables/variables.index",
        ]
        exported = tf.saved_model.load(f"{bucket}/exports/1")
        image = tf.zeros((1, 64, 32, 3))
        pose = tf.zeros((1, 64, 32, 18))
        generated = exported.signatures["generate"](
            source_image=image, source_pose=pose, target_pose=pose
        )["generated_target"]
        assert generated.shape == (1, 64, 32, 3) and np.all(np.isfinite(generated))
    finally:
        tf.io.gfile.rmtree(bucket)
