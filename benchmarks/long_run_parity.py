"""dptn-tf and the official code trained side by side over a whole run, a few seeds each.

    python benchmarks/long_run_parity.py                                  # 2,000 steps, seeds 0-2
    python benchmarks/long_run_parity.py --steps 200 --seeds 0 --out build/long_run_parity

Per seed, one fresh process: the official `DPTNModel` (its generator shrunk to `--ngf`,
`--img-f`, `--blocks`, the same structure otherwise) is built under `torch.manual_seed(seed)`
and its generator, discriminator and VGG19 weights are imported into dptn-tf (`dptn_tf.convert`),
so both start from the same point. Every step one batch of a synthetic PATN training split,
drawn by dptn-tf's own pipeline in the order `seed` fixes, goes to both: the official
`optimize_parameters` and dptn-tf's `train_step` (the one `fit` runs). The full objective (L1,
LSGAN with the spectral-norm discriminator, VGG19 content and style) in float32; the rate is
constant over the first half and decays linearly over the second (the "lambda" policy, an epoch
being `--eval-every` steps). Every `--eval-every` steps both generators are validated on the fixed
test split with one metric function (`dptn_tf.training.model.image_metrics`: L1, SSIM, PSNR).

The official code is never part of this repository: it is extracted into a temporary folder
(`official.py`). Each seed's record is written to `--out/seed<N>.json` as it finishes, and a
rerun skips the seeds already there. Then the summary: at every validation point, is dptn-tf's
mean over the seeds within the official runs' spread (mean +/- 2 sd)? Loss terms are compared
over the last `--eval-every` steps. `--plots DIR` writes the curves with their seed bands and the
final sample grids (PNG, matplotlib).
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
from pathlib import Path

import numpy as np
from official import (
    add_official_arguments,
    import_official,
    nchw,
    official_options,
    official_root,
    official_step,
    resize_generator,
    same_networks,
    same_vgg,
)
from run_records import band_table, plot_bands, plot_sample_grids, within_band

from dptn_tf.training.model import VALIDATION_NAMES

SIDES = ("official", "dptn-tf")
SAMPLE_PAIRS = 6  # test pairs in the final sample grids
# What a seed's record depends on: a record made with other values is not reused.
SETTINGS = (
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


def make_data(root: Path, size, seed: int = 0) -> Path:
    """A synthetic PATN set at `size`, written once: 60 train identities with 6 poses each
    (1,800 ordered pairs) and 64 test pairs of 16 other identities."""
    from dptn_tf.data.synthetic import make_synthetic_dataset

    if not root.exists():
        make_synthetic_dataset(
            root,
            image_size=tuple(size),
            num_train_identities=60,
            num_test_identities=16,
            poses_per_identity=6,
            test_pairs_per_identity=4,
            seed=seed,
        )
    return root


def run_seed(args, official_root: Path, seed: int) -> dict:
    """Both sides trained from one seed's weights on one seed's batch order (a fresh process)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    import torch

    from machine import configure_threads

    configure_threads(args.threads)
    torch.set_num_threads(args.threads)
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
    generator, discriminator = same_networks(official)
    ours = DPTN(
        generator,
        discriminator,
        same_vgg(official, torch),
        LossConfig(**losses, vgg_weights="none"),
    )
    ours.compile(*make_optimizers(TrainConfig(lr=args.lr, **schedule), args.eval_every))
    train_step = tf.function(ours.train_step)
    generate = tf.function(lambda inputs: ours.target_generator(inputs, training=False))

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

    def ours_step(batch):
        ours.reset_metrics()  # the logs are then this step's values, not running means
        logs = train_step({k: tf.constant(v) for k, v in batch.items()})
        return {n: float(v) for n, v in logs.items()}

    def official_images(batch):
        with torch.no_grad():
            inputs = [nchw(torch, batch[k]) for k in ("source_image", "source_pose", "target_pose")]
            return official.net_G(*inputs, False)[0].numpy().transpose(0, 2, 3, 1)

    def ours_images(batch):
        inputs = {k: tf.constant(batch[k]) for k in ("source_image", "source_pose", "target_pose")}
        return generate(inputs).numpy()

    def validate(images) -> dict:
        sums, count = dict.fromkeys(VALIDATION_NAMES, 0.0), 0
        for batch in test:
            figures = image_metrics(images(batch), batch["target_image"])
            for name in VALIDATION_NAMES:
                sums[name] += float(tf.reduce_sum(figures[name]))
            count += len(batch["target_image"])
        return {name: total / count for name, total in sums.items()}

    sides = {
        "official": (official_training_step, official_images),
        "dptn-tf": (ours_step, ours_images),
    }
    record = {
        "seed": seed,
        "settings": settings(args),
        "losses": {s: {} for s in sides},
        "validation": {s: {n: [] for n in VALIDATION_NAMES} for s in sides},
        "validation_steps": [],
        "seconds": dict.fromkeys(sides, 0.0),
    }

    def validate_both(step):
        record["validation_steps"].append(step)
        for side, (_, images) in sides.items():
            for name, value in validate(images).items():
                record["validation"][side][name].append(value)

    validate_both(0)
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
            validate_both(step)
            print(
                f"seed {seed} step {step}: L1 official "
                f"{record['validation']['official']['l1'][-1]:.4f}, dptn-tf "
                f"{record['validation']['dptn-tf']['l1'][-1]:.4f}",
                file=sys.stderr,
                flush=True,
            )
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
    """The terms both sides report (dptn-tf leaves out those a setting switches off)."""
    return [n for n in records[0]["losses"]["official"] if n in records[0]["losses"]["dptn-tf"]]


