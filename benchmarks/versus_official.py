"""dptn-tf side by side with the official PyTorch code: same weights, same batches, same process.

    python benchmarks/versus_official.py                        # official code from the mirror
    python benchmarks/versus_official.py --official PATH        # a checkout of the official repo
    python benchmarks/versus_official.py --rounds 5 --threads 1 2

The official code (github.com/PangzeCheung/Dual-task-Pose-Transformer-Network) is never part of
this repository: by default it is extracted at run time into a temporary folder from the git
mirror named by `--official-git` (`git archive HEAD`), or read from `--official`. Its own
`DPTNModel.optimize_parameters` is timed (forward, D update, G update), with the modules it needs
only for saving pictures (cv2, its pose drawing) stubbed out and torchvision's VGG19 given the
same random weights as dptn-tf's (no download). Its generator and discriminator weights are
imported into dptn-tf with `dptn_tf.convert`, and the losses of the first step are compared, so
both sides are known to compute the same thing before they are timed.

Each thread count runs in a fresh process (TensorFlow fixes its thread pools at start-up), with
PyTorch and TensorFlow given that many threads. The two frameworks alternate, round by round, so
load from other processes falls on both alike; the figures are medians over the rounds. Between
rounds the process samples the float32 GEMM peak (and the bfloat16 one under `--precision
mixed`, `machine.GemmPeak`); "of peak" is each side's GFLOP (`machine.graph_gflops` of dptn-tf's
graph, the same network on both sides) per second over the peak of the precision it computes in.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from official import (
    add_official_arguments,
    import_official,
    nchw,
    official_options,
    official_root,
    official_step,
    same_networks,
    same_vgg,
)

# name, height, width, batch, discriminator layers, loss weights (docs/design.md, "Training")
TRAINING_CASES = (
    ("Market-1501 128x64, batch 4", 128, 64, 4, 3,
     {"lambda_rec": 2.0, "lambda_g": 5.0, "t_s_ratio": 0.8}),
    ("DeepFashion 256x176, batch 1", 256, 176, 1, 4,
     {"lambda_rec": 5.0, "lambda_g": 2.0, "t_s_ratio": 0.5}),
)  # fmt: skip
INFERENCE_CASES = (("generator inference 256x176, batch 1", 256, 176, 1),)


def run_cases(official_root: Path, threads: int, rounds: int, precision: str) -> list[dict]:
    """Everything timed at one thread count (called in a fresh process)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    import torch

    from machine import configure_threads

    configure_threads(threads)
    torch.set_num_threads(threads)
    import keras

    from dptn_tf.training.distribute import set_precision
    from machine import GemmPeak, peak_dtype

    dptn_model = import_official(official_root, torch)
    peaks = {
        dtype: GemmPeak(dtype) for dtype in ("float32", "bfloat16")[: 1 + (precision == "mixed")]
    }
    results = []
    for run_case, cases in ((training_case, TRAINING_CASES), (inference_case, INFERENCE_CASES)):
        for case in cases:
            keras.backend.clear_session()  # which also resets the precision policy
            policy = set_precision(precision == "mixed")
            result = run_case(dptn_model, torch, case, rounds, peaks)
            result["ours_peak_dtype"] = peak_dtype(policy)
            results.append(result)
    for result in results:  # the best rates seen over the whole run
        result["official_peak"] = peaks["float32"].gflops
        result["ours_peak"] = peaks[result["ours_peak_dtype"]].gflops
    return results


def training_case(dptn_model, torch, case, rounds: int, peaks: dict) -> dict:
    """One official `optimize_parameters` against one `fit` train step, interleaved."""
    import tensorflow as tf

    from dptn_tf.config import LossConfig, TrainConfig
    from dptn_tf.training import DPTN, LOSS_NAMES, make_optimizers
    from machine import graph_gflops, random_batch

    name, height, width, batch, dis_layers, losses = case
    torch.manual_seed(0)
    official = dptn_model.DPTNModel(official_options(height, width, dis_layers, losses))
    generator, discriminator = same_networks(official)
    model = DPTN(generator, discriminator, same_vgg(official, torch), LossConfig(**losses))
    model.compile(*make_optimizers(TrainConfig(), steps_per_epoch=1000))
    data = random_batch(batch, (height, width))
    specs = {k: tf.TensorSpec(v.shape, tf.float32) for k, v in data.items()}
    gflop = graph_gflops(tf.function(model.train_step).get_concrete_function(specs))
    dataset = iter(tf.data.Dataset.from_tensors(data).repeat())
    model.make_train_function()

    def official_training_step():
        return official_step(official, torch, data)

    def ours_step():
        logs = model.train_function(dataset)
        return {n: float(logs[n]) for n in LOSS_NAMES}

    first_official, first_ours = official_training_step(), ours_step()
    agreement = max(
        abs(first_ours[n] - first_official[n]) / max(abs(first_official[n]), 1e-12)
        for n in LOSS_NAMES
    )
    return dict(
        name=name,
        batch=batch,
        gflop=gflop,
        loss_rel_difference=agreement,
        **_interleaved(official_training_step, ours_step, rounds, peaks),
    )


