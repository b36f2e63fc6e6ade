"""Write a synthetic-person data set in the PATN format, and/or a preview picture of it.

python tools/make_synthetic_dataset.py data/synthetic
python tools/make_synthetic_dataset.py --preview docs/images/synthetic_grid.png
"""

import argparse
import os
from pathlib import Path

from dptn_tf.console import add_verbose_flag, quiet_tensorflow


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", help="the data-set folder to create")
    parser.add_argument("--image-size", type=int, nargs=2, default=(128, 64), metavar=("H", "W"))
    parser.add_argument("--train-identities", type=int, default=200)
    parser.add_argument("--test-identities", type=int, default=50)
    parser.add_argument("--poses", type=int, default=8, help="images per identity")
    parser.add_argument("--train-pairs", type=int, help="pairs per train identity (default: all)")
    parser.add_argument("--test-pairs", type=int, default=8, help="pairs per test identity")
    parser.add_argument("--prefix", default="synthetic", help="CSV file prefix")
    parser.add_argument("--format", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing root")
    parser.add_argument("--preview", help="also write a PNG grid of identities and skeletons")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.root is None and args.preview is None:
        parser.error("give a root to write, --preview, or both")
    quiet_tensorflow(args.verbose)
    import tensorflow as tf

    from dptn_tf.data.synthetic import make_synthetic_dataset, preview_grid

    if args.root:
        root = make_synthetic_dataset(
            args.root,
            image_size=tuple(args.image_size),
            num_train_identities=args.train_identities,
            num_test_identities=args.test_identities,
            poses_per_identity=args.poses,
            train_pairs_per_identity=args.train_pairs,
            test_pairs_per_identity=args.test_pairs,
            prefix=args.prefix,
            seed=args.seed,
            image_format=args.format,
            overwrite=args.overwrite,
        )
        print(f"wrote {root}")
    if args.preview:
        grid = preview_grid(image_size=tuple(args.image_size), seed=args.seed)
        path = Path(args.preview)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(tf.io.encode_png(grid, compression=9).numpy())
        os.replace(tmp, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
