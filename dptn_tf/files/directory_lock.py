"""One writer per directory: a lock that names its holder and dies with it.

Two trainers on one run directory (or two generators on one output folder) would interleave
their files and delete each other's temporaries. `exclusive_directory` takes an advisory
`flock` on `<directory>/.lock`: the kernel drops it when its holder exits, however it exits
(SIGKILL included), so a lock left by a killed process never blocks the next start. The file
holds the holder's description; a holder that ends normally deletes it. Holding the directory,
a tool may delete the temporaries a killed writer left there, and `exclusive_directory` does so
at once. Object stores (`gs://`, any URL) have no such lock: there the block runs unguarded and
nothing is deleted, since a live writer's temporaries would look like a dead one's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

import tensorflow as tf

from dptn_tf.files.atomic import is_url, remove_leftovers

LOCK_NAME = ".lock"


class DirectoryInUseError(RuntimeError):
    """Another live process holds the directory; the message says which."""


@contextlib.contextmanager
def exclusive_directory(directory: str | Path, tool: str):
    """Hold `directory` (made if missing) for this process until the block ends; -> the
    temporaries of `atomic_path` a killed writer had left in it, now deleted.

    Raises `DirectoryInUseError` at once, naming the holder's tool, PID, host and start time,
    when another process holds it. On a URL (an object store) it only makes the directory.
    """
    if is_url(directory):
        tf.io.gfile.makedirs(str(directory))
        yield []
        return
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    descriptor = _lock(path, directory)
    try:
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        holder = f"{tool} (PID {os.getpid()} on {socket.gethostname()}, started {started})\n"
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder.encode(), 0)
        yield remove_leftovers(directory)
    finally:
        path.unlink(missing_ok=True)  # still locked: who opened it finds it gone, starts over
        os.close(descriptor)  # releases the lock


def _lock(path: Path, directory: Path) -> int:
    """A descriptor of `path`, locked, and still the file at `path` (a holder that ends
    deletes it, so a lock taken on the deleted file would protect nothing)."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 4096, 0).decode(errors="replace").strip()
            os.close(descriptor)
            raise DirectoryInUseError(
                f"{directory} is in use by {holder or 'another process (starting up)'}; "
                "only one process may write it at a time: wait for that one to end, or "
                "choose another folder"
            ) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
                return descriptor
        os.close(descriptor)
