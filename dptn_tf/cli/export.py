"""Export a DPTN generator as a versioned SavedModel for TensorFlow Serving, or for LiteRT or
ONNX Runtime.

    python export_savedmodel.py --run runs/market --out exports/dptn
    python export_savedmodel.py --generator generator.keras --config configs/market.yaml \
        --out exports/dptn --version 3
    python export_savedmodel.py --run runs/market --format tflite --out exports/dptn-lite

writes `exports/dptn/<version>/` (the next free version unless `--version` is given) with the
signatures `serving_default` (encoded image + keypoints -> image) and `generate` (tensors ->
tensor); see `dptn_tf/export/savedmodel.py`. `--format tflite` writes `model.tflite`,
`model_float16.tflite` and `model_int8.tflite` there instead, `--format onnx` `model.onnx` (image
and keypoints in, image out: `dptn_tf/export/litert_onnx.py`). Paths may be URLs of any file
system TensorFlow reads (`gs://...`). `--run RUN_DIR` takes `RUN_DIR/generator.keras` and the
geometry (`data.load_size`, `data.old_size`, `data.sigma`) from `RUN_DIR/config.yaml`; with
`--generator`, it comes from `--config` and `--set` overrides, else from the frame the generator
records (train.py's, and the converter's with `--dataset` or `--frame`), else the defaults.
One export at a time may write an export base; temporaries a killed export left there are
deleted at the next start.
"""

import argparse
import sys

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, load_config
from dptn_tf.console import add_verbose_flag, quiet_tensorflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="training run directory (generator.keras + config.yaml)")
    source.add_argument("--generator", help="a .keras generator or a preset folder")
    parser.add_argument("--config", help="YAML config for --generator")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="config override (repeatable)",
    )
    parser.add_argument("--out", required=True, help="export base path")
    parser.add_argument("--version", type=int, help="version number (default: next free)")
    parser.add_argument(
        "--format",
        choices=("savedmodel", "tflite", "onnx"),
        default="savedmodel",
        help="what to write (default: savedmodel)",
    )
    parser.add_argument(
        "--max-source-pixels",
        type=int,
        help="largest source image (H * W) a request may send (default 4096x4096)",
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.run and args.config:
        parser.error("--config goes with --generator; --run reads RUN_DIR/config.yaml")
    if args.max_source_pixels and args.format != "savedmodel":
        parser.error(
            "--max-source-pixels goes with --format savedmodel; the LiteRT and ONNX "
            "runtimes read photos with the library's limit"
        )
    quiet_tensorflow(args.verbose)
    import tensorflow as tf

    from dptn_tf.export.litert_onnx import export_portable
    from dptn_tf.export.savedmodel import MAX_SOURCE_PIXELS, export_saved_model
    from dptn_tf.files.directory_lock import DirectoryInUseError
    from dptn_tf.inference.generation import load_generator
    from dptn_tf.models import frame_of

    if args.run:
        config_path = tf.io.gfile.join(args.run, CONFIG_NAME)
        generator_path = tf.io.gfile.join(args.run, GENERATOR_NAME)
    else:
        config_path, generator_path = args.config, args.generator
    try:
        generator = load_generator(generator_path)
        recorded = None if args.run or args.config or args.overrides else frame_of(generator)
        data = recorded or load_config(config_path, args.overrides).data
        if args.format == "savedmodel":
            path = export_saved_model(
                generator, args.out, data, args.version, args.max_source_pixels or MAX_SOURCE_PIXELS
            )
        else:
            path = export_portable(generator, args.out, data, args.format, args.version)
    except (
        FileNotFoundError,
        FileExistsError,
        ValueError,
        ImportError,
        DirectoryInUseError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {path} (network at {tuple(data.load_size)}, output images at "
        f"{tuple(data.old_size)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
