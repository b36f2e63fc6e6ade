"""dptn-make-dataset on real footage: a few seconds of OpenCV's `vtest.avi` (pedestrians) -> a
PATN root that train.py trains on; resuming after a kill; refusals; the photo-folder path; the
tracker on two people who cross."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason='needs OpenCV: pip install -e ".[video]"')

from dptn_tf.cli import make_dataset as cli  # noqa: E402
from dptn_tf.data import load_split, read_annotations, read_pairs  # noqa: E402
from dptn_tf.data.footage.tracking import track_people  # noqa: E402
from helpers.train_cli import REPO, run  # noqa: E402
from helpers.training import TINY_MODEL  # noqa: E402

FIRST_FRAME, FRAMES = 300, 40  # 4 s of vtest.avi: five walkers, two of them crossing
ARGS = ["--split", "frames", "--quiet"]


def write_video(path: Path, frames, fps: float = 10.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(street_video, tmp_path_factory) -> Path:
    capture = cv2.VideoCapture(str(street_video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, FIRST_FRAME)
    frames = [capture.read()[1][..., ::-1] for _ in range(FRAMES)]
    capture.release()
    return write_video(tmp_path_factory.mktemp("clip") / "street.avi", frames)


def make(inputs, root, *extra, weights=None) -> int:
    return cli.main([*map(str, inputs), str(root), "--weights-dir", str(weights), *ARGS, *extra])


@pytest.fixture(scope="module")
def clip_root(clip, pose_models_dir, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("made") / "street"
    assert make([clip], root, weights=pose_models_dir) == 0
    return root


def test_a_video_becomes_a_root_with_its_summary(clip_root):
    summary = json.loads((clip_root / "summary.json").read_text())
    kept = summary["people_detected"] - sum(summary["removed"].values())
    assert summary["images"]["train"] + summary["images"]["test"] == kept
    assert summary["identities"]["train"] >= 3, summary  # five people walk through the clip
    for split in ("train", "test"):
        data = load_split(clip_root, split, "footage", old_size=(128, 64))
        annotated = read_annotations(clip_root / f"footage-annotation-{split}.csv")
        assert len(annotated) == summary["images"][split] and set(data.names) <= set(annotated)
        for source, target in data.pair_names():  # a pair is one person in two poses
            assert source.split("_")[0] == target.split("_")[0] and source != target
        present = (data.keypoints >= 0).all(axis=-1).sum(axis=-1)
        assert present.min() >= 13  # --min-joints


def test_train_py_and_the_real_people_benchmark_on_a_made_root(
    clip, clip_root, pose_models_dir, tmp_path
):
    """The root made again from its kept detections with --split both, trained on by train.py;
    then benchmarks/real_people.py's figures (seen and unseen people) and pictures of the run."""
    root = shutil.copytree(clip_root, tmp_path / "street")
    assert make([clip], root, "--split", "both", "--overwrite", weights=pose_models_dir) == 0
    overrides = [*TINY_MODEL, f"data.root={root}", "data.prefix=footage",
                 "data.load_size=[64,32]", "data.old_size=[128,64]", "data.batch_size=2",
                 "train.steps_per_epoch=2", "train.niter=1", "train.niter_decay=0",
                 "train.validation_steps=1", "train.sample_pairs=2"]  # fmt: skip
    run_dir = tmp_path / "run"
    result = run([sys.executable, str(REPO / "train.py"), "--config",
                  str(REPO / "configs/synthetic.yaml"), "--run-dir", str(run_dir),
                  *(a for item in overrides for a in ("--set", item))])  # fmt: skip
    assert "Validation" in result.stdout + result.stderr
    benchmark = [sys.executable, str(REPO / "benchmarks/real_people.py"), "--run", str(run_dir),
                 "--pictures", str(tmp_path / "pictures")]  # fmt: skip
    result = run(benchmark)
    figures = json.loads((run_dir / "real_people.json").read_text())
    summary = json.loads((root / "summary.json").read_text())
    unseen_pairs = len(read_pairs(root / "footage-pairs-test-unseen.csv"))
    assert figures["unseen"]["pairs"] == unseen_pairs >= 1
    assert figures["lpips"].startswith(("computed", "not computed"))
    assert summary["identities"]["unseen_in_test"] >= 1
    for side in ("generated", "copy_source"):
        assert 0 < figures["unseen"][side]["l1"] < 1
    assert f"unseen people ({unseen_pairs}), generated" in result.stdout
    for name in ("grid", "gallery", "attention"):
        assert (tmp_path / "pictures" / f"real_people_{name}.png").stat().st_size > 1000


