"""The photo tools through their entry points: fetch_pose_models.py, keypoints.py (photos and
OpenPose files -> a PATN split) and transfer.py (photo -> keypoints -> a person in a new pose)."""

import importlib
import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, DataConfig, ModelConfig
from dptn_tf.data import load_split, read_annotations, read_rgb, write_pairs
from dptn_tf.export.savedmodel import export_saved_model
from dptn_tf.files.weight_files import BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARKS
from dptn_tf.inference.tensorflow_models import SavedModel
from dptn_tf.models import build_generator
from dptn_tf.pose import BlazePose, person_window

REPO = Path(__file__).resolve().parents[2]
MODELS = (BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARKS)
FRAME, LOAD_SIZE = (64, 44), (64, 48)
TINY = ModelConfig(ngf=8, img_f=32, layers=3, num_blocks=1, nhead=2, num_cabs=1, num_ttbs=1)


def _tool(name):
    return importlib.import_module(f"dptn_tf.cli.{name}")


fetch_tool, keypoints_tool, transfer_tool = (
    _tool(n) for n in ("fetch_pose_models", "keypoints", "transfer")
)


@pytest.fixture(autouse=True)
def models_only_where_given(tmp_path, monkeypatch, pose_models_dir):
    """The tools find the model files through $DPTN_WEIGHTS_DIR, as a user's would."""
    monkeypatch.setenv("DPTN_WEIGHTS_DIR", str(pose_models_dir))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_fetch_takes_the_files_out_of_a_wheel_and_checks_them(pose_models_dir, tmp_path, capsys):
    wheel = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "")
        for model, folder in zip(MODELS, ("pose_detection", "pose_landmark")):
            archive.write(
                pose_models_dir / model.pattern, f"mediapipe/modules/{folder}/{model.pattern}"
            )
    destination = tmp_path / "weights"
    assert fetch_tool.main(["--wheel", str(wheel), "--weights-dir", str(destination)]) == 0
    out = capsys.readouterr().out
    for model in MODELS:
        assert (destination / model.pattern).read_bytes() == (
            pose_models_dir / model.pattern
        ).read_bytes()
        assert f"wrote {destination / model.pattern}" in out
    assert sorted(p.name for p in destination.iterdir()) == sorted(m.pattern for m in MODELS)
    BlazePose(destination)  # loads: the library finds and accepts what the tool wrote


def test_fetch_refuses_a_damaged_file_and_writes_nothing(pose_models_dir, tmp_path, capsys):
    damaged = tmp_path / "given" / BLAZEPOSE_DETECTOR.pattern
    damaged.parent.mkdir()
    damaged.write_bytes((pose_models_dir / BLAZEPOSE_DETECTOR.pattern).read_bytes()[:-10])
    good = pose_models_dir / BLAZEPOSE_LANDMARKS.pattern
    destination = tmp_path / "weights"
    status = fetch_tool.main(
        ["--files", str(good), str(damaged), "--weights-dir", str(destination)]
    )
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1
    assert f"error: {damaged}: SHA-256" in error and BLAZEPOSE_DETECTOR.sha256 in error
    assert not destination.exists() or not any(destination.iterdir())
    assert fetch_tool.main(["--wheel", str(damaged), "--weights-dir", str(destination)]) == 1
    assert "not a wheel" in capsys.readouterr().err


def test_photos_become_a_patn_split(
    full_body_photo, upper_body_photo, nobody_photo, tmp_path, capsys
):
    root = tmp_path / "mine"
    args = [
        str(full_body_photo),
        str(upper_body_photo),
        str(nobody_photo),
        "--frame",
        f"{FRAME[0]}x{FRAME[1]}",
        "--images-out",
        str(root / "test"),
        "--csv",
        str(root / "mine-annotation-test.csv"),
        "--overlay",
        str(tmp_path / "seen"),
    ]
    assert keypoints_tool.main(args) == 1  # the coffee cup is left out, and said so
    error = capsys.readouterr().err
    assert f"error: {nobody_photo}: no person found" in error and "1 of 3 inputs left out" in error
    rows = read_annotations(root / "mine-annotation-test.csv")
    assert sorted(rows) == ["astronaut.png", "bus.jpg"]
    assert np.all(rows["bus.jpg"] >= 0) and np.all(rows["astronaut.png"][8:14] == -1)
    assert np.all(rows["bus.jpg"] < FRAME)
    write_pairs(root / "mine-pairs-test.csv", [("astronaut.png", "bus.jpg")])
    split = load_split(root, "test", "mine", old_size=FRAME)  # checks sizes and decodes
    assert split.num_pairs == 1
    assert read_rgb(tmp_path / "seen" / "bus.png").shape == (*FRAME, 3)


def test_rows_are_in_the_photos_own_pixels_without_a_frame(full_body_photo, capsys):
    assert keypoints_tool.main([str(full_body_photo)]) == 0
    header, row = capsys.readouterr().out.strip().split("\n")
    name, rows_y, rows_x = row.split(":")
    expected = BlazePose().keypoints(read_rgb(full_body_photo))
    assert header == "name:keypoints_y:keypoints_x" and name == "bus.jpg"
    np.testing.assert_allclose(
        np.stack([json.loads(rows_y), json.loads(rows_x)], -1), expected, atol=0.5
    )


