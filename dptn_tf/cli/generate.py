"""Generate every test pair of a PATN root with a DPTN generator, named as the official script.

    python tools/generate.py --generator runs/market/generator.keras \
        --config configs/market.yaml --set data.root=data/market --out results/market

writes `<from stem>_2_<to stem>_vis.jpg` at the annotation size (`data.old_size`) for each test
pair; files already there are skipped, so an interrupted run resumes (deleting the temporaries a
killed run left), and a second generate.py on the same `--out` is refused, naming the first.
`--pairs FILE` restricts it to the `from,to` rows of FILE (same format as the data set's pairs CSV).
"""

import argparse
import sys
from pathlib import Path

from dptn_tf.config import load_config
from dptn_tf.console import add_verbose_flag, quiet_tensorflow


def select_pairs(index, pairs_file: Path):
    """The test split restricted to the rows of `pairs_file`, each checked against the split."""
    from dptn_tf.data import DatasetError, read_pairs

    position = {pair: i for i, pair in enumerate(index.pair_names())}
    chosen = []
    for line, source, target in read_pairs(pairs_file):
        if (source, target) not in position:
            raise DatasetError(
                f"{pairs_file}: line {line}: pair {source},{target} is not a test "
                f"pair of {index.root}"
            )
        chosen.append(position[(source, target)])
    return index.subset(chosen)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--generator", type=Path, required=True, help="a .keras generator or a preset folder"
    )
    parser.add_argument("--config", type=Path, default=Path("configs/synthetic.yaml"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. data.root=data/market (repeatable)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the generated images")
    parser.add_argument("--pairs", type=Path, help="CSV of from,to pairs: only these")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    quiet_tensorflow(args.verbose)
    from dptn_tf.data import load_split
    from dptn_tf.files.directory_lock import DirectoryInUseError
    from dptn_tf.inference.generation import generate_test_images, load_generator

    try:
        config = load_config(args.config, args.set).data
        model = load_generator(args.generator)
        index = load_split(config.root, "test", config.prefix, old_size=config.old_size)
        if args.pairs:
            index = select_pairs(index, args.pairs)
        written = generate_test_images(model, config, args.out, index=index)
    except (ValueError, FileNotFoundError, DirectoryInUseError) as error:  # DatasetError too
        print(f"error: {error}", file=sys.stderr)
        return 1
    skipped = index.num_pairs - len(written)
    print(
        f"wrote {len(written)} images to {args.out}"
        + (f" ({skipped} already there)" if skipped else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
