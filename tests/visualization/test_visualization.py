import numpy as np
import pytest

from dptn_tf.pose import JOINT_COLORS, LIMB_COLORS
from dptn_tf.visualization import draw_skeleton, image_grid, to_uint8


def test_to_uint8():
    np.testing.assert_array_equal(to_uint8(np.array([-1.0, 0.0, 1.0, 2.0])), [0, 128, 255, 255])


def keypoints():
    points = np.full((18, 2), -1)
    points[1] = (10, 20)  # neck
    points[2] = (10, 10)  # right shoulder
    points[3] = (30, 10)  # right elbow
    return points


def test_draw_skeleton_joints_and_limbs():
    canvas = draw_skeleton(keypoints(), (48, 32), radius=2)
    assert canvas.shape == (48, 32, 3) and canvas.dtype == np.uint8
    assert tuple(canvas[10, 20]) == JOINT_COLORS[1]
    assert tuple(canvas[30, 10]) == JOINT_COLORS[3]
    assert tuple(canvas[20, 10]) == LIMB_COLORS[2]  # limb (2, 3) halfway down
    assert canvas[40:].max() == 0  # nothing where no joint is


def test_missing_joints_draw_nothing():
    points = keypoints()
    points[3] = (-1, 10)  # either coordinate -1 means missing
    canvas = draw_skeleton(points, (48, 32))
    assert canvas[15:].max() == 0


def test_overlay_keeps_the_image_and_fades_it():
    image = np.full((48, 32, 3), 100, np.uint8)
    canvas = draw_skeleton(keypoints(), (48, 32), image, fade=0.5)
    assert tuple(canvas[45, 30]) == (178, 178, 178)
    assert tuple(canvas[10, 20]) == JOINT_COLORS[1]
    assert (image == 100).all()
    with pytest.raises(ValueError, match="expected \\(48, 32, 3\\)"):
        draw_skeleton(keypoints(), (48, 32), image[:, :16])


def test_image_grid():
    images = [np.full((4, 3, 3), v, np.uint8) for v in (10, 20, 30)]
    grid = image_grid(images, columns=2, padding=1, background=0)
    assert grid.shape == (2 * 5 + 1, 2 * 4 + 1, 3)
    assert grid[1, 1, 0] == 10 and grid[1, 5, 0] == 20 and grid[6, 1, 0] == 30
    assert grid[6, 5, 0] == 0 and grid[0].max() == 0
    with pytest.raises(ValueError, match="image 1: expected uint8"):
        image_grid([images[0], np.zeros((4, 4, 3), np.uint8)], columns=2)


def test_image_grid_scale_and_column_labels():
    images = [np.full((4, 3, 3), v, np.uint8) for v in (10, 20, 30, 40)]
    grid = image_grid(
        images, columns=2, padding=1, background=255, scale=3, labels=["source", "generated"]
    )
    header = grid.shape[0] - (2 * (3 * 4 + 1) + 1)
    assert header > 0 and grid.shape[1] == 2 * (3 * 3 + 1) + 1
    # Each pixel became a 3x3 block, below the label row.
    assert (grid[header + 1 : header + 13, 1:10] == 10).all()
    assert (grid[header + 14 : header + 26, 11:20] == 40).all()
    # Dark text over each column, nowhere else in the label row's margins.
    for left, right in ((1, 10), (11, 20)):
        assert grid[:header, left:right].min() < 128
    with pytest.raises(ValueError, match="1 labels for 2 columns"):
        image_grid(images, columns=2, labels=["source"])
