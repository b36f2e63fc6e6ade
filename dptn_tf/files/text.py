"""Text files read strictly: UTF-8, with or without a byte-order mark (as Excel saves CSVs),
from a local path or a URL (through `tf.io.gfile`, imported only then: `dptn_tf.config` reads
YAML with this module before any command needs TensorFlow)."""

from __future__ import annotations

from pathlib import Path

from dptn_tf.files import is_url


class TextEncodingError(ValueError):
    """A text file in another encoding; the message names the file and the line."""


def read_utf8(path: str | Path) -> str:
    """The text of `path`, its byte-order mark dropped; raises `TextEncodingError` naming the
    file, the line and the first byte that is not UTF-8."""
    data = _read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise TextEncodingError(
            f"{path}: line {line}: not UTF-8 text (byte "
            f"0x{data[error.start]:02x}); save the file as UTF-8"
        ) from None


def _read_bytes(path: str | Path) -> bytes:
    """The bytes of `path`; FileNotFoundError if there is no such file, on any file system."""
    if not is_url(path):
        return Path(path).read_bytes()
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(str(path), "rb") as file:
            return file.read()
    except tf.errors.NotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
