"""The synthetic-person generator: PATN format, determinism, keypoints, atomic writes."""

import dataclasses
import filecmp
import json
import math

import numpy as np
import pytest

from dptn_tf.data import load_split, read_annotations, read_pairs
from dptn_tf.data.synthetic import dataset as synthetic_dataset
from dptn_tf.data.synthetic import (
    make_synthetic_dataset,
    render_person,
    sample_identity,
    sample_pose,
)

SIZE = (128, 64)


def identity_and_pose(seed=0, **pose_changes):
    rng = np.random.default_rng(seed)
    ident = sample_identity(rng)
    pose = dataclasses.replace(sample_pose(rng), **pose_changes)
    return ident, pose


def standing(yaw):
    """A plain standing pose, arms slightly out, seen from `yaw`."""
    return dict(
        yaw=yaw, head_turn=0.0, lean=0.0, arm_abduct=(0.3, 0.3), arm_flex=(0.0, 0.0),
        elbow_flex=(0.2, 0.2), elbow_in=(0.0, 0.0), hip_abduct=(0.05, 0.05),
        hip_flex=(0.0, 0.0), knee=(0.0, 0.0), scale=1.0, shift=(0.0, 0.0),
    )  # fmt: skip


def test_root_is_patn_format(synthetic_root):
    root = synthetic_root
    assert sorted(p.name for p in root.iterdir()) == [
        "synthetic-annotation-test.csv", "synthetic-annotation-train.csv",
        "synthetic-pairs-test.csv", "synthetic-pairs-train.csv", "test", "train",
    ]  # fmt: skip
    assert (
        (root / "synthetic-annotation-train.csv")
        .read_text()
        .startswith("name:keypoints_y:keypoints_x\n")
    )
    assert (root / "synthetic-pairs-train.csv").read_text().startswith("from,to\n")
    first = (root / "synthetic-annotation-train.csv").read_text().splitlines()[1].split(":")
    assert len(json.loads(first[1])) == 18 and all(type(v) is int for v in json.loads(first[2]))

    identities = {}
    for split, images in (("train", 12), ("test", 8)):
        index = load_split(root, split, "synthetic", old_size=(64, 32))  # validates every image
        annotations = read_annotations(root / f"synthetic-annotation-{split}.csv")
        assert len(annotations) == images == len(list((root / split).iterdir()))
        pairs = [(a, b) for _, a, b in read_pairs(root / f"synthetic-pairs-{split}.csv")]
        assert all(a.split("_")[0] == b.split("_")[0] and a != b for a, b in pairs)
        identities[split] = {name.split("_")[0] for name in annotations}
        assert index.num_pairs == (36 if split == "train" else 8)
        for keypoints in annotations.values():
            visible = keypoints[(keypoints != -1).all(axis=1)]
            assert np.all((keypoints == -1).all(axis=1) | (keypoints >= 0).all(axis=1))
            assert np.all(visible < (64, 32))
            assert len(visible) >= 8  # a person, not an empty frame
    assert not identities["train"] & identities["test"]


def test_same_seed_same_bytes(tmp_path, synthetic_root, synthetic_settings):
    again = make_synthetic_dataset(tmp_path / "again", **synthetic_settings)
    comparison = filecmp.dircmp(synthetic_root, again)
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    for split in ("train", "test"):
        names = sorted(p.name for p in (again / split).iterdir())
        _, mismatch, errors = filecmp.cmpfiles(
            synthetic_root / split, again / split, names, shallow=False
        )
        assert not mismatch and not errors
    other = make_synthetic_dataset(
        tmp_path / "other",
        image_size=(64, 32),
        num_train_identities=1,
        num_test_identities=1,
        poses_per_identity=2,
        seed=2,
    )
    first = sorted((other / "train").iterdir())[0]
    assert first.read_bytes() != (synthetic_root / "train" / first.name).read_bytes()


def test_person_is_large_on_a_light_background():
    ident, pose = identity_and_pose(3, **standing(0.0))
    image, _ = render_person(ident, pose, SIZE)
    assert image.shape == (*SIZE, 3) and image.dtype == np.uint8
    background = np.abs(image.astype(int) - image[0, 0]).sum(axis=-1) <= 3
    assert image[0, 0].mean() > 200
    rows = np.flatnonzero(~background.all(axis=1))
    assert rows[-1] - rows[0] > 0.7 * SIZE[0]


