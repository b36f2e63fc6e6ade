"""Bad `.pth` files through `tools/convert_torch_checkpoint.py`: one line naming the file and
what it holds, no pickled code ever run, nothing written."""

import collections
import pickle
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="writing .pth files needs torch")
from helpers import torch_reference  # noqa: E402  (after the torch skip above)

REPO = Path(__file__).resolve().parents[2]
SMALL = dict(ngf=16, img_f=64, layers=3, num_blocks=1, num_cabs=1, num_ttbs=1)


class Payload:
    """A pickle that would create the file `path` if anything unpickled it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _state():
    return collections.OrderedDict(torch_reference.random_generator_state_dict(**SMALL))


def _write(kind: str, path: Path, tmp_path: Path) -> None:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        torch.save(_state(), path)
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "text":
        path.write_text("generator weights: see the release page\n")
    elif kind == "pickled module":
        torch.save(torch.nn.Linear(2, 3), path)
    elif kind == "pickled code":
        path.write_bytes(pickle.dumps(Payload(tmp_path / "pwned")))
    elif kind == "a tensor":
        torch.save(torch.ones(3), path)
    elif kind == "non-tensor entries":
        torch.save({"epoch": 3, "lr": 2e-4}, path)
    elif kind == "NaN weights":
        state = _state()
        next(iter(state.values())).view(-1)[0] = float("nan")
        torch.save(state, path)


BAD_FILES = {
    "empty": r"empty file \(0 bytes\), expected a PyTorch state dict",
    "truncated": r"a truncated or damaged PyTorch file \(.+\)$",  # torch's reason varies
    "text": r"not a PyTorch file \(it starts with b'generato'\), expected a state dict",
    "pickled module": (
        r"holds pickled Python objects \(torch.nn.modules.linear.Linear\), which "
        r"are never unpickled here \(weights_only=True\)"
    ),
    "pickled code": r"holds pickled data other than tensors, which is never unpickled here",
    "a tensor": r"holds a Tensor, expected a state dict",
    "non-tensor entries": r"entry 'epoch' is a int, expected a tensor",
    "NaN weights": r"NaN or infinity in '.*'; nothing was written",
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_checkpoint_gets_one_line_and_nothing_is_written(kind, tmp_path, capsys):
    path = tmp_path / "latest_net_G.pth"
    _write(kind, path, tmp_path)
    from dptn_tf.cli import convert_torch_checkpoint as tool

    out = tmp_path / "converted"
    assert tool.main([str(path), "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip()
    where = out / "generator.keras" if kind == "NaN weights" else path
    assert error.startswith(f"error: {where}: ") and "\n" not in error, error
    assert re.search(BAD_FILES[kind], error), error
    assert not out.exists()
    assert not (tmp_path / "pwned").exists()  # the payload never ran
