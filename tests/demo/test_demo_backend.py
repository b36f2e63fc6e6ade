"""The demo's handlers without a browser: every bad input a visitor (or a server) can cause is
answered with a message naming it, and the next request is served."""

import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest
import yaml
from PIL import Image

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME
from dptn_tf.data import read_annotations
from dptn_tf.demo.__main__ import parse_args
from dptn_tf.demo.app import PoseTransferDemo, load_demo
from dptn_tf.inference.tensorflow_models import GeneratorModel
from dptn_tf.models import build_generator
from dptn_tf.pose import MAX_PHOTO_PIXELS, BlazePose
from dptn_tf.serving.rest_client import RestModel
from helpers.training import TINY_GENERATOR


@pytest.fixture(scope="module")
def demo(demo_run, pose_models_dir):
    model = GeneratorModel(demo_run / GENERATOR_NAME, None, [])
    pose = np.full((18, 2), 10.0)
    return PoseTransferDemo(model, BlazePose(pose_models_dir), {"a.jpg": pose})


def test_bad_photos_are_answered_in_the_page(demo, nobody_photo, tmp_path):
    (tmp_path / "notes.jpg").write_text("not a photo")
    side = int(MAX_PHOTO_PIXELS**0.5) + 1
    Image.new("RGB", (side, side)).save(tmp_path / "huge.png")
    for path, message in (
        (tmp_path / "notes.jpg", "not a readable image"),
        (tmp_path / "huge.png", "over the limit"),
        (nobody_photo, "no person found"),
    ):
        view, state, pose, answer = demo.use_source(str(path))
        assert state is None and message in answer, answer
    assert "no person found" in demo.use_pose_photo(str(nobody_photo))[2]
    assert "no photo given" in demo.use_source(None)[3]  # a webcam cleared


def test_a_result_and_its_attention(demo, full_body_photo):
    frame = np.asarray(Image.open(full_body_photo))  # as the webcam gives it
    view, state, pose, answer = demo.use_source(frame)
    assert answer.startswith("Source: found") and view.ndim == 3
    assert demo.attention(state, (5, 5))[0] is None  # nothing generated yet
    result, skeleton, answer = demo.generate(state, demo.use_gallery_pose(0)[0])
    assert answer.startswith("Generated in") and result.dtype == np.uint8
    picture, answer = demo.attention(state, (3, 7))
    assert picture.shape[0] >= 256 and "last TTB" in answer


def test_a_generator_without_ptm_generates_and_says_why_there_is_no_attention(
    demo, demo_run, full_body_photo, tmp_path
):
    keras.utils.set_random_seed(0)
    build_generator(dataclasses.replace(TINY_GENERATOR, pose_transformer=False)).save(
        tmp_path / GENERATOR_NAME
    )
    shutil.copy(demo_run / CONFIG_NAME, tmp_path / CONFIG_NAME)
    model = GeneratorModel(tmp_path / GENERATOR_NAME, None, [])
    no_ptm = PoseTransferDemo(model, demo.extractor, {})
    assert not model.has_attention and "no Pose Transformer Module" in no_ptm.describe()
    _, state, pose, _ = no_ptm.use_source(str(full_body_photo))
    assert no_ptm.generate(state, pose)[2].startswith("Generated in")
    picture, answer = no_ptm.attention(state, (3, 7))
    assert picture is None and answer == (
        "This generator has no Pose Transformer Module, so no attention maps."
    )


def test_bad_poses_and_an_unreachable_server_are_answered(demo, full_body_photo):
    _, state, pose, _ = demo.use_source(str(full_body_photo))
    outside = json.loads(pose)
    outside[4] = [500, 3]
    for text, message in (
        ("[1, 2]", "18 [y, x] pairs"),
        ("{", "not JSON"),
        (json.dumps(outside), "outside the 64x32 frame: Rwri"),
    ):
        assert message in demo.generate(state, text)[2]
    assert "a photo of a person first" in demo.generate(None, pose)[2]
    served = PoseTransferDemo(
        RestModel("http://127.0.0.1:9/v1/models/dptn", (64, 32), 5), demo.extractor, {}
    )
    result, _, answer = served.generate(state, pose)
    assert result is None and "127.0.0.1:9" in answer, answer
    assert "need a .keras model" in served.attention(state, (1, 1))[1]
    assert demo.generate(state, pose)[2].startswith("Generated in")  # still serving


def test_the_gallery_of_a_run_is_found_from_another_folder(
    demo_run, synthetic_root, synthetic_settings, pose_models_dir, tmp_path, monkeypatch
):
    """`python train.py` in a project folder records `data.root` relative to it; the demo,
    started elsewhere, still shows that data set's test poses."""
    project = tmp_path / "project"
    shutil.copytree(synthetic_root, project / "data" / "synthetic")
    run = project / "runs" / "synthetic"
    run.mkdir(parents=True)
    shutil.copy(demo_run / GENERATOR_NAME, run / GENERATOR_NAME)
    size = list(synthetic_settings["image_size"])
    (run / CONFIG_NAME).write_text(
        yaml.safe_dump(
            {
                "data": {
                    "root": "data/synthetic",
                    "prefix": "synthetic",
                    "old_size": size,
                    "load_size": size,
                }
            }
        )
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    demo = load_demo(
        parse_args(["--run", "../project/runs/synthetic", "--weights-dir", str(pose_models_dir)])
    )
    annotations = project / "data" / "synthetic" / "synthetic-annotation-test.csv"
    assert demo.annotations == str(annotations)
    assert [name for name, _ in demo.gallery] == sorted(read_annotations(annotations))
    assert f"{len(demo.gallery)} poses of" in demo.describe()
