"""Where the time of a DPTN inference or training step goes, op type by op type.

    python benchmarks/op_profile.py inference [--size 256x176] [--batch 1] [--precision mixed]
    python benchmarks/op_profile.py train [--size 128x64] [--batch 4] [--precision mixed]
    python benchmarks/op_profile.py inference --nodes 30      # and the 30 slowest ops

Runs the work under TensorFlow's profiler (`tf.profiler.experimental`) and sums the time of
every op the runtime executed, by op type (oneDNN's kernels keep their `_Mkl` names, so a fused
convolution shows as `_MklNativeFusedConv2D`). Matrix products (convolutions, their gradients,
batched matmuls) are split from the rest: on a CPU, everything that is not a product is time
the GEMM peak cannot help with. With two or more threads, ops of independent branches overlap,
so the op times add up to more than the wall time. Default model, random weights and inputs.
"""

from __future__ import annotations

import argparse
import collections
import glob
import tempfile
import time

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from dptn_tf.console import image_size
from machine import configure_threads, describe, random_batch

PRODUCTS = ("Conv2D", "Conv2DBackprop", "MatMul", "BatchMatMul", "Einsum")


def op_times(step, steps: int) -> tuple[collections.Counter, collections.Counter]:
    """(seconds by op type, seconds by op name) per call of `step`, from a profiler trace."""
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step()
        tf.profiler.experimental.stop()
        (path,) = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
        space = xplane_pb2.XSpace()
        with open(path, "rb") as file:
            space.ParseFromString(file.read())
    by_type, by_name = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                label = plane.event_metadata[event.metadata_id].name
                name, _, kind = label.rpartition(":")
                # executed ops are labelled "node/name:OpType"; function calls and runtime
                # activity have other labels
                if not name or "/" not in name and not kind.startswith(("_Mkl", "Mkl")):
                    continue
                if kind.startswith("__inference") or " " in kind:
                    continue
                by_type[kind] += event.duration_ps / 1e12 / steps
                by_name[label] += event.duration_ps / 1e12 / steps
    return by_type, by_name


def inference_step(size, batch: int):
    from dptn_tf.inference.frozen import frozen_forward
    from dptn_tf.models import build_generator, inference_generator

    forward = frozen_forward(inference_generator(build_generator()))
    names = ("source_image", "source_pose", "target_pose")
    inputs = {k: tf.constant(v) for k, v in random_batch(batch, size, names=names).items()}
    return lambda: forward(inputs).numpy()


def training_step(size, batch: int):
    import warnings

    from dptn_tf import training
    from dptn_tf.config import load_config

    warnings.filterwarnings("ignore", "VGG19 has random weights")
    config = load_config(None, ["loss.vgg_weights=none"])  # random VGG costs the same
    model = training.build_dptn(config)
    model.compile(*training.make_optimizers(config.train, steps_per_epoch=1000))
    iterator = iter(tf.data.Dataset.from_tensors(random_batch(batch, size)).repeat())
    model.make_train_function()
    return lambda: model.train_function(iterator)["total_gen"].numpy()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", choices=("inference", "train"))
    parser.add_argument("--size", type=image_size, help="default 256x176, or 128x64 to train")
    parser.add_argument("--batch", type=int, help="default 1, or 4 to train")
    parser.add_argument("--precision", choices=("float32", "mixed"), default="float32")
    parser.add_argument("--threads", type=int, help="threads (default: every core)")
    parser.add_argument("--steps", type=int, default=3, help="profiled calls")
    parser.add_argument("--top", type=int, default=20, help="op types listed")
    parser.add_argument("--nodes", type=int, default=0, help="also list the slowest ops")
    args = parser.parse_args(argv)
    threads = configure_threads(args.threads)
    from dptn_tf.training.distribute import set_precision

    policy = set_precision(args.precision == "mixed")
    train = args.work == "train"
    size = args.size or ((128, 64) if train else (256, 176))
    batch = args.batch or (4 if train else 1)
    step = (training_step if train else inference_step)(size, batch)
    for _ in range(2):  # trace, then warm oneDNN's primitive cache
        step()
    start = time.perf_counter()
    step()
    wall = time.perf_counter() - start
    by_type, by_name = op_times(step, args.steps)
    total = sum(by_type.values())
    products = sum(t for kind, t in by_type.items() if any(p in kind for p in PRODUCTS))
    print(f"{describe()}; TensorFlow {tf.__version__}, {threads} threads, policy {policy}")
    print(
        f"{args.work} {size[0]}x{size[1]} batch {batch}: {wall:.4f} s wall; op time "
        f"{total:.4f} s, of which matrix products {products / total:.0%}"
    )
    print(f"{'op type':<42}{'ms':>9}{'share':>8}")
    for kind, seconds in by_type.most_common(args.top):
        print(f"{kind:<42}{seconds * 1e3:>9.2f}{seconds / total:>8.1%}")
    for label, seconds in by_name.most_common(args.nodes):
        print(f"{seconds * 1e3:>9.2f} ms  {label}")


if __name__ == "__main__":
    main()