def summarize(records: list[dict], args) -> str:
    """The criterion at every validation point, the paired differences at the end, the loss
    terms over the last epoch and the seconds per step."""
    lines = [
        f"{len(records)} seeds per side ({', '.join(str(r['seed']) for r in records)}); "
        "official mean +/- sd (band: +/- 2 sd) against dptn-tf's mean +/- sd"
    ]
    steps = records[0]["validation_steps"]
    validation = {
        side: {
            name: np.array([r["validation"][side][name] for r in records])
            for name in VALIDATION_NAMES
        }
        for side in SIDES
    }
    lines.append(
        band_table(
            "validation",
            steps,
            validation["official"],
            validation["dptn-tf"],
            every=max(1, len(steps) // 5),
        )
    )
    inside = within_band(validation["official"], validation["dptn-tf"])
    if inside is None:
        lines.append("one seed per side: no spread, so no band criterion")
    else:
        trained = np.asarray(steps) > 0  # step 0: the same weights on both sides
        count = sum(int(v[trained].sum()) for v in inside.values())
        lines.append(
            f"dptn-tf's mean inside the official band at {count} of "
            f"{sum(int(trained.sum()) for _ in inside)} validation points after step 0; at "
            "the end: "
            + ", ".join(f"{n} {'yes' if inside[n][-1] else 'NO'}" for n in VALIDATION_NAMES)
        )
        differences = {
            name: validation["dptn-tf"][name][:, -1] - validation["official"][name][:, -1]
            for name in VALIDATION_NAMES
        }
        lines.append(
            "paired difference at the end (dptn-tf - official, same seed; mean +/- sd over the "
            "seeds): "
            + ", ".join(
                f"{name} {d.mean():+.4f} +/- {d.std(ddof=1):.4f}" for name, d in differences.items()
            )
        )
    window = args.eval_every
    last = {
        side: {
            name: np.array([[np.mean(r["losses"][side][name][-window:])] for r in records])
            for name in loss_names(records)
        }
        for side in SIDES
    }
    lines.append(
        band_table(
            f"loss terms, mean of the last {window} steps",
            [args.steps],
            last["official"],
            last["dptn-tf"],
        )
    )
    steps_run = args.steps * len(records)
    seconds = {side: sum(r["seconds"][side] for r in records) / steps_run for side in SIDES}
    lines.append(
        f"training seconds per step: official {seconds['official']:.3f}, dptn-tf "
        f"{seconds['dptn-tf']:.3f} ({seconds['official'] / seconds['dptn-tf']:.2f}x), the two "
        f"alternating in one process on {args.threads} thread(s) (dptn-tf's includes tracing "
        "its step once)"
    )
    return "\n".join(lines)


def plot(records: list[dict], args) -> None:
    steps = records[0]["validation_steps"]
    curves = {}
    for name in VALIDATION_NAMES:
        curves[f"validation {name}"] = (
            steps,
            {side: np.array([r["validation"][side][name] for r in records]) for side in SIDES},
        )
    train_steps = np.arange(1, args.steps + 1)
    for name in loss_names(records):
        curves[name] = (
            train_steps,
            {side: np.array([r["losses"][side][name] for r in records]) for side in SIDES},
        )
    plot_bands(
        curves,
        args.plots / "long_run_parity_curves.png",
        title=f"{args.size[0]}x{args.size[1]}, batch {args.batch}, {len(records)} seeds per side",
    )
    shown = max(records, key=lambda r: len(r["samples"]["source_image"]))
    plot_sample_grids(
        {k: np.array(v) for k, v in shown["samples"].items()},
        SIDES,
        args.plots / "long_run_parity_samples.png",
        title=f"seed {shown['seed']}, step {args.steps}",
    )


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
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=[64, 32], metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--img-f", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--dis-layers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--lambda-rec", type=float, default=5.0)
    parser.add_argument("--lambda-g", type=float, default=2.0)
    parser.add_argument("--t-s-ratio", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps % args.eval_every or args.steps < 2 * args.eval_every:
        parser.error("--steps must be a multiple of --eval-every, at least two of them")

    with official_root(args) as root:
        if args.worker is not None:
            record = run_seed(args, root, args.worker)
            print("RESULT " + json.dumps(record))
            return
        args.out.mkdir(parents=True, exist_ok=True)
        data = make_data(args.out / f"data_{args.size[0]}x{args.size[1]}", args.size)
        records, started = [], time.perf_counter()
        for seed in args.seeds:
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
                output = subprocess.run(
                    command, check=True, stdout=subprocess.PIPE, text=True
                ).stdout
                line = next(x for x in output.splitlines() if x.startswith("RESULT "))
                temporary = path.with_suffix(".tmp")
                temporary.write_text(line[len("RESULT ") :])
                temporary.replace(path)
            records.append(recorded(path, args))
        print(f"wall time {time.perf_counter() - started:.0f} s (seeds already recorded: reused)")
        print(summarize(records, args))
        if args.plots:
            plot(records, args)
            print(f"figures: {args.plots}")


if __name__ == "__main__":
    main()
