"""The run directory of a training run: one writer at a time, no leftovers, resumes by meaning.

`hold_run_directory` takes the directory for this process (a second `train.py` is told who holds
it; a killed holder never blocks) and deletes the temporaries killed runs left. `resume_or_record`
writes `config.yaml`, or compares it with the configuration of a resumed run field by field:
what fixes the run (the networks' shapes, the data, how an epoch is cut) must match; what steers
how it goes on (the fields marked `resumable` in `dptn_tf.config`) may change and is reported;
where the directory is does not matter. Only the chief of a multi-worker run calls them. The
names of what a run directory holds are constants of `dptn_tf.config` (`CONFIG_NAME`,
`GENERATOR_NAME`, ...), which every layer that reads a run may import.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import tensorflow as tf

from dptn_tf.config import BACKUP_DIR, CONFIG_NAME, SAMPLES_DIR, Config, load_config
from dptn_tf.files.atomic import is_url, remove_leftovers, write_atomically
from dptn_tf.files.directory_lock import exclusive_directory
from dptn_tf.files.text import read_utf8
from dptn_tf.training.backups import is_backup_leftover


def run_file(config: Config, name: str) -> str:
    """`name` in the run directory of `config` (a local path or a URL)."""
    return tf.io.gfile.join(config.train.run_dir, name)


# Settings a later session may change, marked `resumable` where they are defined.
MAY_CHANGE = Config.resumable_fields()
NOT_COMPARED = frozenset({"train.run_dir"})  # the run is wherever its directory is now
PATHS = frozenset({"data.root", "loss.vgg_path"})  # compared as the folders they name


@contextlib.contextmanager
def hold_run_directory(run_dir: str | Path):
    """Hold `run_dir` for this process until the block ends, first deleting the temporaries of
    killed runs (raises `DirectoryInUseError` naming the holder if another process has it)."""
    run_dir = str(run_dir)
    with exclusive_directory(run_dir, "train.py") as removed:
        if not is_url(run_dir):  # object stores have no lock: a live run's files look the same
            removed += [
                *remove_leftovers(tf.io.gfile.join(run_dir, SAMPLES_DIR)),
                *remove_leftovers(tf.io.gfile.join(run_dir, BACKUP_DIR), is_backup_leftover),
            ]
        if removed:
            print(
                f"Removed {len(removed)} temporary file(s) a killed run left in {run_dir}: "
                + ", ".join(os.path.relpath(str(path), run_dir) for path in removed)
            )
        yield


def resume_or_record(config: Config) -> list[str]:
    """Write `<run_dir>/config.yaml`, or check a resumed run's configuration against it and
    write the new one if its text differs; -> the changed settings, as `field: old -> new`
    lines (also printed).

    Raises ValueError listing every field that cannot change, with both values.
    """
    config_path = run_file(config, CONFIG_NAME)
    text = config.to_yaml()
    if tf.io.gfile.exists(config_path):
        if read_utf8(config_path) == text:
            return []  # the same command again (a finished run started again) writes nothing
        saved, current = _fields(load_config(config_path)), _fields(config)
        differing = [
            name
            for name in current
            if name not in NOT_COMPARED and not _same(name, saved[name], current[name])
        ]
        refused = [name for name in differing if name not in MAY_CHANGE]
        if refused:
            raise ValueError(
                f"{config_path}: this run directory holds a run that cannot go on with this "
                "configuration:\n  "
                + "\n  ".join(_change(n, saved, current) for n in refused)
                + "\nThese fix what the run is (the networks' shapes, the data, how an epoch is "
                "cut); learning rate, epochs, intervals, workers and logging may change. "
                "Use another train.run_dir (or --run-dir) for a new run."
            )
        changed = [_change(name, saved, current) for name in differing]
        if changed:
            print("Changed since the last session: " + "; ".join(changed))
    else:
        changed = []
    write_atomically(config_path, text)
    return changed


def _fields(config: Config) -> dict:
    return {
        f"{section}.{name}": value
        for section, values in config.to_dict().items()
        for name, value in values.items()
    }


def _same(name: str, saved, current) -> bool:
    if name == "train.steps_per_epoch" and saved is None:
        return True  # written before the resolved count was recorded: Backup.restore checks it
    if name in PATHS and saved is not None and current is not None:
        return _folder(saved) == _folder(current)
    return saved == current


def _folder(path: str) -> str:
    """The folder a path names, however it is spelled (a URL only loses a trailing slash)."""
    if is_url(path):
        return path.rstrip("/")
    return os.path.realpath(os.path.expanduser(path))


def _change(name: str, saved: dict, current: dict) -> str:
    return f"{name}: {saved[name]!r} -> {current[name]!r}"
