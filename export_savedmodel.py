"""Export a DPTN generator as a versioned SavedModel for TensorFlow Serving.

    python export_savedmodel.py --run runs/market --out exports/dptn
    python export_savedmodel.py --generator generator.keras --config configs/market.yaml \
        --out exports/dptn --version 3

writes `exports/dptn/<version>/` (the next free version unless `--version` is given) with the
signatures `serving_default` (encoded image + keypoints -> image) and `generate` (tensors ->
tensor); see `dptn_tf/serving/export.py`. `--run RUN_DIR` takes `RUN_DIR/generator.keras` and the
geometry (`data.load_size`, `data.old_size`, `data.sigma`) from `RUN_DIR/config.yaml`; with
`--generator`, it comes from `--config` (default: the built-in defaults) and `--set` overrides.
"""

import argparse
import sys
from pathlib import Path

from dptn_tf.config import load_config
from dptn_tf.console import add_verbose_flag, quiet_tensorflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="training run directory (generator.keras + "
                                                  "config.yaml)")
    source.add_argument("--generator", type=Path, help="a .keras generator")
    parser.add_argument("--config", type=Path, help="YAML config for --generator")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.FIELD=VALUE", help="config override (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="export base path")
    parser.add_argument("--version", type=int, help="version number (default: next free)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.run and args.config:
        parser.error("--config goes with --generator; --run reads RUN_DIR/config.yaml")
    quiet_tensorflow(args.verbose)
    from dptn_tf.inference.generation import load_generator
    from dptn_tf.serving.export import export_saved_model

    try:
        config_path = args.run / "config.yaml" if args.run else args.config
        config = load_config(config_path, args.overrides)
        generator = load_generator(args.run / "generator.keras" if args.run else args.generator)
        path = export_saved_model(generator, args.out, config.data, args.version)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path} (network at {tuple(config.data.load_size)}, output images at "
          f"{tuple(config.data.old_size)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
