"""File size and seconds per image of every export format against the Keras model, at 1 and 2
threads: the .keras generator, the SavedModel, LiteRT float32 / float16 / int8 and ONNX.

    python benchmarks/exports.py [--size 256x176] [--threads 1 2] [--repeats 5]

Default model configuration (9.79 M parameters), random weights (speed does not depend on them),
batch one. Keras and the SavedModel run the `generate` signature's tensors (heatmaps given);
LiteRT and ONNX run their whole graph (uint8 image and keypoints in, heatmaps rendered inside).
Each thread count runs in a process of its own (TensorFlow sets its pools once per process);
medians of `--repeats` runs after two warm-ups. The LiteRT and ONNX rows also give their image's
distance from the Keras model's on the same inputs (max abs and PSNR, images in [-1, 1]).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dptn_tf.console import image_size, quiet_tensorflow

ROWS = ("keras", "savedmodel", "tflite float32", "tflite float16", "tflite int8", "onnx")


def export_all(folder: Path, size) -> dict[str, Path]:
    """Every format of one random default-size generator in `folder`: {row: file or folder}."""
    import keras

    from dptn_tf.config import DataConfig, ModelConfig
    from dptn_tf.export.litert_onnx import FILES, export_portable
    from dptn_tf.export.savedmodel import export_saved_model
    from dptn_tf.models import build_generator

    keras.utils.set_random_seed(0)
    generator = build_generator(ModelConfig())
    data = DataConfig(load_size=size, old_size=size)
    generator.save(folder / "generator.keras")
    paths = {
        "keras": folder / "generator.keras",
        "savedmodel": Path(export_saved_model(generator, folder / "saved", data)),
    }
    lite = Path(export_portable(generator, folder / "lite", data, "tflite"))
    for variant, name in FILES["tflite"].items():
        paths[f"tflite {variant}"] = lite / name
    paths["onnx"] = Path(export_portable(generator, folder / "onnx", data, "onnx")) / "model.onnx"
    return paths


def file_size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else (path.stat().st_size)
    )


def time_formats(paths: dict[str, str], size, threads: int, repeats: int) -> dict[str, dict]:
    """{row: {"seconds": median per image with `threads` threads, and for LiteRT and ONNX
    "max_abs" and "psnr" (dB) of the image in [-1, 1] against the Keras model's}}."""
    import numpy as np
    import tensorflow as tf

    from dptn_tf.console import stderr_silenced
    from dptn_tf.data.images import to_network_input
    from dptn_tf.inference.generation import as_inference_generator, load_generator
    from dptn_tf.inference.litert_onnx_models import PortableModel
    from dptn_tf.pose import keypoints_to_heatmaps
    from machine import configure_threads

    configure_threads(threads)
    rng = np.random.default_rng(0)
    tensors = {
        name: tf.constant(rng.uniform(0, 1, (1, *size, c)), tf.float32)
        for name, c in (("source_image", 3), ("source_pose", 18), ("target_pose", 18))
    }
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    source, target = ((rng.uniform(0, 1, (18, 2)) * size).astype(np.float32) for _ in range(2))
    generator = as_inference_generator(load_generator(paths["keras"]))
    keras_forward = tf.function(lambda t: generator(t, training=False))
    generate = tf.saved_model.load(paths["savedmodel"]).signatures["generate"]
    runs = {
        "keras": lambda: keras_forward(tensors).numpy(),
        "savedmodel": lambda: generate(**tensors)["generated_target"].numpy(),
    }
    with stderr_silenced():
        for row in ROWS[2:]:
            model = PortableModel(paths[row], num_threads=threads)
            runs[row] = lambda model=model: model.generate(image, source, target)
    results = {}
    for row, run in runs.items():
        run(), run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        results[row] = {"seconds": statistics.median(times)}
    reference = keras_forward(
        {
            "source_image": to_network_input(image, size)[None],
            "source_pose": keypoints_to_heatmaps(source[None], size, size),
            "target_pose": keypoints_to_heatmaps(target[None], size, size),
        }
    )[0].numpy()
    for row in ROWS[2:]:
        output = runs[row]()["generated_target"]
        results[row]["max_abs"] = float(np.abs(output - reference).max())
        results[row]["psnr"] = float(10 * np.log10(4.0 / np.mean((output - reference) ** 2)))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=image_size, default=(256, 176), help="HxW")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--time", help=argparse.SUPPRESS)  # JSON {row: path}: one thread count
    args = parser.parse_args(argv)
    quiet_tensorflow()
    if args.time:
        print(
            json.dumps(
                time_formats(json.loads(args.time), args.size, args.threads[0], args.repeats)
            )
        )
        return 0
    from machine import describe

    with tempfile.TemporaryDirectory() as folder:
        paths = export_all(Path(folder), args.size)
        sizes = {row: file_size(path) for row, path in paths.items()}
        seconds = {}
        for threads in args.threads:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--time",
                    json.dumps({k: str(v) for k, v in paths.items()}),
                    "--size",
                    f"{args.size[0]}x{args.size[1]}",
                    "--threads",
                    str(threads),
                    "--repeats",
                    str(args.repeats),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 1
            seconds[threads] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{describe()}; {args.size[0]}x{args.size[1]}, batch 1, median of {args.repeats}")
    header = (
        "| format | file MB | max abs vs Keras | PSNR vs Keras | "
        + " | ".join(f"s/image, {t} thread{'s' * (t > 1)}" for t in args.threads)
        + " |"
    )
    print(header + "\n|" + "---|" * (4 + len(args.threads)))
    first = seconds[args.threads[0]]
    for row in ROWS:
        quality = (
            f"{first[row]['max_abs']:.1e} | {first[row]['psnr']:.1f} dB"
            if "psnr" in first[row]
            else "- | -"
        )
        print(
            f"| {row} | {sizes[row] / 1e6:.1f} | {quality} | "
            + " | ".join(f"{seconds[t][row]['seconds']:.3f}" for t in args.threads)
            + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
