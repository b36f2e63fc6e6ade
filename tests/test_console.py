"""What the commands print: `--help` before TensorFlow loads, TensorFlow's log lines only with
`--verbose` (`dptn_tf/console.py`): every entry point, the demo included, run for real on a tiny
model and data set, prints no TensorFlow, TF Lite or absl line."""

import configparser
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
import yaml

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, ModelConfig
from dptn_tf.models import build_generator

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = sorted(
    [
        "train.py",
        "export_savedmodel.py",
        *(f"tools/{path.name}" for path in (REPO / "tools").glob("*.py")),
    ]
)
HEAVY = ("tensorflow", "keras", "torch")
TENSORFLOW_LOG_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuInit", re.M)
# ... and TF Lite's, which its C++ interpreter writes straight to file descriptor 2.
ANY_LOG_LINE = re.compile(TENSORFLOW_LOG_LINE.pattern + r"|INFO: Created TensorFlow Lite", re.M)
TINY = ModelConfig(ngf=8, img_f=32, layers=3, num_blocks=1, nhead=2, num_cabs=1, num_ttbs=1)

# Runs an entry point with --help in this process and reports the heavy modules it imported:
# a script at the repository's root or in tools/ (a wrapper of its command module), or a command
# module as its console script runs it (the demo's too, where gradio counts as heavy).
PROBE = """
import json, runpy, sys
sys.argv = [sys.argv[1], "--help"]
try:
    %s
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "imported": [m for m in %r if m in sys.modules]}))
"""
HELP_PROBE = PROBE % ('runpy.run_path(sys.argv[0], run_name="__main__")', HEAVY)
HELP_MODULE_PROBE = PROBE % (
    'runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)',
    (*HEAVY, "gradio"),
)


def environment(**changes) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return env | changes


