"""Read torchvision's VGG19 `.pth` into Keras layout; the only VGG code that needs PyTorch.

PyTorch is an optional extra (`pip install dptn-tf[torch]`), imported only when a `.pth` is read.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

_CONV_WEIGHT = re.compile(r"features\.(\d+)\.weight")


def torchvision_vgg19_convs(path: str | Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The convolutions of a torchvision VGG19 state dict in network order.

    Returns `(name, kernel, bias)` per convolution, `name` the state-dict prefix (`features.0`),
    `kernel` converted from PyTorch's (out, in, h, w) to Keras' (h, w, in, out). Both frameworks
    compute a cross-correlation, so no spatial flip is needed.
    """
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            f"reading {path} needs PyTorch: pip install 'dptn-tf[torch]' (or pip install torch)"
        ) from err
    state = torch.load(path, map_location="cpu", weights_only=True)
    indices = sorted(int(m.group(1)) for key in state if (m := _CONV_WEIGHT.fullmatch(key)))
    if not indices:
        raise ValueError(
            f"{path}: no 'features.N.weight' keys; expected a torchvision VGG19 state dict"
        )
    convs = []
    for i in indices:
        name = f"features.{i}"
        if f"{name}.bias" not in state:
            raise ValueError(f"{path}: '{name}.weight' has no '{name}.bias'")
        kernel = state[f"{name}.weight"].float().numpy().transpose(2, 3, 1, 0)
        convs.append((name, kernel, state[f"{name}.bias"].float().numpy()))
    return convs
