"""Shared test fixtures.

- `fixtures_dir`: the golden data made with the official PyTorch code, at `../shared/fixtures`
  beside the repository (or `$DPTN_FIXTURES`); tests that need it skip when it is absent.
- `synthetic_root`: a tiny synthetic PATN data set (`synthetic_settings`), made once per session.
- `pose_models_dir`: the folder of BlazePose's two model files (`tools/fetch_pose_models.py`).
- real photos as files: `upper_body_photo` (scikit-image's astronaut, public domain),
  `full_body_photo` (people walking past a bus, `bus.jpg` of the ultralytics==8.4.190 wheel,
  AGPL-3.0, read from that wheel in `$DPTN_TEST_PHOTOS`, default `build/test-photos/`),
  `nobody_photo` (a cup of coffee, scikit-image).
- real footage: `street_video`, OpenCV's sample `vtest.avi` (pedestrians, from Debian's
  `opencv-doc` package, in `$DPTN_TEST_VIDEOS`, default `build/test-videos/`).

Missing model files or wheel skip the tests that need them, saying how to get them; on CI (`$CI`
set), where `.ci/run` fetches both, they fail instead.
"""

import hashlib
import os
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.environment import missing

DEFAULT_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(autouse=True)
def float32_policy_after_each_test():
    """Every test starts in float32: `train.main` run in this process sets the configuration's
    precision policy globally (the quickstart's is bfloat16), and the parity tests need float32."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    path = Path(os.environ.get("DPTN_FIXTURES", DEFAULT_FIXTURES))
    if not path.is_dir():
        pytest.skip(f"golden fixtures not found at {path} (set DPTN_FIXTURES to their folder)")
    return path


@pytest.fixture(scope="session")
def synthetic_settings() -> dict:
    """64x32 images, prefix 'synthetic': 3 train identities x 4 poses (all 36 ordered pairs),
    2 test identities x 4 poses (4 pairs each)."""
    return dict(
        image_size=(64, 32),
        num_train_identities=3,
        num_test_identities=2,
        poses_per_identity=4,
        test_pairs_per_identity=4,
        seed=1,
    )


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory, synthetic_settings) -> Path:
    from dptn_tf.data.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(
        tmp_path_factory.mktemp("synthetic") / "root", **synthetic_settings
    )


REPO = Path(__file__).resolve().parents[1]
PHOTO_WHEEL = "ultralytics-8.4.190-py3-none-any.whl"
FULL_BODY_MEMBER = "ultralytics/assets/bus.jpg"
FULL_BODY_SHA256 = "c02019c4979c191eb739ddd944445ef408dad5679acab6fd520ef9d434bfbc63"
STREET_VIDEO = "vtest.avi"
STREET_VIDEO_SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"
STREET_VIDEO_HOWTO = (
    "apt-get download opencv-doc && dpkg -x opencv-doc_*.deb opencv-doc && cp "
    "opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi {folder}/"
)


@pytest.fixture(scope="session")
def pose_models_dir() -> Path:
    from dptn_tf.files.weight_files import (
        BLAZEPOSE_DETECTOR,
        BLAZEPOSE_LANDMARKS,
        find_weight_file,
    )

    try:
        folders = {find_weight_file(f).parent for f in (BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARKS)}
    except FileNotFoundError:
        missing("BlazePose model files not found: run python tools/fetch_pose_models.py")
    if len(folders) != 1:
        missing(f"the two BlazePose model files are in different folders: {sorted(folders)}")
    return folders.pop()


def _write_png(folder: Path, name: str, image) -> Path:
    import tensorflow as tf

    (folder / name).write_bytes(tf.io.encode_png(image).numpy())
    return folder / name


@pytest.fixture(scope="session")
def upper_body_photo(tmp_path_factory) -> Path:
    import skimage.data

    return _write_png(tmp_path_factory.mktemp("photo"), "astronaut.png", skimage.data.astronaut())


@pytest.fixture(scope="session")
def nobody_photo(tmp_path_factory) -> Path:
    import skimage.data

    return _write_png(tmp_path_factory.mktemp("photo"), "coffee.png", skimage.data.coffee())


@pytest.fixture(scope="session")
def full_body_photo(tmp_path_factory) -> Path:
    wheel = Path(os.environ.get("DPTN_TEST_PHOTOS", REPO / "build" / "test-photos")) / PHOTO_WHEEL
    if not wheel.is_file():
        missing(f"{wheel} not found: pip download --no-deps ultralytics==8.4.190 -d {wheel.parent}")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(FULL_BODY_MEMBER)
    assert hashlib.sha256(data).hexdigest() == FULL_BODY_SHA256, f"{wheel}: another bus.jpg"
    path = tmp_path_factory.mktemp("photo") / "bus.jpg"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="session")
def street_video() -> Path:
    """OpenCV's `vtest.avi`: 795 frames (768x576, 10 a second) of people walking, 80-150
    pixels tall, as Market-1501's are."""
    folder = Path(os.environ.get("DPTN_TEST_VIDEOS", REPO / "build" / "test-videos"))
    path = folder / STREET_VIDEO
    if not path.is_file():
        missing(f"{path} not found: {STREET_VIDEO_HOWTO.format(folder=folder)}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == STREET_VIDEO_SHA256, f"{path}: another vtest.avi"
    return path
