"""DPTN as a keras-hub-style preset: a folder that a Keras user loads with `from_preset`.

    preset/
      config.json               the model's settings (`ModelConfig`) and the frame it works in
      model.weights.h5          the inference generator's weights (`Model.save_weights`)
      metadata.json             Keras, TensorFlow and dptn-tf versions, parameter count, the
                                data set, where the weights came from, parity figures, and the
                                SHA-256 of each weights file
      discriminator.weights.h5  optional: the discriminator, for fine-tuning

This is the layout of `keras_hub.models.Backbone.save_to_preset` (`config.json`,
`model.weights.h5`, `metadata.json`), read and written here rather than through keras-hub: its
0.32 release installs beside TensorFlow 2.21 and Keras 3.15, but brings tensorflow-text (pinned to
TensorFlow's minor version), sentencepiece, tokenizers and kagglehub, none of which DPTN uses
(docs/checkpoints.md has the measurement). `train.py` writes a preset at the end of a run and
`dptn-convert` one from the official checkpoints; every command taking `--generator` takes a
preset folder too (`dptn_tf.inference.generation.load_generator`).

A preset is built from `config.json` alone, so loading it needs no YAML and no `.keras` file; the
generator computes in float32 whatever the global policy is. A damaged folder (a missing file,
JSON that does not parse, a setting that is not `ModelConfig`'s, weights whose shapes or checksum
do not fit) is refused with a `PresetError` naming the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import platform
import shutil
import tempfile
import uuid
from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf

import dptn_tf
from dptn_tf.config import DataConfig, ModelConfig
from dptn_tf.files import is_url
from dptn_tf.files.atomic import atomic_path, remove
from dptn_tf.files.weight_files import file_sha256
from dptn_tf.models import build_discriminator, build_generator, frame_of, inference_generator

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
DISCRIMINATOR_WEIGHTS_FILE = "discriminator.weights.h5"
METADATA_FILE = "metadata.json"
FORMAT = "dptn_tf.preset"  # config.json's "format", so that another model's preset is told apart
FORMAT_VERSION = 1


class PresetError(ValueError):
    """A preset folder that cannot be loaded; the message names the file and what is wrong."""


def is_preset(path: str | Path) -> bool:
    """Whether `path` is a folder holding a `config.json` (a preset, whole or damaged)."""
    return tf.io.gfile.isdir(str(path)) and tf.io.gfile.exists(_join(path, CONFIG_FILE))


def save_preset(
    preset_dir: str | Path,
    generator: keras.Model,
    model_config: ModelConfig,
    *,
    weights_from: str,
    discriminator: keras.Model | None = None,
    dataset: str | None = None,
    parity: dict | None = None,
) -> str:
    """Write `generator` (an inference generator of `model_config`, with or without a recorded
    frame) and optionally `discriminator` as the preset folder `preset_dir`, replacing one that
    is there; -> its path.

    `weights_from` says where the weights came from (a run and its step, a checkpoint file),
    `dataset` the data set they were trained on, `parity` figures measured against the official
    code. The folder is written under a temporary name, read back and compared with `generator`
    weight by weight, then renamed: it appears whole or not at all.
    """
    frame = frame_of(generator)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": dataclasses.asdict(model_config),
        "frame": None if frame is None else _frame_dict(frame),
    }
    weights = {WEIGHTS_FILE: generator}
    if discriminator is not None:
        weights[DISCRIMINATOR_WEIGHTS_FILE] = discriminator
    with tempfile.TemporaryDirectory() as local:
        local = Path(local)
        for name, model in weights.items():
            model.save_weights(local / name)
        metadata = {
            "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__,
            "dptn_tf_version": dptn_tf.__version__,
            "python_version": platform.python_version(),
            "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "parameter_count": int(generator.count_params()),
            "discriminator_parameter_count": (
                None if discriminator is None else int(discriminator.count_params())
            ),
            "dataset": dataset,
            "frame": config["frame"],
            "weights_from": weights_from,
            "parity": parity,
            "sha256": {name: file_sha256(local / name) for name in weights},
        }
        _write_json(local / CONFIG_FILE, config)
        _write_json(local / METADATA_FILE, metadata)
        _require_same_weights(from_preset(local), generator, local / WEIGHTS_FILE)
        if discriminator is not None:
            _require_same_weights(
                discriminator_from_preset(local), discriminator, local / DISCRIMINATOR_WEIGHTS_FILE
            )
        with atomic_path(preset_dir) as temporary:
            _copy_folder(local, temporary)
            replaced = _move_aside(preset_dir)
    if replaced is not None:
        remove(replaced)
    return str(preset_dir)


def from_preset(preset: str | Path) -> keras.Model:
    """The inference generator of a preset folder (`{source_image, source_pose, target_pose}`
    -> generated target), recording the preset's frame when it has one."""
    with _local_copy(preset) as folder:
        config, metadata = _read_preset(folder)
        model_config, frame = _model_config(config, folder / CONFIG_FILE), config.get("frame")
        with _float32():
            generator = inference_generator(
                build_generator(model_config), frame=_frame(frame, folder / CONFIG_FILE)
            )
        _load_weights(generator, folder, WEIGHTS_FILE, metadata)
    return generator


