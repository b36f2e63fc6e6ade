"""dptn-tf and the official code trained side by side over a whole run, a few seeds each.

    python benchmarks/long_run_parity.py --jobs 2          # 1,000 steps, seeds 0-2, both precisions
    python benchmarks/long_run_parity.py --steps 200 --seeds 0 --precisions float32
    python benchmarks/long_run_parity.py --data-set small --lr 2e-4 --steps 2000 --init official \
        --precisions float32 --out build/long_run_parity_small     # the first comparison

Per seed, one fresh process: the official `DPTNModel` (its generator shrunk to `--ngf`, `--img-f`,
`--blocks`, the same structure otherwise) is built under `torch.manual_seed(seed)` and its
generator, discriminator and VGG19 weights are imported into dptn-tf (`dptn_tf.convert`), so both
start from the same point: the official code's own draw (`--init official`), or by default Keras'
(`--init keras`: the official networks redrawn Glorot-uniform first), from which the whole objective
learns within 1,000 steps here, while from the official one it does not. dptn-tf trains once per
`--precisions` entry: float32, and bfloat16 (its networks built under the `mixed_bfloat16` policy,
as `--mixed-precision` does on a CPU) from the same weights. Every step one batch of a synthetic
PATN training split, drawn by dptn-tf's own pipeline in the order `seed` fixes, goes to every side:
the official `optimize_parameters` (float32) and dptn-tf's `train_step` (the one `fit` runs). The
full objective (L1, LSGAN with the spectral-norm discriminator, VGG19 content and style); the rate
is constant over the first half and decays linearly over the second (the "lambda" policy, an epoch
being `--eval-every` steps). Every `--eval-every` steps both generators are validated on the fixed
test split with one metric function (`dptn_tf.training.model.image_metrics`: L1, SSIM, PSNR), and so
is copying the source (the figure a model must beat to have learned anything).

The official code is never part of this repository: it is extracted into a temporary folder
(`official.py`). Each seed's record is written to `--out/seed<N>.json` as it finishes, and a
rerun skips the seeds already there. Then the summary: did each side learn (below copying the
source at the end, and still falling over the last half)? At every validation point, is each
dptn-tf side's mean over the seeds within the official runs' spread (mean +/- 2 sd)? Loss terms
are compared over the last `--eval-every` steps. `--plots DIR` writes the curves with their seed
bands and the final sample grids (PNG, matplotlib).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from official import (
    add_official_arguments,
    import_official,
    nchw,
    official_options,
    official_root,
    official_step,
    redraw_as_keras,
    resize_generator,
    same_networks,
    same_vgg,
)
from run_records import band_table, plot_bands, plot_sample_grids, within_band

from dptn_tf.training.model import VALIDATION_NAMES

OFFICIAL = "official"
# dptn-tf's side for each precision it trains in (`--precisions`).
PRECISION_SIDES = {"float32": "dptn-tf", "bfloat16": "dptn-tf bfloat16"}
# The synthetic training sets (`--data-set`): `make_synthetic_dataset`'s arguments.
DATA_SETS = {
    # the ablation's (and train.py's synthetic) set: 200 train identities with 8 poses each
    # (11,200 ordered pairs) and 400 test pairs of 50 other identities
    "ablation": dict(
        num_train_identities=200, num_test_identities=50, poses_per_identity=8,
        test_pairs_per_identity=8,
    ),
    # the first comparison's: 60 identities with 6 poses (1,800 pairs), 64 test pairs of 16
    "small": dict(
        num_train_identities=60, num_test_identities=16, poses_per_identity=6,
        test_pairs_per_identity=4,
    ),
}  # fmt: skip
SAMPLE_PAIRS = 6  # test pairs in the final sample grids
# What a seed's record depends on: a record made with other values is not reused.
SETTINGS = (
    "data_set",
    "init",
    "precisions",
    "steps",
    "eval_every",
    "size",
    "batch",
    "ngf",
    "img_f",
    "blocks",
    "dis_layers",
    "lr",
    "lambda_rec",
    "lambda_g",
    "t_s_ratio",
)


def make_data(root: Path, size, data_set: str, seed: int = 0) -> Path:
    """The synthetic PATN set `data_set` (`DATA_SETS`) at `size`, written once."""
    from dptn_tf.data.synthetic import make_synthetic_dataset

    if not root.exists():
        make_synthetic_dataset(root, image_size=tuple(size), seed=seed, **DATA_SETS[data_set])
    return root


def sides_of(args) -> tuple[str, ...]:
    return (OFFICIAL, *(PRECISION_SIDES[p] for p in args.precisions))


def run_seed(args, official_root: Path, seed: int) -> dict:
    """Every side trained from one seed's weights on one seed's batch order (a fresh process)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    import torch

    from machine import configure_threads

    configure_threads(args.threads)
    torch.set_num_threads(args.threads)
    import keras
    import tensorflow as tf

    from dptn_tf.config import DataConfig, LossConfig, TrainConfig
    from dptn_tf.data import make_dataset
    from dptn_tf.training import DPTN, make_optimizers
    from dptn_tf.training.model import image_metrics

    height, width = args.size
    losses = {"lambda_rec": args.lambda_rec, "lambda_g": args.lambda_g, "t_s_ratio": args.t_s_ratio}
    epochs = args.steps // args.eval_every
    schedule = {"niter": epochs - epochs // 2, "niter_decay": epochs // 2}
    dptn_model = import_official(official_root, torch)
    resize_generator(dptn_model, ngf=args.ngf, img_f=args.img_f, num_blocks=args.blocks)
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the model's name
        official = dptn_model.DPTNModel(
            official_options(height, width, args.dis_layers, losses, lr=args.lr, **schedule)
        )
    if args.init == "keras":
        redraw_as_keras(official, torch)

    def dptn_tf_side(precision: str):
        """dptn-tf holding the official model's initial weights, built in `precision` (the
        networks take the global policy when they are built; it is float32 again after)."""
        keras.mixed_precision.set_global_policy(
            "mixed_bfloat16" if precision == "bfloat16" else "float32"
        )
        try:
            generator, discriminator = same_networks(official)
            model = DPTN(
                generator,
                discriminator,
                same_vgg(official, torch),
                LossConfig(**losses, vgg_weights="none"),
            )
            model.compile(*make_optimizers(TrainConfig(lr=args.lr, **schedule), args.eval_every))
        finally:
            keras.mixed_precision.set_global_policy("float32")
        train_step = tf.function(model.train_step)
        generate = tf.function(lambda inputs: model.target_generator(inputs, training=False))

        def step(batch):
            model.reset_metrics()  # the logs are then this step's values, not running means
            logs = train_step({k: tf.constant(v) for k, v in batch.items()})
            return {n: float(v) for n, v in logs.items()}

        def images(batch):
            keys = ("source_image", "source_pose", "target_pose")
            return generate({k: tf.constant(batch[k]) for k in keys}).numpy()

        return step, images, generator.dtype_policy.name

    data = DataConfig(
        root=str(args.data),
        load_size=(height, width),
        old_size=(height, width),
        batch_size=args.batch,
        seed=seed,
        deterministic=True,
    )
    image_keys = ("source_image", "source_pose", "target_image", "target_pose")
    batches = ({k: batch[k].numpy() for k in image_keys} for batch in make_dataset(data, "train"))
    test = [
        {k: batch[k].numpy() for k in image_keys}
        for batch in make_dataset(data, "test", training=False)
    ]

    def official_training_step(batch):
        terms = official_step(official, torch, batch)
        ratio = args.t_s_ratio
        terms["total_gen"] = (
            ratio * (terms["app_gen_t"] + terms["content_gen_t"] + terms["style_gen_t"])
            + (1 - ratio) * (terms["app_gen_s"] + terms["content_gen_s"] + terms["style_gen_s"])
            + terms["ad_gen_t"]
        )
        return terms

    def official_images(batch):
        with torch.no_grad():
            inputs = [nchw(torch, batch[k]) for k in ("source_image", "source_pose", "target_pose")]
            return official.net_G(*inputs, False)[0].numpy().transpose(0, 2, 3, 1)

    def validate(images) -> dict:
        sums, count = dict.fromkeys(VALIDATION_NAMES, 0.0), 0
        for batch in test:
            figures = image_metrics(images(batch), batch["target_image"])
            for name in VALIDATION_NAMES:
                sums[name] += float(tf.reduce_sum(figures[name]))
            count += len(batch["target_image"])
        return {name: total / count for name, total in sums.items()}

    sides, policies = {OFFICIAL: (official_training_step, official_images)}, {}
    for precision in args.precisions:
        train, images, policies[PRECISION_SIDES[precision]] = dptn_tf_side(precision)
        sides[PRECISION_SIDES[precision]] = (train, images)
    record = {
        "seed": seed,
        "settings": settings(args),
        "policies": policies,  # the policy each dptn-tf generator computes in
        "copy_source": validate(lambda batch: batch["source_image"]),
        "losses": {s: {} for s in sides},
        "validation": {s: {n: [] for n in VALIDATION_NAMES} for s in sides},
        "validation_steps": [],
        "seconds": dict.fromkeys(sides, 0.0),
    }

    def validate_sides(step):
        record["validation_steps"].append(step)
        for side, (_, images) in sides.items():
            for name, value in validate(images).items():
                record["validation"][side][name].append(value)

    validate_sides(0)
    for step in range(1, args.steps + 1):
        batch = next(batches)
        for side, (train, _) in sides.items():
            start = time.perf_counter()
            terms = train(batch)
            record["seconds"][side] += time.perf_counter() - start
            for name, value in terms.items():
                record["losses"][side].setdefault(name, []).append(value)
        if step % args.eval_every == 0:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints the new rate
                official.update_learning_rate()
            validate_sides(step)
            figures = ", ".join(
                f"{side} {record['validation'][side]['l1'][-1]:.4f}" for side in sides
            )
            print(f"seed {seed} step {step}: L1 {figures}", file=sys.stderr, flush=True)
    samples = {k: np.concatenate([batch[k] for batch in test])[:SAMPLE_PAIRS] for k in test[0]}
    record["samples"] = {
        "source_image": samples["source_image"].tolist(),
        "target_image": samples["target_image"].tolist(),
        **{side: images(samples).tolist() for side, (_, images) in sides.items()},
    }
    return record


def settings(args) -> dict:
    return {name: getattr(args, name) for name in SETTINGS}


def recorded(path: Path, args) -> dict | None:
    """The record at `path` if it was made with these settings."""
    if path.exists():
        record = json.loads(path.read_text())
        if record.get("settings") == settings(args):
            return record
    return None


def loss_names(records: list[dict]) -> list[str]:
    """The terms every side reports (dptn-tf leaves out those a setting switches off)."""
    sides = records[0]["losses"]
    return [n for n in sides[OFFICIAL] if all(n in terms for terms in sides.values())]


def learned(curves: np.ndarray, copy_source: float) -> str:
    """Did a side learn: its mean validation L1 over the seeds at the end against copying the
    source, and against the middle of the run (still falling)?"""
    mean = curves.mean(axis=0)
    middle = mean[len(mean) // 2]
    return (
        f"L1 at the end {mean[-1]:.4f} ({'below' if mean[-1] < copy_source else 'NOT below'} "
        f"copying the source, {copy_source:.4f}); at mid-run {middle:.4f} "
        f"({'falling' if mean[-1] < middle else 'NOT falling'} over the second half)"
    )


def summarize(records: list[dict], args) -> str:
    """Whether each side learned; each dptn-tf side against the official band at every
    validation point and the paired differences at the end; the loss terms over the last epoch;
    the seconds per step."""
    sides = sides_of(args)
    lines = [
        f"{len(records)} seeds per side ({', '.join(str(r['seed']) for r in records)}); "
        "official mean +/- sd (band: +/- 2 sd) against each dptn-tf side's mean +/- sd"
    ]
    steps = records[0]["validation_steps"]
    validation = {
        side: {
            name: np.array([r["validation"][side][name] for r in records])
            for name in VALIDATION_NAMES
        }
        for side in sides
    }
    copy_source = float(np.mean([r["copy_source"]["l1"] for r in records]))
    for side in sides:
        lines.append(f"{side}: {learned(validation[side]['l1'], copy_source)}")
    trained = np.asarray(steps) > 0  # step 0: the same weights on every side
    window = args.eval_every
    last = {
        side: {
            name: np.array([[np.mean(r["losses"][side][name][-window:])] for r in records])
            for name in loss_names(records)
        }
        for side in sides
    }
    for side in sides[1:]:
        names = (OFFICIAL, side)
        lines.append(
            band_table(
                f"validation, {side}",
                steps,
                validation[OFFICIAL],
                validation[side],
                every=1,
                names=names,
            )
        )
        inside = within_band(validation[OFFICIAL], validation[side])
        if inside is None:
            lines.append("one seed per side: no spread, so no band criterion")
        else:
            count = sum(int(v[trained].sum()) for v in inside.values())
            lines.append(
                f"{side}'s mean inside the official band at {count} of "
                f"{int(trained.sum()) * len(inside)} validation points after step 0; at the "
                "end: " + ", ".join(f"{n} {'yes' if inside[n][-1] else 'NO'}" for n in inside)
            )
            differences = {
                name: validation[side][name][:, -1] - validation[OFFICIAL][name][:, -1]
                for name in VALIDATION_NAMES
            }
            lines.append(
                f"paired difference at the end ({side} - official, same seed; per seed, then "
                "mean +/- sd): "
                + "; ".join(
                    f"{name} {' '.join(f'{v:+.4f}' for v in d)} = {d.mean():+.4f} +/- "
                    f"{d.std(ddof=1):.4f}"
                    for name, d in differences.items()
                )
            )
        lines.append(
            band_table(
                f"loss terms, mean of the last {window} steps, {side}",
                [args.steps],
                last[OFFICIAL],
                last[side],
                names=names,
            )
        )
    steps_run = args.steps * len(records)
    seconds = {side: sum(r["seconds"][side] for r in records) / steps_run for side in sides}
    lines.append(
        f"training seconds per step: official {seconds[OFFICIAL]:.3f}, "
        + ", ".join(
            f"{side} {seconds[side]:.3f} ({seconds[OFFICIAL] / seconds[side]:.2f}x)"
            for side in sides[1:]
        )
        + f", the sides alternating in one process on {args.threads} thread(s) (dptn-tf's "
        "include tracing its step once)"
    )
    return "\n".join(lines)


def plot(records: list[dict], args) -> None:
    sides = sides_of(args)
    steps = records[0]["validation_steps"]
    curves = {}
    for name in VALIDATION_NAMES:
        curves[f"validation {name}"] = (
            steps,
            {side: np.array([r["validation"][side][name] for r in records]) for side in sides},
        )
    train_steps = np.arange(1, args.steps + 1)
    for name in loss_names(records):
        curves[name] = (
            train_steps,
            {side: np.array([r["losses"][side][name] for r in records]) for side in sides},
        )
    name = args.plots / f"{args.plot_prefix}_curves.png"
    plot_bands(
        curves,
        name,
        title=f"{args.size[0]}x{args.size[1]}, batch {args.batch}, lr {args.lr:g}, "
        f"{len(records)} seeds per side",
    )
    shown = max(records, key=lambda r: len(r["samples"]["source_image"]))
    plot_sample_grids(
        {k: np.array(v) for k, v in shown["samples"].items()},
        sides,
        args.plots / f"{args.plot_prefix}_samples.png",
        title=f"seed {shown['seed']}, step {args.steps}",
    )


def run_worker(args, argv, root: Path, data: Path, seed: int) -> dict:
    """One seed in a fresh process (its own policies and threads), recorded under `--out`."""
    path = args.out / f"seed{seed}.json"
    if recorded(path, args) is None:
        command = [
            sys.executable,
            __file__,
            *(argv if argv is not None else sys.argv[1:]),
            "--official",
            str(root),
            "--data",
            str(data),
            "--worker",
            str(seed),
        ]
        output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
        line = next(x for x in output.splitlines() if x.startswith("RESULT "))
        temporary = path.with_suffix(".tmp")
        temporary.write_text(line[len("RESULT ") :])
        temporary.replace(path)
    return recorded(path, args)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_official_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/long_run_parity"),
        help="records of the seeds (reused when there) and the synthetic data",
    )
    parser.add_argument("--plots", type=Path, help="folder for the PNG figures")
    parser.add_argument(
        "--plot-prefix", default="long_run_parity", help="the figures' file names start so"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--precisions",
        nargs="+",
        choices=list(PRECISION_SIDES),
        default=list(PRECISION_SIDES),
        help="what dptn-tf trains in beside the official float32 (default: both)",
    )
    parser.add_argument("--data-set", choices=list(DATA_SETS), default="ablation")
    parser.add_argument(
        "--init",
        choices=("official", "keras"),
        default="keras",
        help="every side's initial weights: the official code's draw, or Keras' defaults "
        "(model.init)",
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=[64, 32], metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--img-f", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--dis-layers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--lambda-rec", type=float, default=5.0)
    parser.add_argument("--lambda-g", type=float, default=2.0)
    parser.add_argument("--t-s-ratio", type=float, default=0.5)
    parser.add_argument(
        "--jobs", type=int, default=1, help="seeds trained at once, each in its own process"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="threads per seed (default: the cores, shared out among --jobs)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps % args.eval_every or args.steps < 2 * args.eval_every:
        parser.error("--steps must be a multiple of --eval-every, at least two of them")
    if args.threads is None:
        args.threads = max(1, len(os.sched_getaffinity(0)) // args.jobs)

    with official_root(args) as root:
        if args.worker is not None:
            record = run_seed(args, root, args.worker)
            print("RESULT " + json.dumps(record))
            return
        args.out.mkdir(parents=True, exist_ok=True)
        data = make_data(
            args.out / f"data_{args.data_set}_{args.size[0]}x{args.size[1]}",
            args.size,
            args.data_set,
        )
        started = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            records = list(
                pool.map(lambda seed: run_worker(args, argv, root, data, seed), args.seeds)
            )
        print(f"wall time {time.perf_counter() - started:.0f} s (seeds already recorded: reused)")
        print(summarize(records, args))
        if args.plots:
            plot(records, args)
            print(f"figures: {args.plots}")


if __name__ == "__main__":
    main()
