"""Write files and directories so that readers only ever see complete ones."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary sibling of `path`; on success rename it to `path`, else delete it.

    The temporary name keeps `path`'s suffix (Keras insists on `.keras`) and lives in the same
    directory, so the final rename is atomic on POSIX file systems. Works for a file or a
    directory written at the yielded path; an existing file at `path` is replaced.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        elif temporary.exists():
            temporary.unlink()
