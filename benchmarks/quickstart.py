"""Step speed of the quickstart's settings against alternatives, measured interleaved.

    python benchmarks/quickstart.py                          # configs/synthetic.yaml's model
    python benchmarks/quickstart.py --variants f32:8 bf16:8 f32:16 bf16:16 f32:8:ngf=16

Each variant (`PRECISION:BATCH[:section.field=value,...]`, precision `f32`, `bf16` or
`f32-xla`/`bf16-xla`) is built once; then rounds of `--steps` training steps run on each variant
in turn, so that a machine shared with other work slows all of them alike. Prints, per variant,
the median seconds per step and per image, this process's CPU seconds per step, and the speed
relative to the first variant. Random inputs: the networks alone are timed, not the pipeline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from dptn_tf.config import CONFIGS_DIR, load_config
from dptn_tf.console import add_verbose_flag, quiet_tensorflow

QUICKSTART = CONFIGS_DIR / "synthetic.yaml"


def build(config, precision: str, batch_size: int):
    """(name, compiled model, repeating dataset) for one variant."""
    import keras
    import tensorflow as tf

    from dptn_tf import training
    from dptn_tf.training.distribute import set_precision
    from machine import random_batch

    set_precision(precision.startswith("bf16"))
    try:
        model = training.build_dptn(config)
        model.compile(
            *training.make_optimizers(config.train, steps_per_epoch=10**6),
            jit_compile=precision.endswith("xla"),
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    batch = random_batch(batch_size, tuple(config.data.load_size))
    return model, tf.data.Dataset.from_tensors(batch).repeat()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=QUICKSTART)
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["f32:8", "bf16:8"],
        metavar="PRECISION:BATCH[:KEY=VALUE,...]",
    )
    parser.add_argument("--steps", type=int, default=10, help="steps per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")  # as train.py runs
    quiet_tensorflow(args.verbose)

    variants = []
    for text in args.variants:
        precision, batch, *rest = text.split(":")
        if precision not in ("f32", "bf16", "f32-xla", "bf16-xla"):
            parser.error(f"{text}: precision must be f32, bf16, f32-xla or bf16-xla")
        overrides = ["loss.vgg_weights=none"] + (rest[0].split(",") if rest else [])
        config = load_config(args.config, overrides)
        model, data = build(config, precision, int(batch))
        model.fit(data, steps_per_epoch=2, verbose=0)  # trace and warm up
        variants.append(
            {"name": text, "batch": int(batch), "model": model, "data": data, "wall": [], "cpu": []}
        )

    for _ in range(args.rounds):
        for variant in variants:
            wall, cpu = time.perf_counter(), time.process_time()
            variant["model"].fit(variant["data"], steps_per_epoch=args.steps, verbose=0)
            variant["wall"].append((time.perf_counter() - wall) / args.steps)
            variant["cpu"].append((time.process_time() - cpu) / args.steps)

    reference = statistics.median(variants[0]["wall"])
    print(
        f"{args.rounds} rounds of {args.steps} steps, interleaved; medians "
        f"(cpu: CPU seconds of this process per step, all threads)"
    )
    print(
        f"{'variant':<28} {'s/step':>7} {'s/image':>8} {'cpu s/step':>10} {'images/s vs first':>18}"
    )
    for variant in variants:
        seconds = statistics.median(variant["wall"])
        ratio = (variant["batch"] / seconds) / (variants[0]["batch"] / reference)
        print(
            f"{variant['name']:<28} {seconds:7.3f} {seconds / variant['batch']:8.4f} "
            f"{statistics.median(variant['cpu']):10.3f} {ratio:17.2f}x"
        )


if __name__ == "__main__":
    main()