def test_one_backdrop_for_everyone_and_coarse_mostly_plain_clothes():
    identities = [sample_identity(np.random.default_rng(seed)) for seed in range(200)]
    corners = {
        tuple(render_person(ident, identity_and_pose(0, **standing(0.0))[1], SIZE)[0][0, 0])
        for ident in identities[:5]
    }
    assert len(corners) == 1  # the same backdrop pixel behind five people
    garments = [garment for ident in identities for garment in (ident.top, ident.bottom)]
    assert 0.5 < np.mean([garment.pattern == "solid" for garment in garments]) < 0.7
    assert min(garment.period for garment in garments) >= 0.07  # >= 7 pixels at 128x64


def test_front_side_and_back_views_hide_the_right_face_points():
    ident, _ = identity_and_pose(4)
    _, front = render_person(ident, identity_and_pose(4, **standing(0.0))[1], SIZE)
    _, back = render_person(ident, identity_and_pose(4, **standing(math.pi))[1], SIZE)
    _, side = render_person(ident, identity_and_pose(4, **standing(math.pi / 2))[1], SIZE)
    present = lambda k: set(np.flatnonzero((k != -1).all(axis=1)))  # noqa: E731
    assert present(front) == set(range(18))
    assert not present(back) & {0, 14, 15}  # nose and eyes turned away
    assert {16, 17} <= present(back)  # ears seen from behind
    # Turned by +90 degrees the person shows its right side: nose in profile, right eye and ear.
    assert {0, 1, 15, 17} <= present(side) and not {14, 16} & present(side)
    # In the front view the person's right shoulder is on the image's left, and the other way
    # round from behind.
    assert front[2, 1] < front[5, 1] and back[2, 1] > back[5, 1]


def test_keypoints_sit_on_the_person_and_outside_ones_are_missing():
    ident, pose = identity_and_pose(5, **standing(0.3))
    image, keypoints = render_person(ident, pose, SIZE)
    for y, x in keypoints[(keypoints != -1).all(axis=1)]:
        assert np.abs(image[y, x].astype(int) - image[0, 0]).sum() > 10
    raised = dict(standing(0.0), arm_abduct=(0.3, 1.57), shift=(0.0, 0.35))
    _, keypoints = render_person(ident, identity_and_pose(5, **raised)[1], SIZE)
    assert (keypoints[7] == -1).all()  # the left wrist is pushed out of the frame


def test_textures_move_with_the_body():
    ident, pose = identity_and_pose(6, **standing(0.2))
    image, keypoints = render_person(ident, pose, SIZE)
    moved = dataclasses.replace(pose, shift=(0.0, 8 / SIZE[1]))
    shifted, shifted_keypoints = render_person(ident, moved, SIZE)
    np.testing.assert_allclose(shifted[:, 8:].astype(int), image[:, :-8].astype(int), atol=1)
    visible = (keypoints != -1).all(axis=1) & (keypoints[:, 1] < SIZE[1] - 8)
    np.testing.assert_array_equal(shifted_keypoints[visible], keypoints[visible] + (0, 8))


def test_identities_differ_and_are_stable():
    images = [
        render_person(*identity_and_pose(seed, **standing(0.0)), SIZE)[0] for seed in range(4)
    ]
    for i in range(4):
        for j in range(i):
            assert np.abs(images[i].astype(int) - images[j].astype(int)).mean() > 5
    again = render_person(*identity_and_pose(2, **standing(0.0)), SIZE)[0]
    np.testing.assert_array_equal(again, images[2])


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render_person(*args, **kwargs)

    monkeypatch.setattr(synthetic_dataset, "render_person", failing)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_dataset(
            tmp_path / "root",
            image_size=(32, 16),
            num_train_identities=2,
            num_test_identities=1,
            poses_per_identity=2,
        )
    assert list(tmp_path.iterdir()) == []


def test_existing_root_needs_overwrite(tmp_path):
    (tmp_path / "root").mkdir()
    with pytest.raises(FileExistsError, match="overwrite"):
        make_synthetic_dataset(tmp_path / "root", num_train_identities=1)
    root = make_synthetic_dataset(
        tmp_path / "root",
        image_size=(32, 16),
        num_train_identities=1,
        num_test_identities=1,
        poses_per_identity=2,
        image_format="png",
        overwrite=True,
    )
    assert sorted(p.name for p in (root / "train").iterdir()) == [
        "id00000_000.png",
        "id00000_001.png",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
