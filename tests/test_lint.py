"""The repository passes its committed ruff configuration (pyproject.toml: pycodestyle, pyflakes,
import order, bugbear, pyupgrade; lines of 100)."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip('ruff is not installed: pip install -e ".[test]"')
    result = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:]
