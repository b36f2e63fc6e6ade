"""Reading PyTorch `.pth` files: the one place torch is imported (an optional extra).

`torch.load(..., weights_only=True)` never unpickles code; everything downstream works on a
state dict of numpy arrays.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np


class CheckpointError(ValueError):
    """A checkpoint the importer cannot use: a file that is not a state dict of tensors, or a
    state dict that does not describe a DPTN network; the message names the file or the key."""


def load_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a `.pth` state dict into float32 numpy arrays (needs `pip install dptn-tf[torch]`).

    Raises `CheckpointError` with one line naming the file and what it holds instead when it
    is not a state dict of tensors: empty, truncated, not a PyTorch file, pickled classes or
    code (never unpickled), or entries that are not tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "reading a PyTorch checkpoint needs torch: "
            "pip install 'dptn-tf[torch]' (or pip install torch)"
        ) from error
    with path.open("rb") as file:
        head = file.read(8)
    if not head:
        raise CheckpointError(f"{path}: empty file (0 bytes), expected a PyTorch state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch reports a bad file in many ways
        raise CheckpointError(f"{path}: {_what_is_wrong(head, error)}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{path}: holds a {type(state).__name__}, expected a state dict "
            "(a mapping of names to tensors)"
        )
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{path}: entry {key!r} is a {type(value).__name__}, expected "
                "a tensor (a state dict maps names to tensors)"
            )
    return {key: value.detach().cpu().float().numpy() for key, value in state.items()}


def _what_is_wrong(head: bytes, error: Exception) -> str:
    """What a file that `torch.load(weights_only=True)` refused holds, from its first bytes."""
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
    if found:
        return (
            f"holds pickled Python objects ({found.group(1)}), which are never unpickled "
            "here (weights_only=True); save the network's state_dict() instead"
        )
    if not head.startswith((b"PK", b"\x80")):  # torch.save's zip archive, or a pickle
        return f"not a PyTorch file (it starts with {head!r}), expected a state dict"
    if isinstance(error, pickle.UnpicklingError):
        return (
            "holds pickled data other than tensors, which is never unpickled here "
            "(weights_only=True); save the network's state_dict() instead"
        )
    reason = (str(error).strip().split(". ")[0].splitlines() or [type(error).__name__])[0]
    return f"a truncated or damaged PyTorch file ({reason})"
