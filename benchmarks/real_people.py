"""A model trained on real people: its figures on held-out frames of people it saw and on people
it never saw, each against copying the source, and its pictures.

    python train.py --config configs/video.yaml                  # data/vtest, docs/real-people.md
    python benchmarks/real_people.py --run runs/video --pictures docs/images

The root must come from `tools/make_dataset.py --split both`, which writes the test pairs of each
group (`<prefix>-pairs-test-seen.csv`, `-unseen.csv`). The figures are the monitoring ones of
`train.py`'s validation (L1, `tf.image` SSIM, PSNR on [0, 1]), plus LPIPS where its two weight
files are present (else it says which file is missing). `--pictures DIR` writes
`real_people_grid.png` (source, target pose, ground truth, generated, for test pairs of both
groups), `real_people_gallery.png` (one unseen person in the poses of the demo's gallery, which
is the root's test split) and `real_people_attention.png` (where the last TTB looks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GROUPS = ("seen", "unseen")


def group_index(index, root: Path, prefix: str, group: str):
    """The test split restricted to the pairs of one group's CSV."""
    from dptn_tf.data import read_pairs

    wanted = [(a, b) for _, a, b in read_pairs(root / f"{prefix}-pairs-test-{group}.csv")]
    position = {pair: i for i, pair in enumerate(index.pair_names())}
    return index.subset([position[pair] for pair in wanted])


def figures(generator, config, index, lpips) -> dict:
    """Mean L1, SSIM, PSNR (and LPIPS) of the generated targets and of the copied sources."""
    from dptn_tf.data import make_dataset
    from dptn_tf.models import INPUT_NAMES
    from dptn_tf.training import image_metrics

    sums = {"generated": {}, "copy_source": {}}
    count = 0
    for batch in make_dataset(config.data, "test", index=index):
        inputs = {k: batch[k] for k in INPUT_NAMES}
        outputs = {
            "generated": generator(inputs, training=False),
            "copy_source": inputs["source_image"],
        }
        for side, images in outputs.items():
            values = image_metrics(images, batch["target_image"])
            if lpips is not None:
                values["lpips"] = lpips([images, batch["target_image"]])
            for name, value in values.items():
                sums[side][name] = sums[side].get(name, 0.0) + float(np.sum(value))
        count += int(batch["source_image"].shape[0])
    result = {side: {k: v / count for k, v in totals.items()} for side, totals in sums.items()}
    return {**result, "pairs": count}


def load_lpips_or_reason(weights_dir):
    from dptn_tf.metrics.lpips import load_lpips

    try:
        return load_lpips(weights_dir)[0], None
    except FileNotFoundError as error:
        return None, str(error).splitlines()[0]


def pictures(generator, config, index, groups: dict, out: Path) -> None:
    import tensorflow as tf

    from dptn_tf.cli.visualize import attention_picture, comparison_grid
    from dptn_tf.data import one_batch, read_annotations
    from dptn_tf.files.atomic import write_atomically
    from dptn_tf.inference.generation import as_inference_generator
    from dptn_tf.models import INPUT_NAMES
    from dptn_tf.pose import keypoints_to_heatmaps, scale_keypoints
    from dptn_tf.visualization import draw_skeleton, image_grid, to_uint8

    def save(name, picture):
        write_atomically(out / name, tf.io.encode_png(picture).numpy())
        print(f"wrote {out / name}")

    grid = [comparison_grid(generator, config.data, split, 3, 2) for split in groups.values()]
    save("real_people_grid.png", np.concatenate(grid, axis=0))

    # One person (unseen where there are such) moved into eight poses of the gallery: other
    # people's, of the test split.
    unseen = groups.get("unseen", next(iter(groups.values())))
    source_name = unseen.pair_names()[0][0]
    poses = read_annotations(Path(index.root) / f"{index.prefix}-annotation-test.csv")
    targets = [n for n in sorted(poses) if n.rsplit("_", 1)[0] != source_name.rsplit("_", 1)[0]]
    targets = targets[:: max(1, len(targets) // 8)][:8]
    batch = one_batch(config.data, unseen.subset([0]))
    load_size = tuple(config.data.load_size)
    infer = as_inference_generator(generator)
    tiles = [to_uint8(batch["source_image"][0])]
    skeletons = [np.full_like(tiles[0], 255)]
    inputs = {k: batch[k] for k in INPUT_NAMES}
    for name in targets:
        heatmaps = keypoints_to_heatmaps(
            poses[name][None].astype(np.float64), config.data.old_size, load_size
        )
        inputs["target_pose"] = tf.cast(heatmaps, inputs["source_pose"].dtype)
        tiles.append(to_uint8(infer(inputs, training=False)[0]))
        keypoints = scale_keypoints(poses[name], config.data.old_size, load_size).numpy()
        skeletons.append(draw_skeleton(keypoints, load_size))
    save("real_people_gallery.png", image_grid(skeletons + tiles, columns=len(tiles), scale=2))

    pair = unseen.pair_names()[0]
    height, width = load_size
    points = [(height // 4, width // 2), (height // 2, width // 2), (3 * height // 4, width // 2)]
    save(
        "real_people_attention.png",
        attention_picture(generator, config.data, index, pair, points, 3),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="the run directory of train.py")
    parser.add_argument("--weights-dir", type=Path, help="where LPIPS' two files are")
    parser.add_argument("--pictures", type=Path, help="folder for the three PNG pictures")
    args = parser.parse_args(argv)

    from dptn_tf.config import load_config
    from dptn_tf.data import load_split
    from dptn_tf.inference.generation import as_inference_generator, load_generator

    config = load_config(args.run / "config.yaml")
    root, prefix = Path(config.data.root), config.data.prefix
    index = load_split(root, "test", prefix, old_size=config.data.old_size)
    generator = load_generator(args.run / "generator.keras")
    infer = as_inference_generator(generator)
    lpips, missing = load_lpips_or_reason(args.weights_dir)
    groups = {group: group_index(index, root, prefix, group) for group in GROUPS}
    for group in [g for g, split in groups.items() if not split.num_pairs]:
        print(f"{root}: no test pairs of {group} people", file=sys.stderr)
        del groups[group]
    results = {group: figures(infer, config, split, lpips) for group, split in groups.items()}
    results["lpips"] = "computed" if lpips is not None else f"not computed: {missing}"
    summary = json.loads((root / "summary.json").read_text())
    names = ["l1", "ssim", "psnr"] + (["lpips"] if lpips is not None else [])
    print(f"| test pairs | {' | '.join(names)} |\n|---|" + "---|" * len(names))
    for group in groups:
        for side in ("generated", "copy_source"):
            row = results[group][side]
            label = f"{group} people ({results[group]['pairs']}), {side.replace('_', ' ')}"
            print(f"| {label} | " + " | ".join(f"{row[n]:.4f}" for n in names) + " |")
    print(f"LPIPS: {results['lpips']}; root: {summary['identities']}", file=sys.stderr)
    (args.run / "real_people.json").write_text(json.dumps(results, indent=1) + "\n")
    if args.pictures:
        pictures(generator, config, index, groups, args.pictures)


if __name__ == "__main__":
    main()