def console_scripts() -> dict:
    """Console script -> the module whose `main` it runs, as setup.cfg declares them."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    return {
        name.strip(): target.split(":")[0].strip()
        for name, target in (line.split("=") for line in lines)
    }


def _help(probe: str, target: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", probe, target],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=True,
    )
    *usage, report = result.stdout.strip().splitlines()
    assert json.loads(report) == {"code": 0, "imported": []}
    assert "usage:" in "\n".join(usage)
    return usage


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_help_answers_before_tensorflow_loads(entry_point):
    _help(HELP_PROBE, str(REPO / entry_point))


def test_every_command_has_a_console_script():
    scripts = console_scripts()
    commands = {
        f"dptn_tf.cli.{path.stem}"
        for path in (REPO / "dptn_tf" / "cli").glob("*.py")
        if path.stem != "__init__"
    }
    assert set(scripts.values()) == commands | {"dptn_tf.demo.__main__"}
    assert all(name.startswith("dptn-") for name in scripts)


@pytest.mark.parametrize("script, module", sorted(console_scripts().items()))
def test_every_console_script_answers_help_in_under_two_seconds(script, module):
    """What a console script runs, `main` of its module, answers --help without loading
    TensorFlow, Keras, torch or gradio, so it is at once (2 s is a loaded machine's margin)."""
    start = time.monotonic()
    _help(HELP_MODULE_PROBE, module)
    assert time.monotonic() - start < 2.0, script


def test_tensorflow_is_quiet_unless_verbose(tmp_path):
    command = [sys.executable, str(REPO / "tools" / "make_synthetic_dataset.py"), "--preview"]
    quiet = subprocess.run(
        command + [str(tmp_path / "quiet.png")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=environment(),
        check=True,
    )
    assert quiet.stdout.strip() == f"wrote {tmp_path / 'quiet.png'}"
    assert not TENSORFLOW_LOG_LINE.search(quiet.stderr), quiet.stderr
    # --verbose leaves TensorFlow alone: on a CPU-only x86 machine its import says at least
    # that oneDNN is on and that no GPU driver was found.
    verbose = subprocess.run(
        command + [str(tmp_path / "verbose.png"), "--verbose"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=environment(),
        check=True,
    )
    assert TENSORFLOW_LOG_LINE.search(verbose.stderr)
    assert (tmp_path / "quiet.png").read_bytes() == (tmp_path / "verbose.png").read_bytes()


def test_quiet_tensorflow_keeps_a_level_the_user_set():
    probe = (
        "import os; from dptn_tf.console import quiet_tensorflow; quiet_tensorflow(); "
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=environment(TF_CPP_MIN_LOG_LEVEL="1"),
        check=True,
    )
    assert result.stdout.strip() == "1"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, synthetic_root, synthetic_settings) -> Path:
    """A random tiny generator as train.py leaves it, on the tests' synthetic data set."""
    run = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    build_generator(TINY).save(run / GENERATOR_NAME)
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


def cheap_commands(run: Path, photo: Path, weights: Path, tmp: Path) -> dict:
    """Entry point -> arguments of a real run that loads TensorFlow (or TF Lite) and works on
    the tiny model and data; those that need data sets not at hand stop at their first check."""
    generator, config = str(run / GENERATOR_NAME), str(run / CONFIG_NAME)
    root = yaml.safe_load(Path(config).read_text())["data"]["root"]
    (tmp / "empty.pth").write_bytes(b"")
    photos = tmp / "photos"  # one person in one photo: BlazePose runs, then too few images
    photos.mkdir()
    shutil.copy(photo, photos)
    return {
        "export_savedmodel.py": ["--run", str(run), "--out", str(tmp / "export")],
        "tools/convert_torch_checkpoint.py": [str(tmp / "empty.pth"), "--out", str(tmp / "c")],
        "tools/evaluate.py": [
            "--generated",
            str(tmp / "none"),
            "--ground-truth",
            root,
            "--fid-real",
            root,
            "--dataset",
            "market",
        ],
        "tools/fetch_pose_models.py": [
            "--files",
            *map(str, sorted(weights.glob("*.tflite"))),
            "--weights-dir",
            str(tmp / "weights"),
        ],
        "tools/generate.py": [
            "--generator",
            generator,
            "--config",
            config,
            "--out",
            str(tmp / "generated"),
        ],
        "tools/keypoints.py": [str(photo)],
        "tools/make_dataset.py": [str(photos), str(tmp / "made"), "--quiet"],
        "tools/make_synthetic_dataset.py": ["--preview", str(tmp / "preview.png")],
        "tools/prepare_deepfashion.py": [
            "--images",
            str(tmp / "none"),
            "--root",
            str(tmp / "fashion"),
        ],
        "tools/prepare_market.py": ["--market", str(tmp / "none"), "--root", str(tmp / "market")],
        "tools/serving_client.py": [
            "--rest",
            "http://127.0.0.1:9",
            "--source-image",
            str(photo),
            "--target-photo",
            str(photo),
            "--frame",
            "64x32",
            "--out",
            str(tmp / "served.png"),
            "--timeout",
            "5",
        ],
        "tools/transfer.py": [
            "--source",
            str(photo),
            "--pose",
            str(photo),
            "--generator",
            generator,
            "--out",
            str(tmp / "transfer.png"),
        ],
        "tools/visualize.py": [
            "grid",
            "--generator",
            generator,
            "--config",
            config,
            "--out",
            str(tmp / "grid.png"),
            "--num-pairs",
            "2",
        ],
    }


# Entry points whose real runs other tests check for log lines already.
CHECKED_ELSEWHERE = {"train.py": "tests/training/test_train_cli.py"}


@pytest.mark.slow
@pytest.mark.parametrize("entry_point", sorted(set(ENTRY_POINTS) - set(CHECKED_ELSEWHERE)))
def test_no_entry_point_prints_log_lines_without_verbose(
    entry_point, tiny_run, full_body_photo, pose_models_dir, tmp_path
):
    commands = cheap_commands(tiny_run, full_body_photo, pose_models_dir, tmp_path)
    assert entry_point in commands, f"{entry_point}: add a cheap real run to cheap_commands"
    result = subprocess.run(
        [sys.executable, str(REPO / entry_point), *commands[entry_point]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=environment(DPTN_WEIGHTS_DIR=str(pose_models_dir)),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 or "error:" in result.stderr, output[-3000:]
    assert not ANY_LOG_LINE.search(output), output[-3000:]


@pytest.mark.slow
def test_the_demo_prints_no_log_lines_without_verbose(tiny_run, pose_models_dir):
    pytest.importorskip("gradio", reason='the demo needs gradio: pip install -e ".[demo]"')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = subprocess.Popen(
        [sys.executable, "-m", "dptn_tf.demo", "--run", str(tiny_run), "--port", str(port)],
        cwd=REPO,
        env=environment(DPTN_WEIGHTS_DIR=str(pose_models_dir), GRADIO_ANALYTICS_ENABLED="False"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        line = demo.stdout.readline()
        assert line.startswith("dptn-demo: open http://127.0.0.1:") and time.monotonic() < deadline
    finally:
        demo.terminate()
        _, errors = demo.communicate(timeout=30)
    assert not ANY_LOG_LINE.search(line + errors), errors[-3000:]
