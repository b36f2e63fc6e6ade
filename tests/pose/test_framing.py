"""Framing a photo's person: the window's aspect, its margin, staying inside the photo where it
can, edge padding where it cannot, and keypoints moved and scaled with it."""

import numpy as np
import pytest

from dptn_tf.pose import MISSING, Window, person_window

FRAME = (256, 176)


def _person(top, left, height, width):
    """Keypoints spread over a box, two joints missing."""
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([top, left], [top + height, left + width], (18, 2))
    keypoints[[0, -1]] = [top, left], [top + height, left + width]
    keypoints[[4, 9]] = MISSING
    return keypoints


def test_the_window_has_the_frames_aspect_and_room_around_the_joints():
    keypoints = _person(100, 300, 400, 120)  # tall and narrow: the height decides
    window = person_window(keypoints, FRAME, margin=0.1)
    assert window.height == 480 and abs(window.width - 480 * 176 / 256) <= 1
    assert (window.top, window.left) == (60, round(360 - window.width / 2))
    inside = window.keypoints_in(keypoints)
    present = inside[inside[:, 0] != MISSING]
    assert present.min() >= 40 - 1e-9 and present[:, 0].max() <= window.height - 40
    wide = person_window(_person(0, 0, 100, 400), FRAME, margin=0.0)  # the width decides
    assert wide.width == 400 and wide.height == round(400 * 256 / 176)


def test_the_window_moves_inside_the_photo_where_it_fits():
    keypoints = _person(10, 5, 300, 100)
    assert person_window(keypoints, FRAME).left < 0 and person_window(keypoints, FRAME).top < 0
    window = person_window(keypoints, FRAME, photo_size=(1000, 2000))
    assert window.top == 0 and window.left == 0
    short = person_window(keypoints, FRAME, photo_size=(200, 2000))  # too short to hold it
    assert short.top < 0 and short.left == 0


def test_crop_repeats_the_edge_and_within_cuts_it_off():
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    window = Window(top=-2, left=3, height=6, width=4)
    crop = window.crop(image)
    assert crop.shape == (6, 4, 3)
    np.testing.assert_array_equal(crop[0], crop[2])  # rows above the photo: its first row
    np.testing.assert_array_equal(crop[2:, :2], image[:, 3:5])
    np.testing.assert_array_equal(crop[:, 3], crop[:, 1])  # columns past its right edge
    rows, cols = window.within(image.shape[:2])
    np.testing.assert_array_equal(crop[rows, cols], image[0:4, 3:5])


def test_keypoints_follow_the_window_and_its_resize():
    window = Window(top=10, left=20, height=200, width=100)
    keypoints = np.array([[10.0, 20.0], [210.0, 120.0], [MISSING, MISSING]] + [[60.0, 70.0]] * 15)
    np.testing.assert_allclose(window.keypoints_in(keypoints)[:3], [[0, 0], [200, 100], [-1, -1]])
    np.testing.assert_allclose(
        window.keypoints_in(keypoints, (100, 25))[:3], [[0, 0], [100, 25], [-1, -1]]
    )


def test_a_person_of_one_point_cannot_be_framed():
    keypoints = np.full((18, 2), MISSING, np.float64)
    keypoints[3] = [50, 60]
    with pytest.raises(ValueError, match="cannot frame a person from 1 distinct joints"):
        person_window(keypoints, FRAME)
