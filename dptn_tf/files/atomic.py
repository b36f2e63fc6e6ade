"""Write files and directories so that readers only ever see complete ones, on any file system
TensorFlow has: local paths, and URLs such as `gs://bucket/run` (`tf.io.gfile`)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import tensorflow as tf


def is_url(path: str | Path) -> bool:
    """Whether `path` names another file system than the local one (`gs://`, `ram://`, ...)."""
    return "://" in str(path)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary sibling of `path`; on success rename it to `path`, else delete it.

    The temporary name keeps `path`'s suffix (Keras insists on `.keras`) and lives in the same
    directory, so the final rename is atomic on POSIX file systems. Works for a file or a
    directory written at the yielded path; an existing file at `path` is replaced. The yielded
    path is a `Path` if `path` is one, else a string: write a URL through `tf.io.gfile` (or
    `write_atomically`). Object stores have no atomic rename: there a file still appears whole,
    but a directory appears file by file.
    """
    parent, name = os.path.split(str(path))
    stem, suffix = os.path.splitext(name)
    temporary = tf.io.gfile.join(parent, f".{stem}.tmp-{uuid.uuid4().hex[:8]}{suffix}")
    tf.io.gfile.makedirs(parent or ".")
    try:
        yield Path(temporary) if isinstance(path, Path) else temporary
        _rename(temporary, str(path))
    finally:
        if tf.io.gfile.isdir(temporary):
            tf.io.gfile.rmtree(temporary)
        elif tf.io.gfile.exists(temporary):
            tf.io.gfile.remove(temporary)


def write_atomically(path: str | Path, contents: str | bytes) -> None:
    """Write `contents` to `path` through a temporary file (`atomic_path`)."""
    mode = "w" if isinstance(contents, str) else "wb"
    with atomic_path(str(path)) as temporary, tf.io.gfile.GFile(temporary, mode) as file:
        file.write(contents)


def _rename(source: str, target: str) -> None:
    if not is_url(target) or not tf.io.gfile.isdir(source):
        tf.io.gfile.rename(source, target, overwrite=True)
        return
    # Object stores rename a directory object by object, if at all (ram:// drops its contents).
    for directory, _, files in tf.io.gfile.walk(source):
        destination = target + directory[len(source):]
        tf.io.gfile.makedirs(destination)
        for name in files:
            tf.io.gfile.copy(tf.io.gfile.join(directory, name),
                             tf.io.gfile.join(destination, name), overwrite=True)
