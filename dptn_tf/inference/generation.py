"""The official test protocol: generate every test pair and save it as the official script does.

Each generated target is converted to uint8 by truncation (`(x + 1) / 2 * 255`, clipped), resized
bilinearly (no antialiasing, as `cv2.resize`) back to the annotation size and written as JPEG
(quality 75, the imageio/PIL default) named `<from stem>_2_<to stem>_vis.jpg`, the name the
official evaluation parses.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from dptn_tf.config import DataConfig
from dptn_tf.data import PatnSplit, load_split, make_dataset
from dptn_tf.files.atomic import atomic_path
from dptn_tf.files.directory_lock import exclusive_directory
from dptn_tf.inference.frozen import frozen_forward
from dptn_tf.models import INPUT_NAMES, inference_generator
from dptn_tf.presets import from_preset, is_preset

JPEG_QUALITY = 75


def result_name(source_name: str, target_name: str) -> str:
    """`<from stem>_2_<to stem>_vis.jpg`, the official test script's file name."""
    return f"{Path(source_name).stem}_2_{Path(target_name).stem}_vis.jpg"


def as_inference_generator(model: keras.Model) -> keras.Model:
    """Accept a training generator (dict outputs) or an inference generator (one output)."""
    return inference_generator(model) if isinstance(model.output, dict) else model


def to_saved_uint8(images, old_size) -> tf.Tensor:
    """[-1, 1] float batch -> uint8 batch at `old_size`, with the official rounding and resize."""
    pixels = tf.cast(tf.clip_by_value((images + 1.0) / 2.0 * 255.0, 0.0, 255.0), tf.uint8)
    resized = tf.image.resize(tf.cast(pixels, tf.float32), old_size, method="bilinear")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def generate_test_images(
    model: keras.Model,
    config: DataConfig,
    out_dir: str | Path,
    *,
    index: PatnSplit | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Write one JPEG per test pair of `index` (default: the whole test split of `config`).

    Files already in `out_dir` are skipped, so an interrupted run continues where it stopped;
    each file is written under a temporary name and renamed, so none is ever half-written, and
    the temporaries a killed run left are deleted first. One process at a time may write
    `out_dir` (`DirectoryInUseError` names the other). Returns the paths written by this call.
    """
    out_dir = Path(out_dir)
    index = index or load_split(
        config.root,
        "test",
        config.prefix,
        old_size=config.old_size,
        check_images=config.check_images,
    )
    with exclusive_directory(out_dir, "generate_test_images"):
        todo = [
            i
            for i, (a, b) in enumerate(index.pair_names())
            if not (out_dir / result_name(a, b)).exists()
        ]
        return _write_results(model, config, out_dir, index.subset(todo), verbose) if todo else []


def _write_results(
    model, config: DataConfig, out_dir: Path, index: PatnSplit, verbose: bool
) -> list[Path]:
    dataset = make_dataset(config, "test", training=False, index=index)
    forward = frozen_forward(as_inference_generator(model))
    old_size = tuple(config.old_size)

    @tf.function
    def generate(batch):
        return to_saved_uint8(forward({k: batch[k] for k in INPUT_NAMES}), old_size)

    progress = keras.utils.Progbar(index.num_pairs, unit_name="pair") if verbose else None
    written = []
    for batch in dataset:
        images = generate(batch).numpy()
        for image, source, target in zip(
            images, batch["source_name"].numpy(), batch["target_name"].numpy()
        ):
            path = out_dir / result_name(source.decode(), target.decode())
            with atomic_path(path) as temporary:
                temporary.write_bytes(tf.io.encode_jpeg(image, quality=JPEG_QUALITY).numpy())
            written.append(path)
        if progress:
            progress.add(len(images))
    return written


def load_generator(path: str | Path) -> keras.Model:
    """A generator written by training or by the checkpoint importer: a `.keras` file or a preset
    folder (`dptn_tf.presets`), a local path or a URL."""
    path = str(path)
    if is_preset(path):
        return from_preset(path)
    if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
        raise FileNotFoundError(
            f"generator not found: {path} (a .keras file or a preset folder from train.py or "
            "tools/convert_torch_checkpoint.py)"
        )
    return keras.saving.load_model(path)
