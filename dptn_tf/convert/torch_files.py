"""Reading PyTorch `.pth` files: the one place torch is imported (an optional extra).

`torch.load(..., weights_only=True)` never unpickles code; everything downstream works on a
state dict of numpy arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class CheckpointError(ValueError):
    """A state dict that does not describe a DPTN network of the inferred configuration."""


def load_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a `.pth` state dict into float32 numpy arrays (needs `pip install dptn-tf[torch]`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        import torch
    except ImportError as error:
        raise ImportError("reading a PyTorch checkpoint needs torch: "
                          "pip install 'dptn-tf[torch]' (or pip install torch)") from error
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict, got {type(state).__name__}")
    return {key: value.detach().cpu().float().numpy() for key, value in state.items()}
