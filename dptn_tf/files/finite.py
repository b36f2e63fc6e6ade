"""Nothing non-finite is written: weights are checked for NaN and infinity before any save.

A NaN written into a backup or an exported model poisons everything that loads it, and the file
looks perfectly healthy; the check costs one pass over the weights (milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class NonFiniteError(ValueError):
    """Weights that hold NaN or infinity, named in the message."""


def non_finite_names(named_values: Iterable[tuple[str, object]]) -> list[str]:
    """The names of the floating-point values (arrays, tensors, variables) holding NaN or inf."""
    bad = []
    for name, value in named_values:
        array = np.asarray(value)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad.append(name)
    return bad


def describe(names: list[str], shown: int = 3) -> str:
    """`'a', 'b', 'c' and 4 more`: a short list of names for a one-line message."""
    text = ", ".join(repr(name) for name in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def require_finite(named_values: Iterable[tuple[str, object]], what: str) -> None:
    """Raise `NonFiniteError` naming `what` and its non-finite values, if there are any."""
    bad = non_finite_names(named_values)
    if bad:
        raise NonFiniteError(f"{what}: NaN or infinity in {describe(bad)}; nothing was written")


def model_weights(model) -> list[tuple[str, object]]:
    """`(path, variable)` of every weight of a Keras model, for the checks above."""
    return [(weight.path, weight) for weight in model.weights]
