"""Write files and directories so that readers only ever see complete ones."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path

# `.<stem>.tmp-<8 hex digits><suffix>`: the names `atomic_path` writes under.
TEMPORARY_NAME = re.compile(r"\..*\.tmp-[0-9a-f]{8}(\.[^.]*)?")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary sibling of `path`; on success rename it to `path`, else delete it.

    The temporary name keeps `path`'s suffix (Keras insists on `.keras`) and lives in the same
    directory, so the final rename is atomic on POSIX file systems. Works for a file or a
    directory written at the yielded path; an existing file at `path` is replaced. A process
    killed before the rename leaves the temporary behind: `remove_leftovers` deletes it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        remove(temporary)


def remove_leftovers(directory: str | Path) -> list[Path]:
    """Delete the temporaries of `atomic_path` in `directory` (not below it); -> what went.

    Only call it while no other process may be writing `directory` (while holding it with
    `dptn_tf.files.directory_lock.exclusive_directory`): a live writer's temporary looks the same.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    leftovers = sorted(p for p in directory.iterdir() if TEMPORARY_NAME.fullmatch(p.name))
    for path in leftovers:
        remove(path)
    return leftovers


def remove(path: Path) -> None:
    """Delete a file or a directory tree, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
