"""Seconds from the demo's Generate click to its result, on this CPU: the handler the click
runs (`PoseTransferDemo.generate`: the source's window, the generator, the result put back in the
photo), for the quickstart model and the default 256x176 one, random weights (speed does not
depend on them). Also the upload's BlazePose pass (`use_source`). The page's own round trip (a
few ms on loopback) is not counted.

    python benchmarks/demo_latency.py --photo build/test-photos/bus.jpg [--repeats 7] [--threads N]

Medians and best runs are printed, since other processes may share the cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from dptn_tf.console import quiet_tensorflow

MODELS = {
    "quickstart (configs/synthetic.yaml, 128x64)": "configs/synthetic.yaml",
    "default (configs/fashion.yaml, 256x176)": "configs/fashion.yaml",
}


def timed(call, repeats: int) -> list[float]:
    call()  # trace, warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True, help="a photo of a person")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, help="threads in each TensorFlow pool (default: every core)"
    )
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    args = parser.parse_args()
    quiet_tensorflow()
    import keras

    from dptn_tf.config import load_config
    from dptn_tf.demo.app import PoseTransferDemo
    from dptn_tf.inference.tensorflow_models import GeneratorModel
    from dptn_tf.models import build_generator
    from dptn_tf.pose import BlazePose
    from machine import configure_threads, describe

    threads = configure_threads(args.threads)
    print(f"{describe()}; {threads} threads; median (best) of {args.repeats}")
    extractor = BlazePose(args.weights_dir)
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        for name, config in MODELS.items():
            path = Path(folder) / f"{Path(config).stem}.keras"
            keras.utils.set_random_seed(0)
            build_generator(load_config(repo / config).model).save(path)
            demo = PoseTransferDemo(GeneratorModel(path, repo / config, []), extractor, {})
            _, state, pose, message = demo.use_source(str(args.photo))
            if state is None:
                raise SystemExit(message)
            upload = timed(lambda: demo.use_source(str(args.photo)), args.repeats)  # noqa: B023
            click = timed(lambda: demo.generate(state, pose), args.repeats)  # noqa: B023
            print(
                f"{name}: Generate {statistics.median(click):.3f} s ({min(click):.3f}); "
                f"upload (BlazePose) {statistics.median(upload):.3f} s ({min(upload):.3f})"
            )


if __name__ == "__main__":
    main()
