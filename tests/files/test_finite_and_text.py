"""Weights are checked for NaN and infinity before they are written; text files are UTF-8."""

import keras
import numpy as np
import pytest

from dptn_tf.files.finite import (
    NonFiniteError,
    model_weights,
    non_finite_names,
    require_finite,
)
from dptn_tf.files.text import TextEncodingError, read_utf8


def test_non_finite_values_are_named_whatever_holds_them():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")], name="net")
    assert non_finite_names(model_weights(model)) == []
    model.layers[0].bias.assign([0.0, np.inf])
    named = [
        *model_weights(model),
        ("array", np.array([np.nan])),
        ("ints", np.array([1])),
        ("fine", np.zeros(4, np.float16)),
    ]
    assert non_finite_names(named) == ["net/dense/bias", "array"]
    with pytest.raises(
        NonFiniteError,
        match=r"^out/g.keras: NaN or infinity in 'net/dense/bias'; "
        "nothing was written$",
    ):
        require_finite(model_weights(model), "out/g.keras")
    many = [(f"w{i}", np.array([np.nan])) for i in range(5)]
    with pytest.raises(NonFiniteError, match=r"'w0', 'w1', 'w2' and 2 more"):
        require_finite(many, "x")


def test_text_is_utf8_with_or_without_a_byte_order_mark(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeffname:x\nZoë:1\n".encode())
    assert read_utf8(path) == "name:x\nZoë:1\n"
    path.write_bytes("name:x\nok:1\nZoë:1\n".encode("latin-1"))
    with pytest.raises(TextEncodingError, match=rf"^{path}: line 3: not UTF-8 text \(byte 0xeb\)"):
        read_utf8(path)
