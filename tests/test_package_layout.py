"""The package layout is the architecture: each folder imports only from the folders below it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dptn_tf"

# Folder -> the folders (and top-level modules) it may import from. Read bottom-up, this is the
# picture of docs/layout.md.
ALLOWED = {
    "config": {"files"},
    "console": set(),
    "keras_internals": set(),
    "files": set(),
    "web": set(),
    "pose": {"files", "console"},
    "layers": {"keras_internals"},
    "visualization": {"pose"},
    "models": {"config", "layers", "keras_internals"},
    "data": {"config", "files", "pose", "visualization"},
    "convert": {"config", "files", "layers", "models"},
    "presets": {"config", "files", "models"},
    "training": {"config", "files", "pose", "visualization", "layers", "models", "data",
                 "convert", "keras_internals", "presets"},
    "metrics": {"config", "files", "pose", "data", "convert"},
    "inference": {"config", "files", "pose", "layers", "models", "data", "presets"},
    "export": {"config", "console", "files", "pose", "layers", "models", "data", "inference",
               "keras_internals", "web"},
    "serving": {"pose"},
    "demo": {"config", "console", "files", "pose", "visualization", "data", "inference",
             "serving", "web"},
    "cli": {"config", "console", "files", "pose", "visualization", "layers", "models", "data",
            "convert", "presets", "training", "metrics", "inference", "export", "serving",
            "demo"},
}  # fmt: skip


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.stem != "__init__")


def _folder(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_folders(path: Path) -> set[str]:
    """Top-level dptn_tf folders (or modules) that `path` imports, however it spells it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "dptn_tf":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from dptn_tf import models
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dptn_tf" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_from_folders_below_it(path):
    folder = _folder(path)
    assert folder in ALLOWED, f"{path}: folder '{folder}' is not in the layout; add it to ALLOWED"
    upward = _imported_folders(path) - ALLOWED[folder] - {folder}
    assert not upward, f"{path.relative_to(PACKAGE)} ({folder}) imports from {sorted(upward)}"


def test_torch_is_imported_in_one_module_only():
    importing = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == "torch" or name.startswith("torch.") for name in names):
                importing.append(str(path.relative_to(PACKAGE)))
    assert sorted(set(importing)) == ["convert/torch_files.py"]


@pytest.mark.parametrize("folder", sorted(f for f in ALLOWED if (PACKAGE / f).is_dir()))
def test_every_folder_says_what_lives_there_and_what_it_may_import(folder):
    docstring = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
    assert docstring, f"dptn_tf/{folder}/__init__.py has no docstring"
    assert "import" in docstring.lower(), f"dptn_tf/{folder}/__init__.py: say what it may import"
