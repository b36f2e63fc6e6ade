"""What the commands print: TensorFlow's own logging off unless `--verbose`, plain text in files.

Every entry point parses its command line first, so that `--help` answers before TensorFlow
loads, then calls `quiet_tensorflow(args.verbose)`, which imports TensorFlow quietly, and only
then imports the modules that need it. This module imports no TensorFlow itself.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys

# TensorFlow's C++ log levels: 0 everything, 1 no INFO, 2 no WARNING, 3 no ERROR either. On a
# machine without a GPU it logs a cuInit "error", and grappler a harmless "remapper failed";
# real failures still raise Python exceptions.
QUIET_LEVEL = "3"


def add_verbose_flag(parser) -> None:
    """Add `--verbose` to an entry point's `argparse` parser."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's own log messages (hidden by default)",
    )


def quiet_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow without its log lines, unless `verbose`; call it before anything else
    imports TensorFlow.

    Sets `TF_CPP_MIN_LOG_LEVEL` (unless the environment sets it) and the Python loggers of
    TensorFlow and absl to errors. Some start-up lines (oneDNN, CUDA stubs) are written by
    absl before any setting is read, so the import itself runs with file descriptor 2 pointed
    at /dev/null; an import that fails still raises, and `--verbose` shows everything.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" in sys.modules:
        return
    with stderr_silenced():
        import tensorflow  # noqa: F401


def wants_quiet() -> bool:
    """Whether TensorFlow's INFO lines are off (`TF_CPP_MIN_LOG_LEVEL` >= 1, which
    `quiet_tensorflow` sets unless `--verbose`): TF Lite's own C++ lines should then go too."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) >= 1
    except ValueError:
        return False


@contextlib.contextmanager
def stderr_silenced(silenced: bool = True):
    """File descriptor 2 pointed at /dev/null for the block (if `silenced`): C++ code (absl,
    TF Lite's "INFO: Created TensorFlow Lite XNNPACK delegate") writes there directly, past
    Python's `sys.stderr`; exceptions still propagate."""
    if not silenced:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def is_terminal(stream=None) -> bool:
    """Whether `stream` (default: stdout) is an interactive terminal, where a progress bar that
    rewrites its line (carriage returns, colours) belongs; a file or a pipe gets plain lines."""
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def image_size(text: str) -> tuple[int, int]:
    """An `argparse` type: '256x176' -> (256, 176), height by width, both positive."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW, e.g. 256x176, got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"expected a positive HxW, got {text!r}")
    return height, width
