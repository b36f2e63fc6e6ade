"""Split the raw DeepFashion In-shop images into a PATN root's train/ and test/.

    python tools/prepare_deepfashion.py --images path/to/In-shop/img --root data/fashion

`--root` holds (or will hold) train.lst, test.lst and the fasion-resize-*.csv files; the images
are cropped to 256x176 and renamed to the names those files use.
"""

import argparse
import sys

from dptn_tf.console import add_verbose_flag, quiet_tensorflow


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", required=True, help="the In-shop img/ folder (WOMEN/, MEN/)")
    parser.add_argument("--root", required=True, help="the PATN root to write train/ and test/ in")
    parser.add_argument("--train-list", help="train.lst (default: <root>/train.lst)")
    parser.add_argument("--test-list", help="test.lst (default: <root>/test.lst)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    quiet_tensorflow(args.verbose)
    from dptn_tf.data.prepare import prepare_deepfashion

    try:
        counts = prepare_deepfashion(
            args.images, args.root, train_list=args.train_list, test_list=args.test_list
        )
    except (OSError, ValueError) as error:  # DatasetError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.root}: " + ", ".join(f"{n} {split} images" for split, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
