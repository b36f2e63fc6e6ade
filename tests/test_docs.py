"""The front door and the documentation site: every link of the README resolves, the README
stays short, and the MkDocs site builds with `--strict` (a broken link, a missing page or a page
left out of the nav fails it)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FRONT_DOOR_LINES = 250  # the "at most about 250 lines"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """The anchor MkDocs' toc (and GitHub) gives a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"\s+", "-", text)


def _anchors(markdown: Path) -> set[str]:
    headings, fenced = [], False
    for line in markdown.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            headings.append(line.lstrip("#"))
    return {_slug(h) for h in headings}


def _outside_code(markdown: str) -> str:
    return re.sub(r"```.*?```", "", markdown, flags=re.S)


def test_every_readme_link_resolves():
    links = LINK.findall(_outside_code(README.read_text()))
    assert len(links) > 20, links  # the pages, the pictures, the anchors
    for target in links:
        if target.startswith(("http://", "https://")):
            assert target.startswith("https://"), target
            continue
        path, _, anchor = target.partition("#")
        resolved = (README.parent / path).resolve()
        assert resolved.exists(), f"README.md links to {target}, which is not there"
        if anchor:
            assert anchor in _anchors(resolved), f"README.md: no heading #{anchor} in {path}"


def test_the_readme_is_a_front_door():
    lines = len(README.read_text().splitlines())
    assert lines <= FRONT_DOOR_LINES, f"README.md has {lines} lines: move detail into docs/"
    for command in (
        "pip install -e . && python train.py && python export_savedmodel.py",
        'pip install -e ".[test,serving,demo]" torch==2.13.0 && python -m pytest -q tests',
    ):
        assert command in README.read_text()


def test_every_docs_page_is_in_the_nav():
    nav = (REPO / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert [p for p in pages if f": {p}" not in nav] == []


def test_the_documentation_site_builds_strictly(tmp_path):
    if shutil.which("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs is missing on CI: .ci/run installs the test extra, which has it")
        pytest.skip('mkdocs is not installed: pip install -e ".[docs]"')
    result = subprocess.run(
        ["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reference = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "from_preset" in reference and "keypoints_to_heatmaps" in reference
