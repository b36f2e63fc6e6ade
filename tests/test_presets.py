"""Presets (`dptn_tf.presets`): train.py's and a converted official checkpoint's load with
`from_preset` and compute what their `.keras` files compute; the commands take them for
`--generator`; a damaged folder is refused naming its file; a preset appears whole or not at all."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from dptn_tf.config import DataConfig
from dptn_tf.models import build_discriminator, build_generator, frame_of, inference_generator
from dptn_tf.presets import (
    CONFIG_FILE,
    DISCRIMINATOR_WEIGHTS_FILE,
    METADATA_FILE,
    WEIGHTS_FILE,
    PresetError,
    discriminator_from_preset,
    from_preset,
    read_metadata,
    save_preset,
)
from helpers.train_cli import REPO, STEPS, command, run
from helpers.training import TINY_GENERATOR

FRAME = DataConfig(load_size=(32, 16), old_size=(40, 20), sigma=4.0)
SAME_OUTPUTS = 1e-6  # the bar: a preset and its .keras file give the same image


def _inputs(size, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    channels = {"source_image": 3, "source_pose": 18, "target_pose": 18}
    return {
        name: rng.uniform(-1, 1, (batch, *size, c)).astype("float32")
        for name, c in channels.items()
    }


def _max_difference(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


@pytest.fixture(scope="module")
def tiny_models():
    keras.utils.set_random_seed(3)
    generator = inference_generator(build_generator(TINY_GENERATOR), frame=FRAME)
    return generator, build_discriminator(TINY_GENERATOR)


@pytest.fixture
def tiny_preset(tiny_models, tmp_path):
    generator, discriminator = tiny_models
    path = save_preset(
        tmp_path / "preset",
        generator,
        TINY_GENERATOR,
        discriminator=discriminator,
        dataset="synthetic",
        weights_from="a test",
    )
    return tmp_path / "preset", path


def test_a_saved_preset_loads_as_the_models_it_was_saved_from(tiny_models, tiny_preset):
    generator, discriminator = tiny_models
    folder, path = tiny_preset
    assert path == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, DISCRIMINATOR_WEIGHTS_FILE]
    )
    assert sorted(p.name for p in folder.parent.iterdir()) == ["preset"]  # no temporaries
    loaded = from_preset(folder)
    assert frame_of(loaded) == FRAME
    inputs = _inputs((32, 16))
    assert _max_difference(loaded(inputs), generator(inputs)) == 0.0
    loaded_discriminator = discriminator_from_preset(folder)
    for ours, theirs in zip(loaded_discriminator.weights, discriminator.weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)  # spectral-norm vectors included
    metadata = read_metadata(folder)
    assert metadata["keras_version"] == keras.__version__
    assert metadata["parameter_count"] == generator.count_params()
    assert metadata["discriminator_parameter_count"] == discriminator.count_params()
    assert metadata["frame"] == {"load_size": [32, 16], "old_size": [40, 20], "sigma": 4.0}
    assert (metadata["dataset"], metadata["weights_from"]) == ("synthetic", "a test")


def test_a_preset_builds_in_float32_under_a_mixed_policy(tiny_preset):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    generator = from_preset(tiny_preset[0])
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # left as it was
    assert {layer.dtype_policy.name for layer in generator.layers} == {"float32"}


def test_saving_again_replaces_the_preset_whole(tiny_models, tiny_preset):
    folder, _ = tiny_preset
    generator, _ = tiny_models
    save_preset(folder, generator, TINY_GENERATOR, weights_from="again")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE]
    )
    assert read_metadata(folder)["weights_from"] == "again"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["preset"]
    with pytest.raises(PresetError, match=f"{DISCRIMINATOR_WEIGHTS_FILE}: not found"):
        discriminator_from_preset(folder)


def test_weights_that_do_not_fit_the_config_write_nothing(tiny_models, tmp_path):
    generator, _ = tiny_models
    wider = TINY_GENERATOR.__class__(**{**TINY_GENERATOR.__dict__, "ngf": 16})
    with pytest.raises(PresetError, match="do not fit the model config.json describes"):
        save_preset(tmp_path / "preset", generator, wider, weights_from="a test")
    assert list(tmp_path.iterdir()) == []


def _edit_json(name, edit):
    def damage(folder):
        path = folder / name
        value = json.loads(path.read_text())
        edit(value)
        path.write_text(json.dumps(value))

    return damage


def _flip_a_byte(folder):
    path = folder / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "missing config": (lambda f: (f / CONFIG_FILE).unlink(), CONFIG_FILE, "not found"),
    "missing weights": (lambda f: (f / WEIGHTS_FILE).unlink(), WEIGHTS_FILE, "not found"),
    "missing metadata": (lambda f: (f / METADATA_FILE).unlink(), METADATA_FILE, "not found"),
    "bad JSON": (lambda f: (f / CONFIG_FILE).write_text('{"format": '), CONFIG_FILE, "not valid"),
    "bad metadata JSON": (lambda f: (f / METADATA_FILE).write_text("[1"), METADATA_FILE, "valid"),
    "another model's": (
        _edit_json(CONFIG_FILE, lambda c: c.update(format="keras_hub")),
        CONFIG_FILE,
        "not a dptn-tf preset",
    ),
    "wrong shapes": (
        _edit_json(CONFIG_FILE, lambda c: c["model"].update(ngf=16)),
        WEIGHTS_FILE,
        "do not fit the model config.json describes",
    ),
    "an extra block": (
        _edit_json(CONFIG_FILE, lambda c: c["model"].update(num_blocks=2)),
        WEIGHTS_FILE,
        "do not fit",
    ),
    "unknown setting": (
        _edit_json(CONFIG_FILE, lambda c: c["model"].update(heads=4)),
        CONFIG_FILE,
        "model.heads is not a setting",
    ),
    "wrong type": (
        _edit_json(CONFIG_FILE, lambda c: c["model"].update(ngf="8")),
        CONFIG_FILE,
        "model.ngf is '8', expected int",
    ),
    "bad frame": (
        _edit_json(CONFIG_FILE, lambda c: c.update(frame={"load_size": [32]})),
        CONFIG_FILE,
        "'frame' must be",
    ),
    "damaged weights": (_flip_a_byte, WEIGHTS_FILE, "damaged"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_preset_is_refused_naming_the_file(tiny_preset, case):
    folder, _ = tiny_preset
    damage, name, message = DAMAGE[case]
    damage(folder)
    with pytest.raises(PresetError) as error:
        from_preset(folder)
    assert str(error.value).startswith(f"{folder / name}:"), str(error.value)
    assert message in str(error.value)


def test_a_folder_that_is_not_a_preset_and_a_hub_handle_are_refused(tmp_path):
    with pytest.raises(PresetError, match="not a preset folder"):
        from_preset(tmp_path / "nowhere")
    with pytest.raises(PresetError, match="download the handle's files first"):
        from_preset("kaggle://someone/dptn/keras/market")
    with pytest.raises(PresetError, match=f"{tmp_path / CONFIG_FILE}: not found"):
        from_preset(tmp_path)


@pytest.fixture(scope="module")
def finished_run(synthetic_root, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("preset-run") / "run"
    run(command(synthetic_root, run_dir))
    return run_dir


@pytest.mark.slow
def test_train_py_writes_a_preset_that_computes_as_its_generator_keras(finished_run):
    preset = finished_run / "preset"
    from_keras = keras.saving.load_model(finished_run / "generator.keras")
    from_folder = from_preset(preset)
    inputs = _inputs((64, 32), seed=1)
    assert _max_difference(from_folder(inputs), from_keras(inputs)) <= SAME_OUTPUTS
    assert frame_of(from_folder) == frame_of(from_keras)
    metadata = read_metadata(preset)
    assert metadata["weights_from"].endswith(f"step {STEPS}")
    assert metadata["parameter_count"] == from_keras.count_params()
    discriminator = discriminator_from_preset(preset)
    assert discriminator.count_params() == metadata["discriminator_parameter_count"]


@pytest.mark.slow
def test_the_commands_take_a_preset_for_generator(finished_run, tmp_path):
    preset = finished_run / "preset"
    grid = tmp_path / "grid.png"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "visualize.py"),
            "grid",
            "--generator",
            str(preset),
            "--config",
            str(finished_run / "config.yaml"),
            "--num-pairs",
            "2",
            "--out",
            str(grid),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    assert grid.stat().st_size > 0
    exported = subprocess.run(  # no --config: the preset records its frame
        [
            sys.executable,
            str(REPO / "export_savedmodel.py"),
            "--generator",
            str(preset),
            "--out",
            str(tmp_path / "exports"),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert (tmp_path / "exports" / "1" / "saved_model.pb").is_file(), exported.stdout


@pytest.mark.slow
def test_a_converted_official_checkpoint_preset_reproduces_the_official_outputs(
    fixtures_dir, tmp_path
):
    pytest.importorskip("torch", reason="reading the .pth fixtures needs torch")
    golden_path = fixtures_dir / "dptn_market_128x64.npz"
    out = tmp_path / "converted"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "convert_torch_checkpoint.py"),
            str(fixtures_dir / "dptn_market_128x64_G.pth"),
            "--discriminator",
            str(fixtures_dir / "dptn_market_128x64_D.pth"),
            "--dataset",
            "market",
            "--check-against",
            str(golden_path),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    golden = np.load(golden_path)
    inputs = {k: golden[k] for k in ("source_image", "source_pose", "target_pose")}
    from_folder = from_preset(out / "preset")
    from_keras = keras.saving.load_model(out / "generator.keras")
    assert _max_difference(from_folder(inputs), from_keras(inputs)) <= SAME_OUTPUTS
    assert _max_difference(from_folder(inputs), golden["out_target"]) < 1e-4
    discriminator = discriminator_from_preset(out / "preset")
    assert _max_difference(discriminator(golden["source_image"]), golden["disc_out"]) < 1e-4
    metadata = read_metadata(out / "preset")
    parity = metadata["parity"]
    assert parity["golden_outputs"].startswith("dptn_market_128x64.npz (SHA-256 ")
    assert 0 < parity["generated_target_max_abs_error"] < 1e-4
    assert 0 < parity["discriminator_max_abs_error"] < 1e-4
    assert metadata["dataset"] == "market"
    assert "dptn_market_128x64_G.pth (SHA-256 " in metadata["weights_from"]
    assert metadata["frame"]["old_size"] == [128, 64]


@pytest.mark.slow
def test_conversion_that_misses_its_golden_outputs_writes_nothing(fixtures_dir, tmp_path):
    pytest.importorskip("torch", reason="reading the .pth fixtures needs torch")
    golden = dict(np.load(fixtures_dir / "dptn_market_128x64.npz"))
    golden["out_target"] = golden["out_target"] + 1e-3  # another model's outputs
    np.savez(tmp_path / "other.npz", **golden)
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "convert_torch_checkpoint.py"),
            str(fixtures_dir / "dptn_market_128x64_G.pth"),
            "--check-against",
            str(tmp_path / "other.npz"),
            "--out",
            str(tmp_path / "converted"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{tmp_path / 'other.npz'}: the converted models miss these golden outputs" in (
        result.stderr
    )
    assert not (tmp_path / "converted").exists()
