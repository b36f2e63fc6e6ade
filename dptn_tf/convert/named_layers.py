"""PyTorch state dicts (name -> numpy array) into the Keras metric networks.

The metric networks name each Keras layer after the PyTorch module it replaces (for example
`Mixed_5b.branch1x1.conv`), so one rule converts them all: a layer takes the tensors
`<layer name>.weight`, `.bias`, ... of the state dict, transposed to Keras' layout. Reading the
`.pth` files is `dptn_tf.convert.load_torch_state_dict`, the one place torch is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keras
import numpy as np


def _leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer, with nested models (a trunk shared by two inputs) opened up."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _layer_arrays(layer: keras.layers.Layer) -> dict[str, Callable] | None:
    """For a layer holding weights: state-dict suffix -> function from the torch array to Keras'."""
    if isinstance(layer, keras.layers.Conv2D):
        arrays = {"weight": lambda w: np.transpose(w, (2, 3, 1, 0))}  # OIHW -> HWIO
        if layer.use_bias:
            arrays["bias"] = np.asarray
        return arrays
    if isinstance(layer, keras.layers.BatchNormalization):
        return {name: np.asarray for name in ("weight", "bias", "running_mean", "running_var")}
    if layer.weights:
        raise TypeError(
            f"no PyTorch conversion rule for layer {layer.name} ({type(layer).__name__})"
        )
    return None


def assign_state_dict(
    model: keras.Model,
    state_dict: dict[str, np.ndarray],
    source: str,
    ignored_prefixes: tuple[str, ...] = (),
) -> None:
    """Copy `state_dict` into `model`'s layers, failing on any missing, unused or misshapen tensor.

    `source` names the file(s) in error messages; keys under `ignored_prefixes` (classifier heads
    the metrics never run) and `num_batches_tracked` counters may be left unused.
    """
    used = set()
    for layer in _leaf_layers(model):
        rules = _layer_arrays(layer)
        if rules is None:
            continue
        values = []
        for suffix, convert in rules.items():
            key = f"{layer.name}.{suffix}"
            if key not in state_dict:
                raise ValueError(f"{source}: missing tensor '{key}' for layer {layer.name}")
            values.append(convert(state_dict[key]))
            used.add(key)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [v.shape for v in values] != expected:
            got = {f"{layer.name}.{s}": state_dict[f"{layer.name}.{s}"].shape for s in rules}
            raise ValueError(
                f"{source}: tensors {got} do not fit layer {layer.name} (Keras shapes {expected})"
            )
        layer.set_weights(values)
    unused = sorted(
        key
        for key in state_dict
        if key not in used
        and not key.endswith("num_batches_tracked")
        and not key.startswith(ignored_prefixes)
    )
    if unused:
        shown = ", ".join(unused[:5]) + (" ..." if len(unused) > 5 else "")
        raise ValueError(
            f"{source}: {len(unused)} tensors match no layer of {model.name} ({shown}); "
            "is this the right weight file?"
        )
