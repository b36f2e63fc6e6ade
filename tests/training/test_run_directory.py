"""Resuming compares the configuration by meaning: what may change is reported, what would
break the run is refused with both values, paths are compared as the folders they name."""

import os

import pytest
import yaml

from dptn_tf.config import load_config
from dptn_tf.training.run_directory import (
    MAY_CHANGE,
    hold_run_directory,
    resume_or_record,
)


def config_in(run_dir, *overrides):
    return load_config(None, [f"train.run_dir={run_dir}", "train.steps_per_epoch=12", *overrides])


def test_the_first_session_records_and_an_identical_one_changes_nothing(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert resume_or_record(config_in(run_dir)) == []
    assert load_config(run_dir / "config.yaml").train.steps_per_epoch == 12
    assert resume_or_record(config_in(run_dir)) == []
    assert "Changed" not in capsys.readouterr().out


def test_learning_rate_epochs_intervals_and_workers_may_change(tmp_path, capsys):
    run_dir = tmp_path / "run"
    resume_or_record(config_in(run_dir))
    changed = resume_or_record(
        config_in(
            run_dir,
            "train.lr=1e-4",
            "train.niter=150",
            "train.log_every=10",
            "data.num_parallel_calls=4",
        )
    )
    assert changed == [
        "data.num_parallel_calls: None -> 4",
        "train.lr: 0.0002 -> 0.0001",
        "train.niter: 100 -> 150",
        "train.log_every: 100 -> 10",
    ]
    assert "Changed since the last session: data.num_parallel_calls" in capsys.readouterr().out
    assert load_config(run_dir / "config.yaml").train.lr == 1e-4  # the next session's reference


def test_changes_that_would_break_the_run_are_refused_with_both_values(tmp_path):
    run_dir = tmp_path / "run"
    resume_or_record(config_in(run_dir))
    before = (run_dir / "config.yaml").read_text()
    with pytest.raises(ValueError) as refused:
        resume_or_record(
            config_in(
                run_dir,
                "model.ngf=32",
                "data.load_size=[256,176]",
                "data.prefix=market",
                "train.steps_per_epoch=13",
                "train.lr=1e-4",
            )
        )
    message = str(refused.value)
    listed = message.split("configuration:\n")[1].split("\nThese")[0].splitlines()
    assert [line.strip() for line in listed] == [
        "model.ngf: 64 -> 32",
        "data.prefix: 'synthetic' -> 'market'",
        "data.load_size: (128, 64) -> (256, 176)",
        "train.steps_per_epoch: 12 -> 13",
    ]
    assert message.startswith(f"{run_dir / 'config.yaml'}: ")
    assert (run_dir / "config.yaml").read_text() == before


def test_paths_are_compared_as_the_folders_they_name(tmp_path, monkeypatch):
    (tmp_path / "data" / "synthetic").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    resume_or_record(config_in(run_dir, f"data.root={tmp_path / 'data' / 'synthetic'}"))
    # The run directory spelled otherwise, or moved, and the data root spelled relatively.
    moved = tmp_path / "moved"
    os.rename(run_dir, moved)
    assert resume_or_record(config_in("moved/", "data.root=./data/synthetic/")) == []
    # A data set that moved is reported, not refused (prefix, sizes and steps say what it is).
    assert resume_or_record(config_in(moved, "data.root=elsewhere")) == [
        "data.root: './data/synthetic/' -> 'elsewhere'"
    ]


def test_a_run_recorded_before_steps_per_epoch_was_resolved_resumes(tmp_path):
    run_dir = tmp_path / "run"
    resume_or_record(config_in(run_dir))
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    saved["train"]["steps_per_epoch"] = None
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
    assert resume_or_record(config_in(run_dir)) == []


def test_a_damaged_saved_configuration_is_named(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("")
    with pytest.raises(ValueError, match=rf"^{run_dir / 'config.yaml'}: the file is empty"):
        resume_or_record(config_in(run_dir))


def test_every_setting_that_may_change_is_a_field():
    """A misspelt name in MAY_CHANGE would silently refuse the setting it meant."""
    names = {f"{s}.{k}" for s, values in load_config(None).to_dict().items() for k in values}
    assert MAY_CHANGE <= names, MAY_CHANGE - names


def test_holding_removes_what_killed_saves_left(tmp_path, capsys):
    run_dir = tmp_path / "run"
    for leftover in (
        "backup/backup-3_temp/part-00000-of-00001.index",
        "backup/checkpoint.tmp0123456789abcdef",
        "samples/.step-0000004.tmp-0a1b2c3d.png",
        ".generator.tmp-0a1b2c3d.keras",
    ):
        (run_dir / leftover).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / leftover).write_text("half")
    kept = ["backup/backup-2.index", "backup/checkpoint", "samples/step-0000002.png", "config.yaml"]
    for name in kept:
        (run_dir / name).write_text("whole")
    with hold_run_directory(run_dir):
        pass
    assert "Removed 4 temporary file(s) a killed run left" in capsys.readouterr().out
    found = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    assert found == sorted(kept)