def inference_case(dptn_model, torch, case, rounds: int, peaks: dict) -> dict:
    """The official generator's test-time forward against dptn-tf's inference generator, run
    as the test protocol and the demo run it (`frozen_forward`)."""
    import numpy as np
    import tensorflow as tf

    from dptn_tf.inference.frozen import frozen_forward
    from dptn_tf.models import inference_generator
    from machine import graph_gflops, random_batch

    name, height, width, batch = case
    torch.manual_seed(0)
    official = dptn_model.DPTNModel(official_options(height, width, 4, TRAINING_CASES[1][5]))
    official.net_G.eval()
    generator = inference_generator(same_networks(official)[0])
    data = random_batch(batch, (height, width))
    names = ("source_image", "source_pose", "target_pose")
    torch_inputs = [nchw(torch, data[k]) for k in names]
    tf_inputs = {k: tf.constant(data[k]) for k in names}
    specs = {k: tf.TensorSpec(v.shape, v.dtype) for k, v in tf_inputs.items()}
    gflop = graph_gflops(
        tf.function(lambda x: generator(x, training=False)).get_concrete_function(specs)
    )
    forward = frozen_forward(generator)

    def official_inference():
        with torch.no_grad():
            return official.net_G(*torch_inputs, False)[0].numpy()

    def ours_inference():
        return forward(tf_inputs).numpy()

    expected = official_inference().transpose(0, 2, 3, 1)
    difference = float(np.max(np.abs(ours_inference() - expected)) / np.max(np.abs(expected)))
    return dict(
        name=name,
        batch=batch,
        gflop=gflop,
        output_rel_difference=difference,
        **_interleaved(official_inference, ours_inference, rounds, peaks),
    )


def _interleaved(official_fn, ours_fn, rounds: int, peaks: dict) -> dict:
    """Median and best wall seconds and median CPU seconds of each (CPU time, all threads of the
    process, is what a one-thread run costs whatever else the machine is doing); the GEMM
    peaks are sampled after each round."""
    official_fn(), ours_fn()  # warm-up
    times = {f"{key}_{kind}": [] for key in ("official", "ours") for kind in ("s", "cpu_s")}
    for _ in range(rounds):
        for key, fn in (("official", official_fn), ("ours", ours_fn)):
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            times[f"{key}_s"].append(time.perf_counter() - start)
            times[f"{key}_cpu_s"].append(time.process_time() - cpu)
        for peak in peaks.values():
            peak.sample()
    medians = {key: statistics.median(values) for key, values in times.items()}
    return {
        **medians,
        "official_best_s": min(times["official_s"]),
        "ours_best_s": min(times["ours_s"]),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_official_arguments(parser)
    parser.add_argument(
        "--threads",
        nargs="+",
        type=int,
        default=[1, os.cpu_count() or 1],
        help="thread counts, one process each",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed"),
        default="float32",
        help="dptn-tf's precision (the official code runs in float32)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    with official_root(args) as root:
        if args.worker is not None:
            results = run_cases(root, args.worker, args.rounds, args.precision)
            print("RESULTS " + json.dumps(results))
            return
        print(
            f"official code: {args.official or args.official_git}; dptn-tf precision "
            f"{args.precision}; {args.rounds} interleaved rounds, medians"
        )
        print(
            f"{'work':<38}{'threads':>8}{'official s':>11}{'dptn-tf s':>10}{'speed-up':>9}"
            f"{'CPU-s speed-up':>15}{'official of peak':>17}{'dptn-tf of peak':>16}  check"
        )
        peaks = {}
        for threads in dict.fromkeys(args.threads):
            command = [
                sys.executable,
                __file__,
                "--official",
                str(root),
                "--rounds",
                str(args.rounds),
                "--precision",
                args.precision,
                "--worker",
                str(threads),
            ]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            line = next(x for x in output.splitlines() if x.startswith("RESULTS "))
            for r in json.loads(line[len("RESULTS ") :]):
                check = (
                    f"losses rel diff {r['loss_rel_difference']:.0e}"
                    if "loss_rel_difference" in r
                    else f"output rel diff {r['output_rel_difference']:.0e}"
                )
                # the best round over the best peak, as benchmarks/inference.py rates them
                of_peak = {
                    side: r["gflop"] / r[f"{side}_best_s"] / r[f"{side}_peak"]
                    for side in ("official", "ours")
                }
                print(
                    f"{r['name']:<38}{threads:>8}{r['official_s']:>11.3f}{r['ours_s']:>10.3f}"
                    f"{r['official_s'] / r['ours_s']:>8.2f}x"
                    f"{r['official_cpu_s'] / r['ours_cpu_s']:>14.2f}x"
                    f"{of_peak['official']:>17.0%}{of_peak['ours']:>15.0%} "
                    f"{'(bf16)' if r['ours_peak_dtype'] == 'bfloat16' else '      '}  {check}",
                    flush=True,
                )
                peaks[threads] = (r["official_peak"], r["ours_peak"], r["ours_peak_dtype"])
        for threads, (float32, ours, dtype) in peaks.items():
            print(
                f"GEMM peaks, {threads} threads: float32 {float32:.0f} GFLOP/s"
                + (f", bfloat16 {ours:.0f} GFLOP/s" if dtype == "bfloat16" else "")
            )


if __name__ == "__main__":
    main()
