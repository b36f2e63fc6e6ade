"""Every configuration error names the file (or `--set`) and the field, in one line."""

from pathlib import Path

import pytest

from dptn_tf.config import load_config, resolve_relative

REPO = Path(__file__).resolve().parents[1]

BAD_FILES = {
    "empty": (b"", r"the file is empty; expected a mapping of sections"),
    "only a comment": (b"# nothing yet\n", r"the file is empty"),
    "malformed YAML": (b"model:\n  ngf: [8, 16\n", r"line 3, column 1: not valid YAML"),
    "a list": (b"- 1\n- 2\n", r"expected a mapping of sections .*, got list"),
    "a section that is not a mapping": (b"model: 8\n", r"model: expected a mapping"),
    "an unknown section": (b"modle:\n  ngf: 8\n", r"unknown key 'modle'"),
    "an unknown field": (b"train:\n  learning_rate: 1\n", r"unknown key 'train.learning_rate'"),
    "a value of the wrong type": (b"model:\n  ngf: wide\n", r"model.ngf: expected int, got 'wide'"),
    "a pair that is not a pair": (
        b"data:\n  load_size: 128\n",
        r"data.load_size: expected a list of 2 values",
    ),
    "latin-1 text": (
        "# réglages\nmodel:\n  ngf: 8\n".encode("latin-1"),
        r"line 1: not UTF-8 text \(byte 0xe9\)",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_naming_it_and_the_field(tmp_path, case):
    contents, message = BAD_FILES[case]
    path = tmp_path / "config.yaml"
    path.write_bytes(contents)
    with pytest.raises(ValueError, match=rf"^{path}: {message}"):
        load_config(path)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes("\ufeffmodel:\n  ngf: 8\n".encode())
    assert load_config(path).model.ngf == 8


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lr", r"--set train.lr: expected section.field=value"),
        ("train.lr=fast", r"--set: train.lr: expected float, got 'fast'"),
        ("train.lrate=1", r"--set: unknown key 'train.lrate'"),
        ("model.ngf=[8", r"--set model.ngf=\[8: the value is not valid YAML"),
    ],
)
def test_a_bad_override_is_refused_naming_it(override, message):
    with pytest.raises(ValueError, match=rf"^{message}"):
        load_config(None, [override])


def test_train_py_answers_a_bad_config_with_one_line(tmp_path, capsys, monkeypatch):
    from dptn_tf.cli import train

    path = tmp_path / "config.yaml"
    path.write_text("train:\n  lr: [\n")
    assert train.main(["--config", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: {path}: line 3, column 1: not valid YAML")
    assert "Traceback" not in error


def test_the_fields_a_resumed_run_may_change_are_marked_where_defined():
    from dptn_tf.config import Config

    assert Config.resumable_fields() == {
        "model.init",
        "data.root",
        "data.shuffle_buffer",
        "data.seed",
        "data.deterministic",
        "data.num_parallel_calls",
        "data.check_images",
        "loss.vgg_path",
        "train.lr",
        "train.d_lr_ratio",
        "train.niter",
        "train.niter_decay",
        "train.validation_steps",
        "train.log_every",
        "train.image_every",
        "train.sample_pairs",
        "train.keep_backups",
        "train.strategy",
        "train.jit_compile",
        "train.seed",
    }


def test_a_relative_path_is_found_from_the_folders_above_its_config_file(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "data" / "synthetic").mkdir(parents=True)
    config_file = project / "runs" / "synthetic" / "config.yaml"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert resolve_relative("data/synthetic", config_file) == str(project / "data" / "synthetic")
    assert resolve_relative("data/absent", config_file) == "data/absent"  # named as given
    assert resolve_relative("data/synthetic", None) == "data/synthetic"
    for given in (str(tmp_path / "absent"), "gs://bucket/data"):
        assert resolve_relative(given, config_file) == given
    (tmp_path / "elsewhere" / "data" / "synthetic").mkdir(parents=True)
    assert resolve_relative("data/synthetic", config_file) == "data/synthetic"  # here first