def discriminator_from_preset(preset: str | Path) -> keras.Model:
    """The discriminator of a preset folder that holds one (`discriminator.weights.h5`)."""
    with _local_copy(preset) as folder:
        config, metadata = _read_preset(folder)
        if not (folder / DISCRIMINATOR_WEIGHTS_FILE).is_file():
            raise PresetError(
                f"{_join(preset, DISCRIMINATOR_WEIGHTS_FILE)}: not found; this preset holds the "
                "generator alone (convert with --discriminator, or train.py's preset has both)"
            )
        with _float32():
            discriminator = build_discriminator(_model_config(config, folder / CONFIG_FILE))
        _load_weights(discriminator, folder, DISCRIMINATOR_WEIGHTS_FILE, metadata)
    return discriminator


def read_metadata(preset: str | Path) -> dict:
    """A preset's `metadata.json`: versions, parameter count, data set, provenance, parity."""
    with _local_copy(preset) as folder:
        return _read_preset(folder)[1]


def _read_preset(folder: Path) -> tuple[dict, dict]:
    config = _read_json(folder / CONFIG_FILE)
    if config.get("format") != FORMAT:
        raise PresetError(
            f"{folder / CONFIG_FILE}: not a dptn-tf preset (its 'format' is "
            f"{config.get('format')!r}, expected {FORMAT!r})"
        )
    if config.get("format_version") != FORMAT_VERSION:
        raise PresetError(
            f"{folder / CONFIG_FILE}: format_version {config.get('format_version')!r}; this "
            f"dptn-tf reads version {FORMAT_VERSION}"
        )
    return config, _read_json(folder / METADATA_FILE)


def _model_config(config: dict, path: Path) -> ModelConfig:
    """`config["model"]` as a `ModelConfig`: every key a field, every value of its type (a
    field the file lacks, written by an older dptn-tf, keeps its default)."""
    settings = config.get("model")
    if not isinstance(settings, dict):
        raise PresetError(f"{path}: 'model' must be an object of ModelConfig's fields")
    defaults = ModelConfig()
    fields = {field.name for field in dataclasses.fields(ModelConfig)}
    for name, value in settings.items():
        if name not in fields:
            raise PresetError(f"{path}: model.{name} is not a setting of DPTN (ModelConfig)")
        expected = type(getattr(defaults, name))
        if type(value) is not expected and not (expected is float and type(value) is int):
            raise PresetError(f"{path}: model.{name} is {value!r}, expected {expected.__name__}")
    return ModelConfig(**settings)


def _frame(frame, path: Path) -> DataConfig | None:
    if frame is None:
        return None
    try:
        sizes = {key: tuple(int(s) for s in frame[key]) for key in ("load_size", "old_size")}
        sigma = float(frame["sigma"])
    except (KeyError, TypeError, ValueError):
        raise PresetError(
            f'{path}: \'frame\' must be null or {{"load_size": [H, W], "old_size": [H, W], '
            f'"sigma": s}}, got {frame!r}'
        ) from None
    if any(len(size) != 2 or min(size) < 1 for size in sizes.values()) or sigma <= 0:
        raise PresetError(f"{path}: 'frame' holds sizes or a sigma that are not positive: {frame}")
    return DataConfig(**sizes, sigma=sigma)


def _frame_dict(frame: DataConfig) -> dict:
    return {
        "load_size": list(frame.load_size),
        "old_size": list(frame.old_size),
        "sigma": frame.sigma,
    }


