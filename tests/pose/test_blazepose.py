"""BlazePose on real photos: MediaPipe's own landmarks reproduced, plausible COCO-18 joints, no
person where there is none, the 33 -> 18 mapping, both TF Lite runtimes, and the model files."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dptn_tf.data import read_rgb
from dptn_tf.files.weight_files import BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARKS
from dptn_tf.pose import MISSING, BlazePose, NoPersonFound, blazepose_to_coco18

REFERENCE = json.loads((Path(__file__).with_name("mediapipe_landmarks.json")).read_text())

# COCO-18 indices, OpenPose's meaning (each side the person's own).
NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = range(8)
R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, R_EYE, L_EYE, R_EAR, L_EAR = range(8, 18)


@pytest.fixture(scope="module")
def blazepose(pose_models_dir):
    return BlazePose(pose_models_dir)


@pytest.mark.parametrize("photo", ["upper_body_photo", "full_body_photo"])
def test_landmarks_are_mediapipes(blazepose, photo, request):
    """Against MediaPipe 0.10.21 itself (`make_mediapipe_reference.py`): the landmarks it is sure
    of within 6 pixels (1% of the body), most within one; the remainder is OpenCV's fixed-point
    bilinear crop, which the numpy crop does not reproduce bit for bit."""
    path = request.getfixturevalue(photo)
    expected = np.array(REFERENCE["landmarks"][path.name])
    points, visibility = blazepose.landmarks(read_rgb(path))
    assert points.shape == (33, 2) and visibility.shape == (33,)
    sure = expected[:, 2] > 0.5
    error = np.abs(points - expected[:, :2]).max(axis=1)[sure]
    assert sure.sum() >= 14 and error.max() < 6.0 and np.median(error) < 1.0, error.round(1)
    np.testing.assert_allclose(visibility, expected[:, 2], atol=0.08)


def test_full_body_joints_are_where_a_body_has_them(blazepose, full_body_photo):
    """The man in the beige coat, facing the camera: every joint found, head above shoulders
    above hips above knees above ankles, his right side on the picture's left."""
    keypoints = blazepose.keypoints(read_rgb(full_body_photo))
    assert np.all(keypoints != MISSING), keypoints
    y, x = keypoints[:, 0], keypoints[:, 1]
    assert max(y[[NOSE, R_EYE, L_EYE, R_EAR, L_EAR]]) < min(y[[NECK, R_SHOULDER, L_SHOULDER]])
    assert max(y[[R_SHOULDER, L_SHOULDER]]) < min(y[[R_HIP, L_HIP]])
    assert max(y[[R_HIP, L_HIP]]) < min(y[[R_KNEE, L_KNEE]])
    assert max(y[[R_KNEE, L_KNEE]]) < min(y[[R_ANKLE, L_ANKLE]])
    for right, left in ((R_SHOULDER, L_SHOULDER), (R_HIP, L_HIP), (R_EYE, L_EYE), (R_EAR, L_EAR)):
        assert x[right] < x[left], (right, left)
    neck = keypoints[[R_SHOULDER, L_SHOULDER]].mean(axis=0)
    np.testing.assert_allclose(keypoints[NECK], neck)
    assert x.max() < 300 and 350 < y.min() and y.max() < 900  # him, not his neighbours


def test_an_upper_body_photo_has_no_legs(blazepose, upper_body_photo):
    keypoints = blazepose.keypoints(read_rgb(upper_body_photo))
    legs = [R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE]
    assert np.all(keypoints[legs] == MISSING)
    head_and_shoulders = [NOSE, NECK, R_SHOULDER, L_SHOULDER, R_EYE, L_EYE]
    assert np.all(keypoints[head_and_shoulders] != MISSING)
    assert keypoints[NOSE, 0] < keypoints[NECK, 0] and keypoints[R_EYE, 1] < keypoints[L_EYE, 1]


def test_the_visibility_threshold_decides_what_is_missing(blazepose, upper_body_photo):
    image = read_rgb(upper_body_photo)
    present = [
        int(np.sum(blazepose.keypoints(image, t)[:, 0] != MISSING)) for t in (0.0, 0.5, 0.9, 1.01)
    ]
    assert present[0] >= present[1] >= present[2] >= present[3] == 0 and present[0] > present[2]


def test_a_photo_with_nobody_says_no_person_found(blazepose, nobody_photo):
    with pytest.raises(NoPersonFound, match=r"coffee.png: no person found \(the detector"):
        blazepose.keypoints(read_rgb(nobody_photo), name=str(nobody_photo))


def test_the_33_to_18_mapping():
    landmarks = np.stack([np.arange(33.0), 100.0 + np.arange(33)], axis=-1)  # i at (i, 100 + i)
    visibility = np.ones(33)
    expected_rows = [0, 11.5, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7]
    np.testing.assert_array_equal(
        blazepose_to_coco18(landmarks, visibility),
        np.stack([expected_rows, np.add(expected_rows, 100)], -1),
    )
    visibility[[12, 28, 2]] = [0.49, 0.2, 0.5]  # right shoulder (and so the neck), right ankle
    keypoints = blazepose_to_coco18(landmarks, visibility)
    missing = np.flatnonzero(keypoints[:, 0] == MISSING).tolist()
    assert missing == [NECK, R_SHOULDER, R_ANKLE]  # visibility 0.5 is enough (left eye, 2)
    assert missing == np.flatnonzero(np.all(keypoints == MISSING, axis=1)).tolist()
    assert np.sum(blazepose_to_coco18(landmarks, visibility, threshold=0.1) == MISSING) == 0


def test_both_runtimes_agree(pose_models_dir, full_body_photo):
    pytest.importorskip("ai_edge_litert", reason="the litert runtime needs ai-edge-litert")
    image = read_rgb(full_body_photo)
    litert, tflite = (BlazePose(pose_models_dir, runtime=r) for r in ("litert", "tflite"))
    assert (litert.runtime, tflite.runtime) == ("ai_edge_litert", "tensorflow")
    np.testing.assert_allclose(litert.keypoints(image), tflite.keypoints(image), atol=0.05)


def test_missing_model_files_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(FileNotFoundError) as error:
        BlazePose(tmp_path / "empty")
    message = str(error.value)
    assert "pose_detection.tflite" in message and str(tmp_path / "empty") in message
    assert "Run `python tools/fetch_pose_models.py`" in message


def test_a_damaged_model_file_is_refused_naming_it(pose_models_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for file in (BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARKS):
        shutil.copy(pose_models_dir / file.pattern, tmp_path)
    damaged = tmp_path / BLAZEPOSE_LANDMARKS.pattern
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(
        ValueError,
        match=rf"{damaged}: SHA-256 .*expected "
        rf"{BLAZEPOSE_LANDMARKS.sha256}.*fetch_pose_models",
    ):
        BlazePose(tmp_path)