def test_openpose_files_become_rows(tmp_path, capsys):
    flat = [v for j in range(25) for v in (10.4 * j, 3.6 * j, 0.0 if j == 3 else 0.8)]
    (tmp_path / "me_keypoints.json").write_text(
        json.dumps({"people": [{"pose_keypoints_2d": flat}]})
    )
    csv = tmp_path / "rows.csv"
    assert (
        keypoints_tool.main(
            [
                "--openpose",
                str(tmp_path / "me_keypoints.json"),
                "--image-suffix",
                ".png",
                "--csv",
                str(csv),
            ]
        )
        == 0
    )
    keypoints = read_annotations(csv)["me.png"]
    assert keypoints[3].tolist() == [-1, -1] and keypoints[8].tolist() == [32, 94]  # joint 9


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny random generator as train.py leaves it (generator.keras + config.yaml) and its
    SavedModel export."""
    folder = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    generator = build_generator(TINY)
    generator.save(folder / GENERATOR_NAME)
    (folder / CONFIG_NAME).write_text(
        yaml.safe_dump({"data": {"old_size": list(FRAME), "load_size": list(LOAD_SIZE)}})
    )
    export = export_saved_model(
        generator, folder / "export", DataConfig(old_size=FRAME, load_size=LOAD_SIZE)
    )
    return folder, export


def test_photo_to_keypoints_to_a_new_pose(
    tiny_model, upper_body_photo, full_body_photo, tmp_path, capsys
):
    """The round trip: keypoints of the full-body photo as a PATN row, then the astronaut in
    that pose, at her window of the photo; the .keras and the SavedModel paths agree."""
    run, export = tiny_model
    csv = tmp_path / "pose.csv"
    assert (
        keypoints_tool.main(
            [
                str(full_body_photo),
                "--frame",
                f"{FRAME[0]}x{FRAME[1]}",
                "--images-out",
                str(tmp_path / "framed"),
                "--csv",
                str(csv),
            ]
        )
        == 0
    )
    row = csv.read_text().splitlines()[1]
    results = {}
    for name, model, pose in (
        ("keras_row", ["--generator", str(run / "generator.keras")], row),
        ("keras_photo", ["--generator", str(run / "generator.keras")], str(full_body_photo)),
        ("saved_model", ["--saved-model", str(export)], str(full_body_photo)),
    ):
        out = tmp_path / f"{name}.png"
        status = transfer_tool.main(
            ["--source", str(upper_body_photo), "--pose", pose, *model, "--out", str(out)]
        )
        assert status == 0, capsys.readouterr().err
        results[name] = read_rgb(out).astype(int)
    photo = read_rgb(upper_body_photo)
    window = person_window(BlazePose().keypoints(photo), FRAME, photo.shape[:2])
    rows, cols = window.within(photo.shape[:2])
    expected_shape = (rows.stop - rows.start, cols.stop - cols.start, 3)
    assert all(image.shape == expected_shape for image in results.values())
    assert abs(expected_shape[0] / expected_shape[1] - FRAME[0] / FRAME[1]) < 0.01
    assert np.abs(results["keras_photo"] - results["saved_model"]).max() <= 2
    # The row holds integers, the photo's pose floats: the heatmaps may move by a pixel.
    assert np.abs(results["keras_row"] - results["keras_photo"]).mean() < 8
    assert f"wrote {tmp_path / 'saved_model.png'} ({expected_shape[1]}x{expected_shape[0]})" in (
        capsys.readouterr().out
    )


def test_transfer_says_what_is_wrong(tiny_model, upper_body_photo, nobody_photo, tmp_path, capsys):
    run, _ = tiny_model
    cases = [
        (
            ["--source", str(nobody_photo), "--pose", str(upper_body_photo)],
            f"{nobody_photo}: no person found",
        ),
        (
            ["--source", str(upper_body_photo), "--pose", "not a pose"],
            "not a photo, an OpenPose .json file nor a PATN row",
        ),
        (
            ["--source", str(upper_body_photo), "--pose", "x.jpg:[1, 2]:[3, 4]"],
            "--pose: keypoints_y must be a JSON list of 18 integers",
        ),
    ]
    for args, message in cases:
        out = tmp_path / "result.png"
        assert (
            transfer_tool.main(
                [*args, "--generator", str(run / "generator.keras"), "--out", str(out)]
            )
            == 1
        )
        assert message in capsys.readouterr().err and not out.exists()
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "generator.keras").write_bytes((run / "generator.keras").read_bytes())
    assert (
        transfer_tool.main(
            [
                "--source",
                str(upper_body_photo),
                "--pose",
                str(upper_body_photo),
                "--generator",
                str(tmp_path / "alone" / "generator.keras"),
                "--out",
                str(tmp_path / "r.png"),
            ]
        )
        == 1
    )
    assert "give --config" in capsys.readouterr().err


def test_a_checkpoint_converted_with_its_frame_needs_no_config(
    fixtures_dir, upper_body_photo, tmp_path, capsys
):
    """The official Market checkpoint converted with `--dataset market` records its frame:
    transfer and export take the generator alone, and put the result in that frame."""
    pytest.importorskip("torch", reason="reading a .pth needs torch (the torch extra)")
    from dptn_tf.cli import convert_torch_checkpoint, export

    out = tmp_path / "converted"
    assert (
        convert_torch_checkpoint.main(
            [
                str(fixtures_dir / "dptn_market_128x64_G.pth"),
                "--dataset",
                "market",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    generator = str(out / "generator.keras")
    assert (
        transfer_tool.main(
            [
                "--source",
                str(upper_body_photo),
                "--pose",
                str(upper_body_photo),
                "--generator",
                generator,
                "--out",
                str(tmp_path / "r.png"),
            ]
        )
        == 0
    )
    assert export.main(["--generator", generator, "--out", str(tmp_path / "export")]) == 0
    assert "output images at (128, 64)" in capsys.readouterr().out
    assert tuple(SavedModel(tmp_path / "export" / "1").frame) == (128, 64)