def test_a_rerun_leaves_the_root_and_other_settings_are_refused(
    clip, clip_root, pose_models_dir, capsys
):
    before = (clip_root / "footage-pairs-train.csv").read_text()
    assert make([clip], clip_root, weights=pose_models_dir) == 0
    assert "already made" in capsys.readouterr().err
    assert make([clip], clip_root, "--min-joints", "15", weights=pose_models_dir) == 1
    assert "made from other inputs or settings" in capsys.readouterr().err
    assert (clip_root / "footage-pairs-train.csv").read_text() == before


def test_a_remake_with_other_filters_reuses_the_detections(
    clip, clip_root, pose_models_dir, tmp_path, monkeypatch
):
    from dptn_tf.data.footage.people import PeopleFinder

    def no_detecting(*args):
        raise AssertionError("detected again")

    monkeypatch.setattr(PeopleFinder, "in_frame", no_detecting)
    root = shutil.copytree(clip_root, tmp_path / "street")
    assert make([clip], root, "--min-joints", "15", "--overwrite", weights=pose_models_dir) == 0
    summary = json.loads((root / "summary.json").read_text())
    assert summary["made_from"]["min_joints"] == 15
    before = json.loads((clip_root / "summary.json").read_text())
    assert summary["removed"]["few_joints"] > before["removed"]["few_joints"]


def test_a_killed_run_resumes_and_makes_the_same_root(clip, clip_root, pose_models_dir, tmp_path):
    root = tmp_path / "street"
    command = [sys.executable, str(REPO / "tools/make_dataset.py"), str(clip), str(root),
               "--weights-dir", str(pose_models_dir), *ARGS]  # fmt: skip
    saved = tmp_path / ".street.making" / "detections-street.json"
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not saved.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert saved.exists() and not root.exists()
    assert not json.loads(saved.read_text())["done"]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming at frame 25 of 40" in result.stderr
    for name in ("footage-annotation-train.csv", "footage-pairs-train.csv",
                 "footage-annotation-test.csv", "footage-pairs-test.csv"):  # fmt: skip
        assert (root / name).read_text() == (clip_root / name).read_text(), name
    assert not (tmp_path / ".street.making").exists()


def test_every_other_frame_split_both_ways(clip, clip_root, pose_models_dir, tmp_path):
    """--every 2: the tracks still join (their gap is counted in video frames); --split both:
    unseen people are not in training, and the test pairs are the seen and unseen ones."""
    root = tmp_path / "street"
    args = ["--every", "2", "--split", "both", "--test-fraction", "0.3"]
    assert make([clip], root, *args, weights=pose_models_dir) == 0
    summary = json.loads((root / "summary.json").read_text())
    unseen = set(summary["unseen_test_identities"])
    assert summary["identities"]["unseen_in_test"] == len(unseen) >= 1
    train = {n.rsplit("_", 1)[0] for n in read_annotations(root / "footage-annotation-train.csv")}
    assert train and unseen.isdisjoint(train)
    groups = {g: read_pairs(root / f"footage-pairs-test-{g}.csv") for g in ("seen", "unseen")}
    test = read_pairs(root / "footage-pairs-test.csv")
    assert sorted(p[1:] for g in groups.values() for p in g) == sorted(p[1:] for p in test)
    assert all(a.rsplit("_", 1)[0] in unseen for _, a, _ in groups["unseen"])
    assert groups["unseen"]  # (4 s at every other frame: too few frames a person to hold out)
    frames = {
        int(n.rsplit("_", 1)[1][:6])
        for n in read_annotations(root / "footage-annotation-train.csv")
    }
    assert all(f % 2 == 0 for f in frames)


def test_a_second_writer_is_refused(clip, pose_models_dir, tmp_path, capsys):
    from dptn_tf.files.directory_lock import exclusive_directory

    with exclusive_directory(tmp_path / ".street.making", "another dptn-make-dataset"):
        assert make([clip], tmp_path / "street", weights=pose_models_dir) == 1
    assert "another dptn-make-dataset" in capsys.readouterr().err
    assert not (tmp_path / "street").exists()


def grey_video(path: Path) -> Path:
    return write_video(path, [np.full((240, 320, 3), 128, np.uint8)] * 5)


