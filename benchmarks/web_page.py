"""Milliseconds from the web page's Generate click to its result, in headless chromium on this
CPU, against the Gradio demo's server-side time for the same photo and pose; and the site's size.

For the quickstart model (configs/synthetic.yaml, 128x64) and the default one
(configs/fashion.yaml, 256x176), random weights (speed does not depend on them): each is
exported by `export_savedmodel.py --format web`, served by `dptn_tf.demo.site_server` (with the
cross-origin isolation headers) and timed on ONNX Runtime Web's WebAssembly backend with one
thread and with every core, and on WebGPU where chromium offers an adapter (headless, only
SwiftShader's, a GPU emulated on the CPU, with `--webgpu-swiftshader`). The page's own count
(`window.dptnPage.last.clickMs`: the worker's round trip, the window, the resize, the
generator, the drawing) is what is printed. `--weights` also times the 256x176 generator stored
in float32 and int8. The server side is `PoseTransferDemo.generate` on TensorFlow
(`benchmarks/demo_latency.py`'s measure), every core.

    python benchmarks/web_page.py --photo bus.jpg [--repeats 5] [--weights] [--webgpu-swiftshader]
        [--sizes 128x64 256x176]

Needs npm and Debian's chromium (as the tests do). Medians and best runs are printed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = {"128x64": "configs/synthetic.yaml", "256x176": "configs/fashion.yaml"}


def export(run: Path, out: Path, weights: str) -> Path:
    command = [sys.executable, "export_savedmodel.py", "--run", str(run), "--format", "web"]
    done = subprocess.run(
        [*command, "--out", str(out), "--weights", weights],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return out


def page_times(browser, url: str, photo: Path, repeats: int, **query) -> dict:
    """Click-to-result milliseconds of `repeats` clicks after one warm-up, and the page's
    runtime, on the site at `url` with URL options `query`."""
    page = browser.new_page()
    page.set_default_timeout(600_000)
    page.goto(url + "?" + "&".join(f"{k}={v}" for k, v in query.items()))
    page.wait_for_function("window.dptnPage && window.dptnPage.runtime")
    page.set_input_files("#source-file", photo)
    page.locator("#status").get_by_text("Source (").wait_for()
    page.click("#from-source")
    page.click("#mirror")
    clicks, generator = [], []
    for _ in range(repeats + 1):
        before = page.evaluate("window.dptnPage.last && window.dptnPage.last.clickMs")
        page.click("#generate")
        page.wait_for_function(
            "(b) => window.dptnPage.last && window.dptnPage.last.clickMs !== b", arg=before
        )
        last = page.evaluate("[window.dptnPage.last.clickMs, window.dptnPage.last.generatorMs]")
        clicks.append(last[0])
        generator.append(last[1])
    runtime = page.evaluate("window.dptnPage.runtime")
    pose_ms = page.evaluate("window.dptnPage.source.poseMs")
    page.close()
    return {"click": clicks[1:], "generator": generator[1:], "runtime": runtime, "pose": pose_ms}


def server_times(run: Path, config: str, photo: Path, repeats: int) -> list[float]:
    """Seconds of the Gradio demo's Generate handler on TensorFlow (demo_latency.py's way)."""
    from demo_latency import timed

    from dptn_tf.demo.app import PoseTransferDemo
    from dptn_tf.inference.tensorflow_models import GeneratorModel
    from dptn_tf.pose import BlazePose

    demo = PoseTransferDemo(
        GeneratorModel(run / "generator.keras", REPO / config, []), BlazePose(), {}
    )
    _, state, pose, message = demo.use_source(str(photo))
    if state is None:
        raise SystemExit(message)
    return timed(lambda: demo.generate(state, pose), repeats)


def summary(values, unit="ms") -> str:
    return f"{statistics.median(values):.0f} {unit} (best {min(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True, help="a photo of a person")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--weights", action="store_true", help="also float32 and int8 weights")
    parser.add_argument("--webgpu-swiftshader", action="store_true")
    parser.add_argument(
        "--sizes", nargs="+", choices=sorted(MODELS), default=list(MODELS), help="which models"
    )
    args = parser.parse_args()
    from dptn_tf.console import quiet_tensorflow

    quiet_tensorflow()
    import keras
    from playwright.sync_api import sync_playwright

    from dptn_tf.config import load_config
    from dptn_tf.demo.site_server import site_server
    from dptn_tf.export.web import site_size
    from dptn_tf.models import build_generator
    from machine import available_cores, describe

    cores = available_cores()
    print(f"{describe()}; headless chromium; median (best) of {args.repeats} clicks")
    flags = ["--no-sandbox", "--disable-background-networking"]
    if args.webgpu_swiftshader:
        flags += ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for size in args.sizes:
            config = MODELS[size]
            run = folder / f"run-{size}"
            run.mkdir()
            keras.utils.set_random_seed(0)
            build_generator(load_config(REPO / config).model).save(run / "generator.keras")
            shutil.copy(REPO / config, run / "config.yaml")
            seconds = server_times(run, config, args.photo, args.repeats)
            print(
                f"{size}: Gradio demo, server side (TensorFlow, {cores} threads): "
                f"{summary([s * 1000 for s in seconds])}"
            )
            variants = ["float16"] + (
                ["float32", "int8"] if args.weights and size == "256x176" else []
            )
            for weights in variants:
                site = export(run, folder / f"site-{size}-{weights}", weights)
                server = site_server(site, port=0)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                url = f"http://127.0.0.1:{server.server_address[1]}/"
                print(
                    f"{size}, {weights} weights: site {site_size(site) / 1e6:.1f} MB, "
                    f"generator {(site / 'models' / 'generator.onnx').stat().st_size / 1e6:.1f} MB"
                )
                settings = [("wasm", 1), ("wasm", cores)]
                if args.webgpu_swiftshader:
                    settings.append(("webgpu", cores))
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=shutil.which("chromium"), args=flags
                    )
                    for backend, threads in settings:
                        try:
                            times = page_times(
                                browser,
                                url,
                                args.photo,
                                args.repeats,
                                backend=backend,
                                threads=threads,
                            )
                        except Exception as error:  # noqa: BLE001 - reported, the others go on
                            print(f"  {backend}, {threads} threads: failed: {str(error)[:300]}")
                            continue
                        print(
                            f"  {backend}, {threads} thread(s): click to result "
                            f"{summary(times['click'])}, generator {summary(times['generator'])}; "
                            f"BlazePose {times['pose']:.0f} ms; models loaded in "
                            f"{times['runtime']['loadMs']:.0f} ms"
                        )
                    browser.close()
                server.shutdown()
                shutil.rmtree(site)


if __name__ == "__main__":
    main()
