"""The repository passes its committed ruff configuration (pyproject.toml: pycodestyle, pyflakes,
import order, bugbear, pyupgrade; lines of 100) and is formatted as `ruff format` leaves it."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip('ruff is not installed: pip install -e ".[test]"')
    return subprocess.run(
        [ruff, *args, "--no-cache", "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_ruff_finds_nothing():
    result = _ruff("check")
    assert result.returncode == 0, result.stdout[-3000:]


def test_ruff_format_changes_nothing():
    result = _ruff("format", "--check")
    assert result.returncode == 0, f"run `ruff format .`:\n{result.stdout[-3000:]}"