def truncated_video(path: Path, clip: Path) -> Path:
    data = clip.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "make_input, message",
    [
        (lambda d, clip: (d / "notes.txt").write_text("hello") and d / "notes.txt",
         "notes.txt: not a video"),
        (lambda d, clip: (d / "me.jpg").write_bytes(b"x") and d / "me.jpg",
         "me.jpg: a photo; give photos in a folder"),
        (lambda d, clip: (d / "empty").mkdir() or d / "empty", "empty: no photos"),
        (lambda d, clip: grey_video(d / "grey.avi"), "grey.avi: nobody found in its 5 frames"),
        (lambda d, clip: truncated_video(d / "cut.avi", clip), "cut.avi: frame "),
    ],
    ids=["text-file", "one-photo", "empty-folder", "nobody", "truncated"],
)  # fmt: skip
def test_bad_input_is_refused_by_name_and_nothing_is_written(
    make_input, message, clip, pose_models_dir, tmp_path, capsys
):
    (tmp_path / "in").mkdir()
    source = make_input(tmp_path / "in", clip)
    assert make([source], tmp_path / "out" / "root", weights=pose_models_dir) == 1
    error = capsys.readouterr().err
    assert message in error, error
    out = tmp_path / "out"
    assert not (out / "root").exists()
    assert not list(out.glob(".root.*")) if out.exists() else True  # no .tmp-, no .making


def test_photo_folders_one_per_person(clip_root, pose_models_dir, tmp_path, capsys):
    """Two people's photos (frames of the clip, framed and enlarged 3x as a phone's would be)."""
    from PIL import Image

    data = load_split(clip_root, "train", "footage")
    people = {}
    for name in data.names:
        people.setdefault(name.split("_")[0], []).append(name)
    folders = tmp_path / "photos"
    for person, names in sorted(people.items(), key=lambda item: -len(item[1]))[:2]:
        (folders / person).mkdir(parents=True)
        for name in names[:5]:
            image = Image.open(Path(data.image_dir) / name)
            image.resize((192, 384), Image.Resampling.BICUBIC).save(folders / person / name)
    root = tmp_path / "mine"
    result = cli.main([str(folders), str(root), "--weights-dir", str(pose_models_dir),
                       "--frame", "256x176", "--test-fraction", "0.5", "--quiet"])  # fmt: skip
    assert result == 0, capsys.readouterr().err
    summary = json.loads((root / "summary.json").read_text())
    assert summary["identities"] == {"train": 1, "test": 1, "unseen_in_test": 1}
    train = read_annotations(root / "footage-annotation-train.csv", frame=(256, 176))
    test = read_annotations(root / "footage-annotation-test.csv", frame=(256, 176))
    assert {n.split("_")[0] for n in train}.isdisjoint({n.split("_")[0] for n in test})
    assert all(a.split("_")[0] == b.split("_")[0]
               for _, a, b in read_pairs(root / "footage-pairs-test.csv"))  # fmt: skip


class Walker:
    def __init__(self, box, colors):
        self.box, self.colors = box, colors


def crossing(colors_a, colors_b, merged=range(9, 12)):
    """Two people walking towards each other along one line, 8 pixels a frame, passing at frame
    10; while they overlap most, the detector sees one box (`merged` frames)."""
    frames = []
    for t in range(21):
        a = Walker((100.0, 20.0 + 8 * t, 120.0, 50.0), colors_a)
        b = Walker((102.0, 180.0 - 8 * t, 118.0, 50.0), colors_b)
        frames.append((t, [a] if t in merged else [a, b]))
    return frames


@pytest.mark.parametrize("same_clothes", [False, True])
def test_two_people_who_cross_keep_their_identities(same_clothes):
    red, blue = np.array([50.0, 60, 40] * 2), np.array([40.0, 10, -50] * 2)
    frames = crossing(red, red if same_clothes else blue)
    tracks = [t for t in track_people(frames) if len(t) > 1]
    assert len(tracks) == 2, tracks
    for track in tracks:
        lefts = [dict(frames)[f][i].box[1] for f, i in track]
        steps = np.diff(lefts)
        assert (steps > 0).all() or (steps < 0).all(), lefts  # each keeps its own direction
        assert track[-1][0] == 20


def test_different_clothes_do_not_join_one_track():
    red, blue = np.array([50.0, 60, 40] * 2), np.array([40.0, 10, -50] * 2)
    frames = [(0, [Walker((100.0, 50.0, 120.0, 50.0), red)]),
              (1, [Walker((100.0, 52.0, 120.0, 50.0), blue)])]  # fmt: skip
    assert track_people(frames) == [[(0, 0)], [(1, 0)]]
