"""What the commands print: `--help` before TensorFlow loads, TensorFlow's log lines only with
`--verbose` (`dptn_tf/console.py`)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = sorted(["train.py", "export_savedmodel.py",
                       *(f"tools/{path.name}" for path in (REPO / "tools").glob("*.py"))])
HEAVY = ("tensorflow", "keras", "torch")
TENSORFLOW_LOG_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuInit", re.M)

# Runs an entry point with --help in this process and reports the heavy modules it imported.
HELP_PROBE = """
import json, runpy, sys
sys.argv = [sys.argv[1], "--help"]
sys.path.insert(0, str(__import__("pathlib").Path(sys.argv[0]).parent))
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "imported": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)
# The same for a module run with `python -m` (the demo); gradio counts as heavy there too.
HELP_MODULE_PROBE = HELP_PROBE.replace(
    'runpy.run_path(sys.argv[0], run_name="__main__")',
    'runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)').replace(
    "sys.path.insert(0, str(__import__(\"pathlib\").Path(sys.argv[0]).parent))\n", "").replace(
    repr(HEAVY), repr(HEAVY + ("gradio",)))


def environment(**changes) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return env | changes


@pytest.mark.parametrize("entry_point", ENTRY_POINTS + ["-m dptn_tf.demo"])
def test_help_answers_before_tensorflow_loads(entry_point):
    probe = HELP_MODULE_PROBE if entry_point.startswith("-m ") else HELP_PROBE
    target = entry_point.removeprefix("-m ") if probe is HELP_MODULE_PROBE else str(
        REPO / entry_point)
    result = subprocess.run([sys.executable, "-c", probe, target],
                            capture_output=True, text=True, timeout=120, cwd=REPO, check=True)
    *usage, report = result.stdout.strip().splitlines()
    assert json.loads(report) == {"code": 0, "imported": []}
    assert "usage:" in "\n".join(usage)


def test_tensorflow_is_quiet_unless_verbose(tmp_path):
    command = [sys.executable, str(REPO / "tools" / "make_synthetic_dataset.py"), "--preview"]
    quiet = subprocess.run(command + [str(tmp_path / "quiet.png")], capture_output=True,
                           text=True, timeout=300, cwd=REPO, env=environment(), check=True)
    assert quiet.stdout.strip() == f"wrote {tmp_path / 'quiet.png'}"
    assert not TENSORFLOW_LOG_LINE.search(quiet.stderr), quiet.stderr
    # --verbose leaves TensorFlow alone: on a CPU-only x86 machine its import says at least
    # that oneDNN is on and that no GPU driver was found.
    verbose = subprocess.run(command + [str(tmp_path / "verbose.png"), "--verbose"],
                             capture_output=True, text=True, timeout=300, cwd=REPO,
                             env=environment(), check=True)
    assert TENSORFLOW_LOG_LINE.search(verbose.stderr)
    assert (tmp_path / "quiet.png").read_bytes() == (tmp_path / "verbose.png").read_bytes()


def test_quiet_tensorflow_keeps_a_level_the_user_set():
    probe = ("import os; from dptn_tf.console import quiet_tensorflow; quiet_tensorflow(); "
             "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120, cwd=REPO, env=environment(TF_CPP_MIN_LOG_LEVEL="1"),
                            check=True)
    assert result.stdout.strip() == "1"
