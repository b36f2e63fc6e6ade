"""The paper's ablations on synthetic people: full DPTN against DPTN without each of its parts.

    python benchmarks/ablation.py                            # 4 variants x seeds 0-2, 1,000 steps
    python benchmarks/ablation.py --seeds 0 --set train.niter=1 train.niter_decay=1

Each run is `train.py` itself (its data pipeline, `fit`, validation, backups) on
`configs/ablation.yaml`, in `--out/<variant>/seed<N>`, with `train.seed` and `data.seed` set to
the seed (initial weights and batch order; a variant without a part draws the other parts'
weights in another order) and the same step budget for every variant. The variants:
  full             the whole objective, both tasks, the PTM
  no-source-task   the source-to-source task off (`loss.t_s_ratio=1`: its terms weighted 0)
  no-ptm           no Pose Transformer Module (`model.pose_transformer=false`: F_st decoded
                   directly)
  no-gan-no-vgg    the adversarial and both VGG terms off (L1 alone)
A finished run is not trained again, and a killed one resumes from its last backup, as
`train.py` does. Prints the final figures over the whole test split (mean +/- sd over the seeds,
and the difference from the full model), and with `--plots DIR` the validation curves with
their seed bands.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from run_records import format_mean_sd, mean_sd, plot_bands

from dptn_tf.training.model import VALIDATION_NAMES

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "full": [],
    "no-source-task": ["loss.t_s_ratio=1"],
    "no-ptm": ["model.pose_transformer=false"],
    "no-gan-no-vgg": ["loss.lambda_g=0", "loss.lambda_content=0", "loss.lambda_style=0"],
}


def train(run_dir: Path, seed: int, overrides: list[str], args) -> dict:
    """One `train.py` run (resumed or skipped when its directory says so) -> validation.json."""
    figures = run_dir / "validation.json"
    command = [
        sys.executable,
        str(REPO / "train.py"),
        "--config",
        str(args.config),
        "--run-dir",
        str(run_dir),
        "--set",
        f"train.seed={seed}",
        "--set",
        f"data.seed={seed}",
        "--set",
        f"data.root={args.data}",
    ]
    for override in [*overrides, *args.set]:
        command += ["--set", override]
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir.with_suffix(".log"), "a") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    return json.loads(figures.read_text())


def validation_curves(run_dir: Path) -> tuple[list[int], dict]:
    """The run's validation figures at each epoch's end, from its TensorBoard logs."""
    import tensorflow as tf

    values = {}
    for path in sorted((run_dir / "logs" / "validation").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag.startswith("Validation/"):
                    name = value.tag[len("Validation/") :]
                    values.setdefault(name, {})[event.step] = float(tf.make_ndarray(value.tensor))
    steps = sorted(values[VALIDATION_NAMES[0]])
    return steps, {name: [values[name][s] for s in steps] for name in VALIDATION_NAMES}


def table(results: dict) -> str:
    """Final figures per variant: mean +/- sd over the seeds, and the change from `full`."""
    lines = [
        f"{'variant':<16}"
        + "".join(f"{name.upper():>22}{'vs full':>9}" for name in VALIDATION_NAMES)
    ]
    full = {name: np.mean([r[name] for r in results["full"]]) for name in VALIDATION_NAMES}
    for variant, runs in results.items():
        row = f"{variant:<16}"
        for name in VALIDATION_NAMES:
            mean, sd = mean_sd(np.array([[r[name]] for r in runs]))
            change = "" if variant == "full" else f"{mean[0] - full[name]:+.4f}"
            row += f"{format_mean_sd(mean[0], sd[0]):>22}{change:>9}"
        lines.append(row)
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "ablation.yaml")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "build" / "ablation",
        help="run directories (reused and resumed) and the data",
    )
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="overrides for every run (the step budget: train.niter, ...)",
    )
    parser.add_argument("--data", type=Path, help="the PATN data set (default: OUT/data)")
    parser.add_argument("--plots", type=Path, help="folder for the PNG figure")
    args = parser.parse_args(argv)
    if "full" not in args.variants:
        parser.error("--variants: 'full' is what the others are compared with")
    args.out = args.out.resolve()
    # `train.py` makes the synthetic set at the configuration's size when it is missing.
    args.data = (args.data or args.out / "data").resolve()

    started = time.perf_counter()
    results, curves, finals = {}, {}, []
    for variant in args.variants:
        for seed in args.seeds:
            run_dir = args.out / variant / f"seed{seed}"
            start = time.perf_counter()
            figures = train(run_dir, seed, VARIANTS[variant], args)
            results.setdefault(variant, []).append(figures["generated"])
            finals.append(figures)
            steps, run_curves = validation_curves(run_dir)
            curves.setdefault(variant, []).append(run_curves)
            print(
                f"{variant} seed {seed}: L1 {figures['generated']['l1']:.4f} "
                f"({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    budgets = {run["step"] for run in finals}
    if len(budgets) > 1:
        raise SystemExit(
            f"the runs in {args.out} ended at different steps {sorted(budgets)}: "
            "they were made with other settings; use another --out"
        )
    baseline = figures["copy_source"]
    print(
        f"{len(args.seeds)} seeds per variant, step {figures['step']}, "
        f"{figures['test_pairs']} test pairs; wall time {time.perf_counter() - started:.0f} s"
    )
    print(table(results))
    print(
        f"{'copy the source':<16}"
        + "".join(f"{baseline[name]:>22.4f}{'':>9}" for name in VALIDATION_NAMES)
    )
    if args.plots:
        panels = {
            f"validation {name}": (
                steps,
                {variant: np.array([c[name] for c in runs]) for variant, runs in curves.items()},
            )
            for name in VALIDATION_NAMES
        }
        plot_bands(
            panels,
            args.plots / "ablation_curves.png",
            columns=3,
            title=f"ablation, {len(args.seeds)} seeds per variant (band: +/- 2 sd)",
        )
        print(f"figure: {args.plots / 'ablation_curves.png'}")


if __name__ == "__main__":
    main()