def _load_weights(model: keras.Model, folder: Path, name: str, metadata: dict) -> None:
    """Load `folder/name` into `model`, after its checksum and its shapes are checked: Keras
    passes over some mismatches in silence (a weights file with layers the model lacks)."""
    path = folder / name
    if not path.is_file():
        raise PresetError(
            f"{path}: not found (a preset holds {CONFIG_FILE}, {WEIGHTS_FILE} and {METADATA_FILE})"
        )
    expected = (metadata.get("sha256") or {}).get(name)
    if expected is not None and file_sha256(path) != expected:
        raise PresetError(
            f"{path}: damaged (its SHA-256 is not the one {METADATA_FILE} records); copy the "
            "preset again"
        )
    try:
        with h5py.File(path, "r") as file:
            stored = []
            file.visititems(
                lambda _, item: (
                    stored.append(item.shape) if isinstance(item, h5py.Dataset) else None
                )
            )
    except OSError as error:
        raise PresetError(f"{path}: not an HDF5 weights file ({error})") from None
    wanted = sorted(tuple(w.shape) for w in model.weights)
    if sorted(tuple(shape) for shape in stored) != wanted:
        raise PresetError(
            f"{path}: its {len(stored)} arrays ({sum(int(np.prod(s)) for s in stored):,} values) "
            f"do not fit the model {CONFIG_FILE} describes ({len(wanted)} arrays, "
            f"{model.count_params():,} values)"
        )
    try:
        model.load_weights(path)
    except ValueError as error:
        raise PresetError(
            f"{path}: does not fit the model {CONFIG_FILE} describes: {error}"
        ) from None


def _require_same_weights(loaded: keras.Model, original: keras.Model, path: Path) -> None:
    for ours, theirs in zip(loaded.weights, original.weights, strict=True):
        if not np.array_equal(np.asarray(ours), np.asarray(theirs)):
            raise PresetError(f"{path}: {theirs.path} did not read back as written")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise PresetError(
            f"{path}: not found (a preset holds {CONFIG_FILE}, {WEIGHTS_FILE} and {METADATA_FILE})"
        )
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise PresetError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _local_copy(preset: str | Path):
    """The preset as a local folder: itself, or a temporary copy of a URL's (`gs://...`)."""
    text = str(preset)
    if text.startswith(("kaggle://", "hf://")):
        raise PresetError(
            f"{text}: dptn-tf loads a preset from a folder (local, or a tf.io.gfile URL such as "
            "gs://); download the handle's files first (kagglehub, huggingface_hub) and give "
            "that folder"
        )
    if not tf.io.gfile.isdir(text):
        raise PresetError(
            f"{text}: not a preset folder (config.json, model.weights.h5, metadata.json)"
        )
    if not is_url(text):
        yield Path(text)
        return
    with tempfile.TemporaryDirectory() as local:
        for name in tf.io.gfile.listdir(text):
            if not tf.io.gfile.isdir(_join(text, name)):
                tf.io.gfile.copy(_join(text, name), str(Path(local) / name))
        yield Path(local)


def _copy_folder(local: Path, target: str | Path) -> None:
    if isinstance(target, Path):  # not copytree: it would copy the temporary folder's mode 0700
        target.mkdir()
        for path in local.iterdir():
            shutil.copyfile(path, target / path.name)
        return
    tf.io.gfile.makedirs(target)
    for path in local.iterdir():
        tf.io.gfile.copy(str(path), _join(target, path.name), overwrite=True)


def _move_aside(path: str | Path) -> str | None:
    """Rename a folder at `path` to a temporary's name (which `remove_leftovers` knows), since a
    folder is not renamed over another; -> that name. An object store's is deleted instead."""
    if not tf.io.gfile.exists(str(path)):
        return None
    if is_url(path):
        remove(path)
        return None
    parent, name = os.path.split(str(path))
    aside = os.path.join(parent, f".{name}.tmp-{uuid.uuid4().hex[:8]}")
    os.rename(path, aside)
    return aside


def _join(folder: str | Path, name: str) -> str:
    return tf.io.gfile.join(str(folder), name)


@contextlib.contextmanager
def _float32():
    """Build in float32 whatever the global policy: a preset is the same model on any machine."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
