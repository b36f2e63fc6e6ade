"""The demo's fixtures: a tiny random generator as train.py leaves it, beside the tests'
synthetic data set (its test split is the gallery), and the app serving it on a loopback port.

Without gradio (`pip install -e ".[demo]"`) or BlazePose's files the demo tests skip, saying
so; on CI (`$CI` set), where `.ci/run` installs them, they fail instead.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
import yaml

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME
from dptn_tf.models import build_generator
from helpers.environment import free_port, missing
from helpers.training import TINY_GENERATOR

REPO = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"dptn-demo: open (http://\S+)")
# Headless, and nothing reaching for the (closed) network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def gradio():
    try:
        import gradio
    except ImportError:
        missing('gradio not installed: pip install -e ".[demo]"')
    return gradio


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, synthetic_root, synthetic_settings) -> Path:
    """generator.keras (random, tiny) and config.yaml naming the synthetic data set; or the
    training run `$DPTN_DEMO_RUN` (for the README's picture)."""
    if os.environ.get("DPTN_DEMO_RUN"):
        return Path(os.environ["DPTN_DEMO_RUN"])
    run = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    build_generator(TINY_GENERATOR).save(run / GENERATOR_NAME)
    size = list(synthetic_settings["image_size"])
    (run / CONFIG_NAME).write_text(
        yaml.safe_dump(
            {
                "data": {
                    "root": str(synthetic_root),
                    "prefix": "synthetic",
                    "old_size": size,
                    "load_size": size,
                }
            }
        )
    )
    return run


@pytest.fixture(scope="session")
def demo_server(gradio, demo_run, pose_models_dir, tmp_path_factory):
    """`python -m dptn_tf.demo --run ...` on a free loopback port: (its URL, its stderr file)."""
    stderr = tmp_path_factory.mktemp("demo") / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env |= {"DPTN_WEIGHTS_DIR": str(pose_models_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    with stderr.open("w") as errors:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dptn_tf.demo",
                "--run",
                str(demo_run),
                "--port",
                str(free_port()),
                "--concurrency",
                "2",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        deadline, url = time.monotonic() + 180, None
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            found = URL_LINE.search(line)
            url = found and found[1]
        assert url, f"the demo did not start: {stderr.read_text()[-3000:]}"
        yield url, stderr
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium under Playwright (whose own browser download is not used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing('playwright not installed: pip install -e ".[test]"')
    chromium = shutil.which("chromium")
    if not chromium:
        missing("chromium not found: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
