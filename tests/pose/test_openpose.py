"""OpenPose JSON import: BODY_25 and COCO-18 against hand-written cases, the person chosen, and
files that are not what they should be."""

import json

import numpy as np
import pytest

from dptn_tf.pose import MISSING, NoPersonFound, openpose_to_coco18, read_openpose_json


def _flat(points, confidence):
    """[(y, x)] and confidences -> OpenPose's flat x, y, confidence list."""
    return [v for (y, x), c in zip(points, confidence) for v in (x, y, c)]


def test_body_25_drops_the_mid_hip_and_the_feet():
    points = [(1000 + j, j) for j in range(25)]  # joint j at row 1000 + j, column j
    confidence = [0.9] * 25
    confidence[4] = 0.0  # right wrist not found
    keypoints = openpose_to_coco18(_flat(points, confidence))
    # COCO-18: nose, neck, R shoulder/elbow/wrist, L shoulder/elbow/wrist are BODY_25's 0-7;
    # R hip/knee/ankle 9-11 and L hip/knee/ankle 12-14 (8 is MidHip); eyes and ears 15-18.
    expected_columns = [0, 1, 2, 3, MISSING, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    np.testing.assert_array_equal(keypoints[:, 1], expected_columns)
    np.testing.assert_array_equal(
        keypoints[:, 0], [MISSING if c == MISSING else 1000 + c for c in expected_columns]
    )


def test_coco_18_is_taken_as_it_is():
    points = [(2.5 * j, 300 - j) for j in range(18)]
    confidence = [0.0 if j in (14, 17) else 0.7 for j in range(18)]
    keypoints = openpose_to_coco18(_flat(points, confidence))
    expected = np.array(points)
    expected[[14, 17]] = MISSING
    np.testing.assert_array_equal(keypoints, expected)


def test_the_most_confident_person_is_read(tmp_path):
    weak = _flat([(5, 5)] * 18, [0.2] * 18)
    strong = _flat([(j, 2 * j) for j in range(25)], [0.8] * 25)
    path = tmp_path / "photo_keypoints.json"
    path.write_text(
        json.dumps(
            {
                "version": 1.3,
                "people": [
                    {"person_id": [-1], "pose_keypoints_2d": weak, "face_keypoints_2d": []},
                    {"person_id": [-1], "pose_keypoints_2d": strong, "face_keypoints_2d": []},
                ],
            }
        )
    )
    keypoints = read_openpose_json(path)
    assert keypoints[1].tolist() == [1, 2] and keypoints[8].tolist() == [9, 18]


@pytest.mark.parametrize(
    "content, error, message",
    [
        ({"people": []}, NoPersonFound, r"photo.json: no person found"),
        ({"people": [{"pose_keypoints_2d": []}]}, NoPersonFound, r"no person found"),
        ({"persons": []}, ValueError, r"photo.json: not an OpenPose JSON file"),
        (
            {"people": [{"pose_keypoints_2d": [1.0] * 45}]},
            ValueError,
            r"photo.json: pose_keypoints_2d: expected 54 \(COCO-18\) or 75 \(BODY_25\)",
        ),
    ],
)
def test_files_that_are_not_a_pose_say_so(tmp_path, content, error, message):
    path = tmp_path / "photo.json"
    path.write_text(json.dumps(content))
    with pytest.raises(error, match=message):
        read_openpose_json(path)


def test_a_pose_drawn_on_the_frames_canvas_stays_as_it_is(tmp_path):
    """The web page's export (canvas of the frame's size) is already in the frame; OpenPose's
    own output (no canvas) is placed in the frame around its person."""
    from dptn_tf.inference.photo_transfer import placed_in_frame, pose_in_frame

    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(10, 250, 18), rng.uniform(10, 170, 18)], axis=-1)
    people = {"people": [{"pose_keypoints_2d": _flat(points, np.ones(18))}]}
    drawn = tmp_path / "drawn.json"
    drawn.write_text(json.dumps({**people, "canvas_height": 256, "canvas_width": 176}))
    np.testing.assert_allclose(pose_in_frame(str(drawn), (256, 176), None, 0.5), points)
    found = tmp_path / "found.json"
    found.write_text(json.dumps(people))
    np.testing.assert_allclose(
        pose_in_frame(str(found), (256, 176), None, 0.5), placed_in_frame(points, (256, 176))
    )
