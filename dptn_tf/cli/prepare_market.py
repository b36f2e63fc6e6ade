"""Lay Market-1501 out as a PATN root: bounding_box_train/test become train/ and test/.

    python tools/prepare_market.py --market path/to/Market-1501-v15.09.15 --root data/market

Put market-annotation-*.csv and market-pairs-*.csv in `--root`; when they are there the split
is checked against them.
"""

import argparse
import sys

from dptn_tf.console import add_verbose_flag, quiet_tensorflow


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--market", required=True, help="folder holding bounding_box_train/test")
    parser.add_argument("--root", required=True, help="the PATN root to write train/ and test/ in")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    quiet_tensorflow(args.verbose)
    from dptn_tf.data.prepare import prepare_market

    try:
        counts = prepare_market(args.market, args.root)
    except (OSError, ValueError) as error:  # DatasetError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.root}: " + ", ".join(f"{n} {split} images" for split, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
