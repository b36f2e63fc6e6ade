r"""Evaluate generated test images with the paper's metrics; print a table and write JSON.

    python tools/evaluate.py --generated results/fashion --ground-truth data/fashion/test \
        --fid-real data/fashion/train --dataset fashion

Weight files are read from --weights-dir (else $DPTN_WEIGHTS_DIR, else ~/.keras/dptn_tf/) and
torch hub's cache; nothing is downloaded. The metrics whose files are present are computed (the
pixel metrics need none); every missing file is listed, with where to get it. See
docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from dptn_tf.console import add_verbose_flag, quiet_tensorflow

# `--help` answers before TensorFlow loads, so the choices are spelled out here;
# tests/metrics/test_evaluate.py checks them against dptn_tf.metrics' DATASETS, VARIANTS and
# DEFAULT_CACHE_DIR.
DATASETS = ("fashion", "market")
FID_VARIANTS = ("torchvision", "pytorch-fid")
FID_STATS_CACHE = "~/.keras/dptn_tf/fid_stats"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--generated", required=True, help="folder of <from>_2_<to>_vis.jpg results"
    )
    parser.add_argument(
        "--ground-truth", required=True, help="folder of the test images (<to>.jpg)"
    )
    parser.add_argument(
        "--fid-real", required=True, help="folder of real images for FID (the train split)"
    )
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument(
        "--weights-dir",
        help="folder of the metric weight files (default: $DPTN_WEIGHTS_DIR or ~/.keras/dptn_tf)",
    )
    parser.add_argument(
        "--fid-weights",
        default="torchvision",
        choices=FID_VARIANTS,
        help="torchvision: the paper's FID (default); pytorch-fid: the standard FID-Inception",
    )
    parser.add_argument(
        "--annotations",
        help="Market-1501 test keypoints for the masked LPIPS "
        "(default: market-annotation-test.csv beside the ground-truth folder)",
    )
    parser.add_argument(
        "--stats-cache",
        default=FID_STATS_CACHE,
        help="folder of cached real-set FID statistics",
    )
    parser.add_argument("--output", help="JSON file to write (default: <generated>/metrics.json)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def market_annotations(args: argparse.Namespace) -> Path | None:
    """The explicit annotation file, or Market's default beside the ground truth if it exists."""
    from dptn_tf.data.patn import annotation_path

    if args.annotations:
        return Path(args.annotations)
    if args.dataset != "market":
        return None
    default = Path(annotation_path(Path(args.ground_truth).resolve().parent, "test", "market"))
    if default.is_file():
        return default
    warnings.warn(f"masked LPIPS skipped: no {default} (pass --annotations)", stacklevel=2)
    return None


def format_table(result: dict) -> str:
    paper = result["paper"]
    lines = [f"{'metric':<14}{'value':>12}{'paper':>12}"]
    for name, value in result["metrics"].items():
        reference = f"{paper[name]:>12.4f}" if name in paper else f"{'':>12}"
        lines.append(f"{name:<14}{value:>12.4f}{reference}")
    for name in result["missing_weights"]:
        lines.append(f"{name:<14}{'skipped':>12}{paper.get(name, float('nan')):>12.4f}")
    images = ", ".join(f"{k} {v}" for k, v in result["images"].items())
    return "\n".join(lines + [f"images: {images}"])


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet_tensorflow(args.verbose)
    from dptn_tf.files.atomic import write_atomically
    from dptn_tf.metrics import evaluate
    from dptn_tf.metrics.evaluation import missing_weights_message

    try:
        result = evaluate(
            args.generated,
            args.ground_truth,
            args.fid_real,
            args.dataset,
            weights_dir=args.weights_dir,
            fid_weights=args.fid_weights,
            annotations=market_annotations(args),
            stats_cache_dir=args.stats_cache,
            verbose=not args.quiet,
        )
    except (FileNotFoundError, ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output = Path(args.output or Path(args.generated) / "metrics.json")
    write_atomically(output, json.dumps(result, indent=2))
    print(format_table(result))
    print(f"wrote {output}")
    if result["missing_weights"]:
        print(missing_weights_message(result["missing_weights"], args.weights_dir), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
