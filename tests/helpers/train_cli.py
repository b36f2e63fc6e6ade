"""`train.py` as the tests run it: the command on a tiny synthetic set, and readers of what it
writes (backups, TensorBoard events)."""

import re
import subprocess
import sys
from pathlib import Path

import tensorflow as tf

from dptn_tf.config import load_config
from dptn_tf.training import TOTAL_NAME, reported_loss_names
from helpers.training import TINY_MODEL

REPO = Path(__file__).resolve().parents[2]
STEPS = 6  # 3 epochs of 2 steps
# The quickstart's configuration with its adversarial term on whatever the quickstart says, so
# that backups, resumes and logs cover both networks and both optimizers (VGG19 stays off).
ADVERSARIAL = "loss.lambda_g=2.0"
REPORTED = (
    *reported_loss_names(load_config(REPO / "configs/synthetic.yaml", [ADVERSARIAL]).loss),
    TOTAL_NAME,
)
TENSORFLOW_LOG_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuInit", re.M)


def command(root: Path, run_dir: Path) -> list:
    overrides = [
        *TINY_MODEL,
        f"data.root={root}",
        "data.load_size=[64,32]",
        "data.old_size=[64,32]",
        "data.batch_size=4",
        "train.lr=2e-4",
        "train.steps_per_epoch=2",
        "train.niter=2",
        "train.niter_decay=1",
        "train.log_every=1",
        "train.image_every=2",
        "train.validation_steps=1",
        "train.sample_pairs=2",
        ADVERSARIAL,
    ]
    return [
        sys.executable,
        str(REPO / "train.py"),
        "--config",
        str(REPO / "configs/synthetic.yaml"),
        "--run-dir",
        str(run_dir),
        *(arg for item in overrides for arg in ("--set", item)),
    ]


def run(args) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=600, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def backed_up_iterations(run_dir: Path) -> dict:
    reader = tf.train.load_checkpoint(str(run_dir / "backup"))
    return {
        name: int(reader.get_tensor(f"{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"))
        for name in ("generator_optimizer", "discriminator_optimizer")
    }


def summaries(run_dir: Path, run: str = "train") -> dict:
    """tag -> [(step, value or image)] from the event files of one TensorBoard run."""
    found = {}
    for path in sorted((run_dir / "logs" / run).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                found.setdefault(value.tag, []).append((event.step, tensor))
    return found
