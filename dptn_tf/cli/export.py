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
and keypoints in, image out: `dptn_tf/export/litert_onnx.py`). `--format web` writes a static site
to `--out` itself (no versions), the page running BlazePose and the generator in the visitor's
browser, its gallery the poses of `--annotations` (default: the test split of the configuration's
data set); `dptn-demo --site OUT` serves it (`dptn_tf/export/web.py`). Paths, but the web site's,
may be URLs of any file system TensorFlow reads (`gs://...`). `--run RUN_DIR` takes
`RUN_DIR/generator.keras` and the geometry (`data.load_size`, `data.old_size`, `data.sigma`) from
`RUN_DIR/config.yaml`; with `--generator`, it comes from `--config` and `--set` overrides, else
from the frame the generator records (train.py's, and the converter's with `--dataset` or
`--frame`), else the defaults.
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
        choices=("savedmodel", "tflite", "onnx", "web"),
        default="savedmodel",
        help="what to write (default: savedmodel)",
    )
    parser.add_argument(
        "--max-source-pixels",
        type=int,
        help="largest source image (H * W) a request may send (default 4096x4096)",
    )
    web = parser.add_argument_group("--format web")
    web.add_argument(
        "--annotations",
        help="PATN annotation CSV of the gallery's poses (default: the test split of the "
        "configuration's data set)",
    )
    web.add_argument(
        "--weights",
        choices=("float32", "float16", "int8"),
        default="float16",
        help="how the generator's weights are stored (default float16: half the download, "
        "float32 arithmetic)",
    )
    web.add_argument("--weights-dir", help="where the BlazePose files are")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.format != "web" and (args.annotations or args.weights_dir):
        parser.error("--annotations and --weights-dir go with --format web")
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
        if args.format == "web":
            path = _export_web(generator, args, data, config_path)
        elif args.format == "savedmodel":
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
    if args.format == "web":
        from dptn_tf.export.web import site_size

        print(f"wrote {path} ({site_size(path) / 1e6:.1f} MB); serve it: dptn-demo --site {path}")
        return 0
    print(
        f"wrote {path} (network at {tuple(data.load_size)}, output images at "
        f"{tuple(data.old_size)})"
    )
    return 0


def _export_web(generator, args, data, config_path):
    """The site of `--format web`, its gallery from `--annotations` or the test split."""
    from pathlib import Path

    from dptn_tf.config import resolve_relative
    from dptn_tf.data import annotation_path, read_annotations
    from dptn_tf.export.litert_onnx import onnx_models
    from dptn_tf.export.web import check_site_target, export_site

    check_site_target(args.out)  # before the conversion, which takes a while
    annotations = args.annotations
    if annotations is None and config_path:
        test_split = annotation_path(resolve_relative(data.root, config_path), "test", data.prefix)
        annotations = test_split if Path(test_split).is_file() else None
    gallery = read_annotations(annotations, data.old_size) if annotations else {}
    onnx_generator = onnx_models(generator, data, float64=False)["float32"]
    return export_site(onnx_generator, args.out, data, gallery, args.weights, args.weights_dir)


if __name__ == "__main__":
    sys.exit(main())
