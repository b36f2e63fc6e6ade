"""Make a PATN training set of real people from videos and folders of photos.

    python tools/make_dataset.py street.mp4 walk2.avi data/street --frame 128x64 --preview sheet.png
    python tools/make_dataset.py photos/ data/mine --frame 256x176 --split frames

Every person of every frame is found (OpenCV's HOG people detector, then BlazePose's landmarks
in a crop around each), followed from frame to frame (one track, one identity), filtered (too few
joints, too small, cut by the frame's edge, overlapping another person, a pose too close to the
one kept before), cut to the frame's aspect and written with its keypoints. A folder of photos is
one person; a folder of such folders, one person each. The split is by identity (test people are
unseen in training), by frames (each person's last frames are held out), or both; pairs are
ordered pairs of one identity's images, drawn with --seed. An interrupted run resumes where it
stopped; the root appears whole, with its summary.json, or not at all. Needs
`pip install -e ".[video]"` and BlazePose's files (tools/fetch_pose_models.py).
"""

import argparse
import sys
from pathlib import Path

from dptn_tf.console import add_verbose_flag, image_size, quiet_tensorflow

SPLIT_CHOICES = ("identities", "frames", "both")  # dptn_tf.data.footage.SPLITS; --help is light


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inputs", type=Path, nargs="+", help="videos and photo folders")
    parser.add_argument("root", type=Path, help="the PATN root to make")
    parser.add_argument(
        "--frame", type=image_size, default=(128, 64), metavar="HxW",
        help="the images' size: 128x64 as Market-1501 (default), 256x176 as DeepFashion",
    )  # fmt: skip
    parser.add_argument("--prefix", default="footage", help="the CSVs' prefix (default footage)")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="identities")
    parser.add_argument(
        "--test-fraction", type=float, default=0.2,
        help="of the identities (--split identities) or of each one's frames (default 0.2)",
    )  # fmt: skip
    parser.add_argument("--train-pairs", type=int, help="pairs per train identity (default: all)")
    parser.add_argument("--test-pairs", type=int, default=8, help="pairs per test identity")
    parser.add_argument("--min-joints", type=int, default=13, help="of 18 (default 13)")
    parser.add_argument(
        "--min-height", type=float, default=0.5,
        help="the person's least height, in frame heights (default 0.5: upscaled at most 2x)",
    )  # fmt: skip
    parser.add_argument(
        "--min-pose-change", type=float, default=0.05,
        help="a pose closer than this to the identity's last kept one (mean joint distance in "
        "body heights) is a near-duplicate (default 0.05)",
    )  # fmt: skip
    parser.add_argument("--every", type=int, default=1, help="use every n-th video frame")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preview", type=Path, help="write a contact sheet of the identities")
    parser.add_argument("--overwrite", action="store_true", help="replace a root made otherwise")
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    parser.add_argument("--runtime", default="auto", choices=("auto", "litert", "tflite"))
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet_tensorflow(args.verbose)
    from dptn_tf.data import DatasetError
    from dptn_tf.data.footage import FILTERS, DatasetSettings, FootageError, make_footage_dataset
    from dptn_tf.files.directory_lock import DirectoryInUseError

    try:
        settings = DatasetSettings(
            frame_size=args.frame,
            prefix=args.prefix,
            split=args.split,
            test_fraction=args.test_fraction,
            train_pairs=args.train_pairs,
            test_pairs=args.test_pairs,
            min_joints=args.min_joints,
            min_height=args.min_height,
            min_pose_change=args.min_pose_change,
            every=args.every,
            seed=args.seed,
        )
        summary = make_footage_dataset(
            args.inputs,
            args.root,
            settings,
            weights_dir=args.weights_dir,
            runtime=args.runtime,
            overwrite=args.overwrite,
            preview=args.preview,
            progress=not args.quiet,
        )
    except (FootageError, DatasetError, FileExistsError, DirectoryInUseError, ImportError,
            OSError, ValueError) as error:  # fmt: skip
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(summary_text(summary, FILTERS))
    print(f"wrote {args.root}" + (f" and {args.preview}" if args.preview else ""))
    return 0


def summary_text(summary: dict, filters: dict) -> str:
    """The summary as a person reads it: what was found, what each filter removed, what is left."""
    identities, images, pairs = summary["identities"], summary["images"], summary["pairs"]
    lines = [
        f"people detected: {summary['people_detected']}",
        *(f"  removed, {name} ({filters[name]}): {count}"
          for name, count in summary["removed"].items()),
        f"identities: {identities['train']} train, {identities['test']} test "
        f"({identities['unseen_in_test']} unseen in training)",
        f"images: {images['train']} train, {images['test']} test",
        f"pairs: {pairs['train']} train, {pairs['test']} test",
    ]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
