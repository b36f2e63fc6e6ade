"""The training run's phases called directly (`dptn_tf.training.run`); `test_train_cli.py` runs
them through `train.py`."""

import contextlib
import json

import keras
import pytest

from dptn_tf.cli.train import parse_args, resolve_config
from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, VALIDATION_NAME, load_config
from dptn_tf.inference.generation import load_generator
from dptn_tf.models import frame_of
from dptn_tf.training import distribute, run
from dptn_tf.training.backups import StopOnNonFiniteLoss
from dptn_tf.training.progress import ProgressLines
from dptn_tf.training.summaries import SampleImages, TrainingSummaries
from helpers.training import TINY_MODEL


def tiny_run_config(root, run_dir, *overrides):
    return load_config(
        None,
        [
            *TINY_MODEL,
            "loss.vgg_weights=none",
            "loss.lambda_content=0",
            "loss.lambda_style=0",
            f"data.root={root}",
            "data.prefix=synthetic",
            "data.load_size=[64,32]",
            "data.old_size=[64,32]",
            "data.batch_size=4",
            "train.steps_per_epoch=1",
            "train.niter=1",
            "train.niter_decay=0",
            "train.sample_pairs=2",
            f"train.run_dir={run_dir}",
            *overrides,
        ],
    )


def test_prepare_records_the_resolved_configuration(synthetic_root, tmp_path):
    config = tiny_run_config(synthetic_root, tmp_path / "run", "train.steps_per_epoch=null")
    with contextlib.ExitStack() as held:
        setup = run.prepare(config, held)
    assert setup.chief and setup.finished is None
    assert setup.steps_per_epoch == setup.train_index.num_pairs // 4 == config.train.steps_per_epoch
    assert (tmp_path / "run" / CONFIG_NAME).read_text() == config.to_yaml()


def test_prepare_refuses_a_split_smaller_than_one_batch(synthetic_root, tmp_path):
    config = tiny_run_config(
        synthetic_root, tmp_path / "run", "train.steps_per_epoch=null", "data.batch_size=100000"
    )
    with contextlib.ExitStack() as held, pytest.raises(ValueError, match="do not fill one batch"):
        run.prepare(config, held)


def test_the_phases_train_report_and_write_the_generator(synthetic_root, tmp_path):
    config = tiny_run_config(synthetic_root, tmp_path / "run")
    with contextlib.ExitStack() as held:
        setup = run.prepare(config, held)
        model, backup = run.build(config, setup)
        assert backup.restore() == 0
        callbacks = run.make_callbacks(config, setup, backup, terminal=False)
        assert [type(c) for c in callbacks] == [
            StopOnNonFiniteLoss,
            type(backup),
            TrainingSummaries,
            SampleImages,
            ProgressLines,
        ]
        assert ProgressLines not in map(
            type, run.make_callbacks(config, setup, backup, terminal=True)
        )
        run.fit(config, setup, model, callbacks, 0, verbose=0)
        figures = run.finalize(config, setup, model)
    assert figures["step"] == 1 and figures["test_pairs"] == setup.test_index.num_pairs
    assert json.loads((tmp_path / "run" / VALIDATION_NAME).read_text()) == figures
    frame = frame_of(load_generator(tmp_path / "run" / GENERATOR_NAME))  # it describes itself
    assert (frame.load_size, frame.old_size, frame.sigma) == ((64, 32), (64, 32), 6.0)
    assert "holds a finished run (1 epochs, 1 steps)" in run.finished_message(config, 1)
    assert (
        run.report(figures)
        .splitlines()[0]
        .startswith(f"Validation on {figures['test_pairs']} test pairs")
    )


@pytest.mark.parametrize(
    "flags, policy, named",
    [
        ({"avx512f", "amx_bf16", "amx_tile", "avx512_bf16"}, "mixed_bfloat16", "AMX-BF16"),
        ({"avx512f", "avx512_bf16"}, "mixed_bfloat16", "AVX512_BF16"),
        ({"avx2", "avx512f", "avx512_vnni"}, "float32", "no native bfloat16"),
    ],
    ids=["amx", "avx512_bf16", "neither"],
)
def test_the_default_precision_follows_the_cpu_and_the_run_records_it(
    synthetic_root, tmp_path, monkeypatch, capsys, flags, policy, named
):
    monkeypatch.setattr(distribute, "cpu_flags", lambda: flags)
    config = tiny_run_config(synthetic_root, tmp_path / "run")
    assert config.train.mixed_precision is None  # the default: the machine decides
    with contextlib.ExitStack() as held:
        run.prepare(config, held)
    assert keras.mixed_precision.global_policy().name == policy
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Precision: "))
    assert line.startswith(f"Precision: {policy} (the default on this CPU") and named in line
    recorded = load_config(tmp_path / "run" / CONFIG_NAME).train.mixed_precision
    assert recorded is (policy == "mixed_bfloat16")


def test_a_resumed_run_keeps_its_recorded_precision_and_float32_is_asked_for(
    synthetic_root, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(distribute, "cpu_flags", lambda: {"amx_bf16"})
    with contextlib.ExitStack() as held:
        run.prepare(tiny_run_config(synthetic_root, tmp_path / "run"), held)
    monkeypatch.setattr(distribute, "cpu_flags", lambda: set())  # resumed on another machine
    with contextlib.ExitStack() as held:
        run.prepare(tiny_run_config(synthetic_root, tmp_path / "run"), held)
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert "Precision: mixed_bfloat16 (as the run's config.yaml records)" in capsys.readouterr().out
    # --float32 on a new run: float32 whatever the CPU; on the bfloat16 run: refused by name
    monkeypatch.setattr(distribute, "cpu_flags", lambda: {"amx_bf16"})
    float32 = resolve_config(parse_args(["--float32", "--run-dir", str(tmp_path / "new")]))
    assert float32.train.mixed_precision is False
    with contextlib.ExitStack() as held:
        run.prepare(
            tiny_run_config(synthetic_root, tmp_path / "new", "train.mixed_precision=false"), held
        )
    assert keras.mixed_precision.global_policy().name == "float32"
    assert "Precision: float32 (train.mixed_precision: false)" in capsys.readouterr().out
    refused = tiny_run_config(synthetic_root, tmp_path / "run", "train.mixed_precision=false")
    with contextlib.ExitStack() as held, pytest.raises(ValueError, match="mixed_precision"):
        run.prepare(refused, held)
