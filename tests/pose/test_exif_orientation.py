"""A phone's portrait photo, stored sideways with an EXIF orientation tag, gives the keypoints
of the upright photo (within 2 px): through tools/keypoints.py and through the demo's backend."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from dptn_tf.pose import BlazePose

REPO = Path(__file__).resolve().parents[2]
ROTATE_90_CLOCKWISE = 6  # EXIF orientation: turn the stored pixels 90 degrees clockwise


def _sideways_and_upright(photo: Path, folder: Path) -> tuple[Path, Path]:
    """A JPEG of the photo's pixels turned a quarter counter-clockwise and tagged to be shown
    upright, as phones store portraits; and a PNG of its very pixels turned upright by hand."""
    exif = Image.Exif()
    exif[0x0112] = ROTATE_90_CLOCKWISE
    sideways = folder / "sideways.jpg"
    Image.open(photo).transpose(Image.Transpose.ROTATE_90).save(sideways, quality=95, exif=exif)
    stored = np.asarray(Image.open(sideways).convert("RGB"))  # Pillow ignores the tag here
    upright = folder / "upright.png"
    Image.fromarray(np.rot90(stored, k=-1)).save(upright)
    return sideways, upright


def _rows(output: str) -> dict:
    rows = {}
    for line in output.strip().splitlines()[1:]:
        name, y, x = line.split(":")
        rows[name] = np.stack([json.loads(y), json.loads(x)], -1)
    return rows


def test_keypoints_tool_reads_the_photo_upright(full_body_photo, pose_models_dir, tmp_path):
    sideways, upright = _sideways_and_upright(full_body_photo, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "keypoints.py"),
            str(upright),
            str(sideways),
            "--weights-dir",
            str(pose_models_dir),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env=env,
        check=True,
    )
    rows = _rows(result.stdout)
    assert np.all(rows["upright.png"] >= 0)
    assert np.abs(rows["sideways.jpg"] - rows["upright.png"]).max() <= 2


def test_demo_backend_reads_the_photo_upright(full_body_photo, pose_models_dir, tmp_path):
    from dptn_tf.demo.app import PoseTransferDemo

    sideways, upright = _sideways_and_upright(full_body_photo, tmp_path)
    demo = PoseTransferDemo(SimpleNamespace(frame=(64, 32)), BlazePose(pose_models_dir), {})
    found = {}
    for path in (upright, sideways):
        view, state, pose, message = demo.use_source(str(path))
        assert state is not None, message
        found[path.name] = state["keypoints"], state["photo"].shape
    assert found["sideways.jpg"][1] == found["upright.png"][1]  # the same height and width
    assert np.abs(found["sideways.jpg"][0] - found["upright.png"][0]).max() <= 2
    from_bytes = demo.use_source(sideways.read_bytes())[1]  # bytes are read upright as well
    assert np.abs(from_bytes["keypoints"] - found["upright.png"][0]).max() <= 2
