"""Pictures of a DPTN generator's results and of what its Pose Transformer attends to.

    python tools/visualize.py grid --generator runs/synthetic/generator.keras \
        --config runs/synthetic/config.yaml --out grid.png
    python tools/visualize.py attention --generator runs/synthetic/generator.keras \
        --config runs/synthetic/config.yaml --pair FROM.jpg,TO.jpg --points 40,32 90,20 \
        --out attention.png

`grid`: one row per test pair, pairs spread over the test split (so several people): source,
target pose, ground truth, generated target, under labelled columns.
`attention`: the generated target with the chosen points marked, then, for each point, the
source image tinted where the last texture transfer block's cross-attention looks.
Both are enlarged `--scale` times (nearest neighbour) so that small images stay readable.
"""

import argparse
import sys
from pathlib import Path

from dptn_tf.config import load_config
from dptn_tf.console import add_verbose_flag, quiet_tensorflow

GRID_COLUMNS = ("source", "target pose", "ground truth", "generated")


def comparison_grid(model, config, index, count: int, scale: int):
    from dptn_tf.data import one_batch
    from dptn_tf.inference.generation import as_inference_generator
    from dptn_tf.models import INPUT_NAMES
    from dptn_tf.pose import scale_keypoints
    from dptn_tf.visualization import draw_skeleton, image_grid, to_uint8

    batch = one_batch(config, index.spread(count))
    generated = as_inference_generator(model)({k: batch[k] for k in INPUT_NAMES}, training=False)
    load_size = tuple(config.load_size)
    tiles = []
    for i in range(len(generated)):
        keypoints = scale_keypoints(
            batch["target_keypoints"][i].numpy(), config.old_size, load_size
        )
        tiles += [
            to_uint8(batch["source_image"][i]),
            draw_skeleton(keypoints, load_size),
            to_uint8(batch["target_image"][i]),
            to_uint8(generated[i]),
        ]
    return image_grid(tiles, columns=len(GRID_COLUMNS), labels=GRID_COLUMNS, scale=scale)


def attention_picture(model, config, index, pair: tuple[str, str], points, scale: int):
    from dptn_tf.data import DatasetError, one_batch
    from dptn_tf.inference.attention_maps import (
        cross_attention,
        overlay,
        point_attention,
    )
    from dptn_tf.inference.generation import as_inference_generator
    from dptn_tf.models import INPUT_NAMES
    from dptn_tf.visualization import image_grid, to_uint8

    names = index.pair_names()
    if pair not in names:
        raise DatasetError(f"pair {pair[0]},{pair[1]} is not a test pair of {index.root}")
    batch = one_batch(config, index.subset([names.index(pair)]))
    inputs = {k: batch[k] for k in INPUT_NAMES}
    load_size = tuple(config.load_size)
    generated = to_uint8(as_inference_generator(model)(inputs, training=False)[0])
    maps = point_attention(cross_attention(model, inputs)[0], points, load_size)
    source = to_uint8(batch["source_image"][0])
    marked = generated.copy()
    for y, x in points:
        marked[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2] = (255, 0, 0)
    labels = ["generated"] + [f"point {y},{x}" for y, x in points]
    return image_grid(
        [marked] + [overlay(source, m) for m in maps],
        columns=len(points) + 1,
        labels=labels,
        scale=scale,
    )


def _point(text: str) -> tuple[int, int]:
    try:
        y, x = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a point as y,x in pixels, got {text!r}"
        ) from None
    return y, x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("grid", "attention"))
    parser.add_argument(
        "--generator", type=Path, required=True, help="a .keras generator or a preset folder"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("configs/synthetic.yaml"),
        help="a YAML configuration, e.g. the run's config.yaml",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument(
        "--num-pairs", type=int, default=6, help="grid: rows (test pairs, spread over the split)"
    )
    parser.add_argument("--pair", help="attention: FROM,TO image names of a test pair")
    parser.add_argument(
        "--points",
        nargs="+",
        type=_point,
        default=[],
        help="attention: target-image points y,x at the load size",
    )
    parser.add_argument(
        "--scale", type=int, default=2, help="enlarge the pictures this many times (default 2)"
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.mode == "attention" and not (args.pair and args.points):
        parser.error("attention needs --pair FROM,TO and --points y,x [y,x ...]")
    if args.scale < 1:
        parser.error(f"--scale must be at least 1, got {args.scale}")

    config = load_config(args.config, args.set).data
    quiet_tensorflow(args.verbose)
    import tensorflow as tf

    from dptn_tf.data import DatasetError, load_split
    from dptn_tf.files.atomic import write_atomically
    from dptn_tf.inference.generation import load_generator

    try:
        model = load_generator(args.generator)
        index = load_split(config.root, "test", config.prefix, old_size=config.old_size)
        if args.mode == "grid":
            picture = comparison_grid(model, config, index, args.num_pairs, args.scale)
        else:
            picture = attention_picture(
                model, config, index, tuple(args.pair.split(",", 1)), args.points, args.scale
            )
    except (DatasetError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_atomically(args.out, tf.io.encode_png(picture, compression=9).numpy())
    print(f"wrote {args.out} ({picture.shape[1]}x{picture.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
