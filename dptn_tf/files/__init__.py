"""Files: what reaches disk is whole and finite, and has one writer.

`atomic` (write under a temporary name, then rename; remove a killed writer's leftovers),
`directory_lock` (one writer per directory), `finite` (no NaN or infinity in saved weights),
`text` (UTF-8 text read strictly) and `weight_files` (where pretrained weight files are found).
Imports nothing from the rest of dptn_tf; everything else, `config` included, may import it.
"""

from __future__ import annotations

from pathlib import Path


def is_url(path: str | Path) -> bool:
    """Whether `path` names another file system than the local one (`gs://`, `ram://`, ...):
    one that only TensorFlow's `tf.io.gfile` reads."""
    return "://" in str(path)
