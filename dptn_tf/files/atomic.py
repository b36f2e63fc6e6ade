"""Write files and directories so that readers only ever see complete ones, on any file system
TensorFlow has: local paths, and URLs such as `gs://bucket/run` (`tf.io.gfile`). Local paths
need no TensorFlow (the LiteRT and ONNX path writes its results here too)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path

from dptn_tf.files import is_url

# `.<stem>.tmp-<8 hex digits><suffix>`: the names `atomic_path` writes under.
TEMPORARY_NAME = re.compile(r"\..*\.tmp-[0-9a-f]{8}(\.[^.]*)?")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary sibling of `path`; on success rename it to `path`, else delete it.

    The temporary name keeps `path`'s suffix (Keras insists on `.keras`) and lives in the same
    directory, so the final rename is atomic on POSIX file systems. Works for a file or a
    directory written at the yielded path; an existing file at `path` is replaced. The yielded
    path is a `Path` for a local path and a string for a URL: write a URL through `tf.io.gfile`
    (or `write_atomically`). Object stores have no atomic rename: there a file still appears whole,
    but a directory appears file by file. A process killed before the rename leaves the
    temporary behind: `remove_leftovers` deletes it.
    """
    parent, name = os.path.split(str(path))
    stem, suffix = os.path.splitext(name)
    temporary = os.path.join(parent, f".{stem}.tmp-{uuid.uuid4().hex[:8]}{suffix}")
    if is_url(path):
        _gfile().makedirs(parent)
    else:
        os.makedirs(parent or ".", exist_ok=True)
    try:
        yield temporary if is_url(path) else Path(temporary)
        _rename(temporary, str(path))
    finally:
        remove(temporary)


def is_temporary(name: str, path: str) -> bool:
    """Whether `name` is a temporary of `atomic_path`."""
    return TEMPORARY_NAME.fullmatch(name) is not None


def remove_leftovers(directory: str | Path, is_leftover=is_temporary) -> list[str | Path]:
    """Delete the entries of `directory` (not below it) that `is_leftover(name, path)` calls
    leftovers of a killed write, by default the temporaries of `atomic_path`; -> what went
    (`Path`s for a local directory, strings for a URL).

    Only call it while no other process may be writing `directory` (while holding it with
    `dptn_tf.files.directory_lock.exclusive_directory`): a live writer's temporary looks the same.
    """
    directory, gfile = str(directory), _gfile()
    if not gfile.isdir(directory):
        return []
    entries = [
        (name.rstrip("/"), gfile.join(directory, name.rstrip("/")))
        for name in gfile.listdir(directory)
    ]
    leftovers = sorted(path for name, path in entries if is_leftover(name, path))
    for path in leftovers:
        remove(path)
    return leftovers if is_url(directory) else [Path(path) for path in leftovers]


def remove(path: str | Path) -> None:
    """Delete a file or a directory tree, if it is there."""
    path = str(path)
    if not is_url(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        return
    gfile = _gfile()
    if gfile.isdir(path):
        gfile.rmtree(path)
    elif gfile.exists(path):
        gfile.remove(path)


def replace_directory(built: Path, target: Path) -> None:
    """Put the local directory `built` at `target`, replacing what is there: the old one is
    renamed aside first and deleted last, so that `target` is always one whole directory."""
    if not target.exists():
        built.rename(target)
        return
    old = target.with_name(f".{target.name}.old-{built.name}")
    target.rename(old)
    built.rename(target)
    shutil.rmtree(old)


def write_atomically(path: str | Path, contents: str | bytes) -> None:
    """Write `contents` to `path` through a temporary file (`atomic_path`)."""
    mode = "w" if isinstance(contents, str) else "wb"
    with atomic_path(str(path)) as temporary:
        opener = open if isinstance(temporary, Path) else _gfile().GFile
        with opener(temporary, mode) as file:
            file.write(contents)


def _gfile():
    """TensorFlow's file systems, loaded for URLs (and leftovers) only."""
    import tensorflow as tf

    return tf.io.gfile


def _rename(source: str, target: str) -> None:
    if not is_url(target):
        os.replace(source, target)
        return
    gfile = _gfile()
    if not gfile.isdir(source):
        gfile.rename(source, target, overwrite=True)
        return
    # Object stores rename a directory object by object, if at all (ram:// drops its contents).
    for directory, _, files in gfile.walk(source):
        destination = target + directory[len(source) :]
        gfile.makedirs(destination)
        for name in files:
            gfile.copy(gfile.join(directory, name), gfile.join(destination, name), overwrite=True)
