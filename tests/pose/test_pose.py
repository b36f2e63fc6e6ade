import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.pose import (
    JOINT_COLORS,
    JOINT_NAMES,
    LIMB_COLORS,
    LIMBS,
    MISSING,
    keypoints_to_heatmaps,
    scale_keypoints,
)


def load(fixtures_dir, name):
    path = fixtures_dir / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    return np.load(path)


def test_constants_follow_the_official_skeleton():
    assert len(JOINT_NAMES) == 18 and JOINT_NAMES[1] == "neck" and JOINT_NAMES[17] == "Lear"
    # The limbs join each ear to the shoulder of its own side.
    assert {(2, 16), (5, 17)} <= set(LIMBS) and JOINT_NAMES[2][0] == JOINT_NAMES[16][0] == "R"
    assert len(LIMBS) == 19 and LIMBS[0] == (1, 2) and LIMBS[-1] == (5, 17)
    assert len(JOINT_COLORS) == 18 and len(LIMB_COLORS) == 19
    assert MISSING == -1


@pytest.mark.parametrize("role", ["source", "target"])
def test_market_fixture_maps_are_reproduced(fixtures_dir, role):
    data = load(fixtures_dir, "dptn_market_128x64.npz")
    maps = keypoints_to_heatmaps(data[f"{role}_keypoints"], (128, 64), (128, 64), sigma=6.0)
    assert maps.dtype == tf.float32 and maps.shape == (2, 128, 64, 18)
    np.testing.assert_allclose(maps.numpy(), data[f"{role}_pose"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("load_size", [(256, 256), (128, 88)])
def test_fashion_rescale_and_truncation(fixtures_dir, load_size):
    data = load(fixtures_dir, "pose_maps_fashion.npz")
    expected = data[f"maps_{load_size[0]}x{load_size[1]}"]
    old_size = tuple(int(v) for v in data["old_size"])
    maps = keypoints_to_heatmaps(data["keypoints"], old_size, load_size)
    np.testing.assert_allclose(maps.numpy(), expected, rtol=0, atol=1e-6)
    # One old_size per batch element, as the serving graph passes the decoded image sizes.
    per_image = np.tile(data["old_size"][None], (len(expected), 1))
    maps = keypoints_to_heatmaps(data["keypoints"], tf.constant(per_image), load_size)
    np.testing.assert_allclose(maps.numpy(), expected, rtol=0, atol=1e-6)


def test_unbatched_graph_and_dynamic_old_size(fixtures_dir):
    data = load(fixtures_dir, "pose_maps_fashion.npz")

    @tf.function(input_signature=[tf.TensorSpec([18, 2]), tf.TensorSpec([2], tf.int32)])
    def render(keypoints, old_size):
        return keypoints_to_heatmaps(keypoints, old_size, (128, 88))

    maps = render(data["keypoints"][2], tf.constant([256, 176]))
    assert maps.shape == (128, 88, 18)
    np.testing.assert_allclose(maps.numpy(), data["maps_128x88"][2], rtol=0, atol=1e-6)


def test_peak_position_and_missing_joints():
    keypoints = np.full((18, 2), -1.0, np.float32)
    keypoints[0] = (10, 20)  # present
    keypoints[1] = (-1, 5)  # either coordinate -1 means missing
    keypoints[2] = (7, -1)
    maps = keypoints_to_heatmaps(keypoints, (64, 64), (32, 32)).numpy()
    assert np.unravel_index(maps[..., 0].argmax(), (32, 32)) == (5, 10)
    assert maps[5, 10, 0] == 1.0
    assert np.all(maps[..., 1:] == 0)


def test_scale_keypoints_truncates_and_keeps_missing():
    keypoints = np.array([[255, 175], [-1, 40], [128, 88]] + [[-1, -1]] * 15, np.float32)
    scaled = scale_keypoints(keypoints, (256, 176), (128, 88)).numpy()
    assert scaled.dtype == np.int32
    np.testing.assert_array_equal(scaled[:3], [[127, 87], [-1, -1], [64, 44]])
    assert (scaled[3:] == -1).all()
    batched = scale_keypoints(
        np.stack([keypoints] * 2), tf.constant([[256, 176], [128, 88]]), (128, 88)
    )
    np.testing.assert_array_equal(batched[1, 0], [255, 175])
