"""The LiteRT and ONNX exports: parity with the Keras generator at DeepFashion's and the
quickstart's sizes, the versioned layout, geometry refused before converting, the runtime's input
checks, and photo to photo in a process where TensorFlow cannot be imported."""

import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from dptn_tf.config import DataConfig, ModelConfig
from dptn_tf.data.images import to_network_input
from dptn_tf.export.litert_onnx import FILES, export_portable, portable_function
from dptn_tf.inference.generation import to_saved_uint8
from dptn_tf.inference.litert_onnx_models import PortableModel
from dptn_tf.models import build_generator, inference_generator
from dptn_tf.pose import (
    MAX_PHOTO_PIXELS,
    BlazePose,
    keypoints_to_heatmaps,
    person_window,
    read_photo,
)

REPO = Path(__file__).resolve().parents[2]
TINY = ModelConfig(ngf=8, img_f=32, layers=3, num_blocks=1, nhead=2, num_cabs=1, num_ttbs=1)
SIZES = [(256, 176), (128, 64)]
MAX_ABS_FLOAT32 = 1e-4  # images in [-1, 1]
MIN_PSNR = {"float16": 40.0, "int8": 30.0}  # dB against the float32 file's output


def psnr(a, b) -> float:
    """Of images in [-1, 1] (peak to peak 2)."""
    return float(10 * np.log10(4.0 / np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _keypoints(rng, size):
    points = rng.uniform(0, 1, (18, 2)) * np.asarray(size)
    points[rng.uniform(size=18) < 0.2] = -1
    return points.astype(np.float32)


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def exported(request, tmp_path_factory):
    """A tiny random generator exported in both formats at one size."""
    for module in ("ai_edge_litert", "onnxruntime", "tf2onnx"):
        pytest.importorskip(module, reason='pip install -e ".[test]" installs the runtimes')
    keras.utils.set_random_seed(0)
    generator = build_generator(TINY)
    data = DataConfig(load_size=request.param, old_size=request.param, sigma=5.0)
    base = tmp_path_factory.mktemp("exports") / "dptn"
    paths = {fmt: Path(export_portable(generator, base, data, fmt)) for fmt in FILES}
    return {"generator": inference_generator(generator), "data": data, "paths": paths, "base": base}


def test_versions_hold_the_files_of_their_format(exported):
    base, paths = exported["base"], exported["paths"]
    assert paths == {"tflite": base / "1", "onnx": base / "2"}
    for fmt, path in paths.items():
        assert sorted(p.name for p in path.iterdir()) == sorted(FILES[fmt].values())
    assert sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) == ["1", "2"]


def test_every_file_computes_what_keras_computes(exported):
    data, generator = exported["data"], exported["generator"]
    size = tuple(data.load_size)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    source, target = _keypoints(rng, size), _keypoints(rng, size)

    def pose(keypoints):
        return keypoints_to_heatmaps(keypoints[None], size, size, data.sigma)

    expected = generator(
        {
            "source_image": to_network_input(image, size)[None],
            "source_pose": pose(source),
            "target_pose": pose(target),
        },
        training=False,
    )
    expected_image = to_saved_uint8(expected, size)[0].numpy()
    expected = expected[0].numpy()
    outputs = {}
    for fmt, path in exported["paths"].items():
        for variant, name in FILES[fmt].items():
            model = PortableModel(path / name)
            assert model.load_size == size and model.frame == size
            outputs[fmt, variant] = model.generate(image, source, target)
    for fmt in FILES:
        result = outputs[fmt, "float32"]
        assert np.abs(result["generated_target"] - expected).max() <= MAX_ABS_FLOAT32, fmt
        assert np.abs(result["image"].astype(int) - expected_image).max() <= 1, fmt
    reference = outputs["tflite", "float32"]["generated_target"]
    for variant, minimum in MIN_PSNR.items():
        assert psnr(outputs["tflite", variant]["generated_target"], reference) >= minimum


def test_sizes_not_divisible_by_8_are_refused_before_converting(tmp_path):
    generator = build_generator(TINY)
    for load_size in ((60, 64), (64, 44)):
        with pytest.raises(ValueError, match=r"data.load_size: expected H and W divisible by 8"):
            export_portable(
                generator,
                tmp_path / "dptn",
                DataConfig(load_size=load_size, old_size=load_size),
                "tflite",
            )
    assert not (tmp_path / "dptn").exists() or not any((tmp_path / "dptn").iterdir())


def test_a_mixed_precision_generator_is_refused_by_name():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # conftest resets it
    generator = build_generator(TINY)
    with pytest.raises(ValueError, match=r"reduced precision in \[.*'source_to_target_input'"):
        portable_function(generator, DataConfig(load_size=(64, 48), old_size=(64, 48)))


def test_the_cli_refuses_them_too(tmp_path):
    keras.utils.set_random_seed(0)
    build_generator(TINY).save(tmp_path / "generator.keras")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "export_savedmodel.py"),
            "--generator",
            str(tmp_path / "generator.keras"),
            "--set",
            "data.load_size=[60, 64]",
            "--format",
            "tflite",
            "--out",
            str(tmp_path / "dptn"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == ("error: data.load_size: expected H and W divisible by 8, got (60, 64)\n")
    assert not (tmp_path / "dptn").exists()


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_bad_keypoints_are_named(exported, fmt):
    model = PortableModel(exported["paths"][fmt] / FILES[fmt]["float32"])
    size = model.load_size
    image = np.zeros((*size, 3), np.uint8)
    good = _keypoints(np.random.default_rng(2), size)
    cases = [
        ("source_keypoints", np.nan, "not so at joints \\[3\\]"),
        ("target_keypoints", np.inf, "not so at joints \\[3\\]"),
        ("target_keypoints", size[0] + 1, "within \\(.*\\) \\(0 <= y <= H"),
        ("source_keypoints", -0.5, "or -1 for a missing joint"),
    ]
    for name, value, message in cases:
        bad = good.copy()
        bad[3, 0] = value
        keypoints = {"source_keypoints": good, "target_keypoints": good, name: bad}
        with pytest.raises(ValueError, match=f"^{name}: expected finite .*{message}"):
            model.generate(image, **keypoints)
    edges = np.array([[0, 0], [size[0], size[1]], [-1, -1]] + [[1, 1]] * 15, np.float32)
    assert model.generate(image, edges, edges)["image"].shape == (*size, 3)
    with pytest.raises(ValueError, match=r"source image: expected uint8"):
        model.generate(image[:-8], good, good)


def test_a_file_that_is_no_export_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.tflite: file not found"):
        PortableModel(tmp_path / "missing.tflite")
    with pytest.raises(ValueError, match=r"model.keras: expected a .tflite or .onnx export"):
        PortableModel(tmp_path / "model.keras")


# A process in which TensorFlow and Keras cannot be imported: the lite path must not need them.
NO_TENSORFLOW = textwrap.dedent("""
    import sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"{name} is refused in this test")

    sys.meta_path.insert(0, Refuse())
""")


@pytest.fixture
def without_tensorflow(tmp_path, pose_models_dir):
    """Run tools/transfer.py where `import tensorflow` fails (sitecustomize on PYTHONPATH)."""
    (tmp_path / "notf").mkdir()
    (tmp_path / "notf" / "sitecustomize.py").write_text(NO_TENSORFLOW)
    env = {
        "PATH": "/usr/bin:/bin",
        "DPTN_WEIGHTS_DIR": str(pose_models_dir),
        "PYTHONPATH": f"{tmp_path / 'notf'}:{REPO}",
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, str(REPO / "tools" / "transfer.py"), *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )

    assert (
        "is refused"
        in subprocess.run(
            [sys.executable, "-c", "import tensorflow"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        ).stderr
    )
    return run


def test_photo_to_photo_without_tensorflow(
    exported, without_tensorflow, upper_body_photo, full_body_photo, tmp_path
):
    results = {}
    for fmt, path in exported["paths"].items():
        out = tmp_path / f"{fmt}.png"
        done = without_tensorflow(
            "--source",
            str(upper_body_photo),
            "--pose",
            str(full_body_photo),
            "--model",
            str(path / FILES[fmt]["float32"]),
            "--out",
            str(out),
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stderr == "" and done.stdout.startswith(f"wrote {out} (")
        results[fmt] = np.asarray(Image.open(out)).astype(int)
    photo = read_photo(upper_body_photo)
    window = person_window(BlazePose().keypoints(photo), exported["data"].old_size, photo.shape[:2])
    rows, cols = window.within(photo.shape[:2])
    assert results["tflite"].shape == (rows.stop - rows.start, cols.stop - cols.start, 3)
    assert results["onnx"].shape == results["tflite"].shape
    assert np.abs(results["tflite"] - results["onnx"]).max() <= 2


def test_bad_photos_are_named_without_tensorflow(
    exported, without_tensorflow, upper_body_photo, tmp_path
):
    model = str(exported["paths"]["tflite"] / FILES["tflite"]["float32"])
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    huge = tmp_path / "huge.png"
    Image.new("1", (MAX_PHOTO_PIXELS // 4000 + 1, 4000)).save(huge)
    for source, pose, message in (
        (not_image, upper_body_photo, f"error: {not_image}: not a readable image"),
        (huge, upper_body_photo, f"error: {huge}: 4195x4000 pixels is over the limit"),
        (upper_body_photo, huge, f"error: {huge}: 4195x4000 pixels is over the limit"),
        (upper_body_photo, "x.jpg:[1]:[2]", "a PATN row is parsed by dptn_tf.data"),
    ):
        out = tmp_path / "result.png"
        done = without_tensorflow(
            "--source", str(source), "--pose", str(pose), "--model", model, "--out", str(out)
        )
        assert done.returncode == 1 and message in done.stderr, done.stderr[-3000:]
        assert not out.exists()


# docs/install.md's TensorFlow-free install, word for word.
LITE_INSTALL = "pip install --no-deps -e . && pip install numpy pillow ai-edge-litert"


@pytest.fixture(scope="module")
def lite_install(tmp_path_factory):
    """A fresh virtual environment holding only what `LITE_INSTALL` installs (from the package
    index, as a user's would): the environment of the tests has every package but TensorFlow
    refused, which hid a missing one before."""
    assert LITE_INSTALL in (REPO / "docs" / "install.md").read_text()
    venv = tmp_path_factory.mktemp("lite") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "VIRTUAL_ENV": str(venv),
        "HOME": str(venv.parent),
    }
    installed = subprocess.run(
        ["bash", "-c", LITE_INSTALL], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    return venv / "bin" / "python", env


def test_photo_to_photo_in_the_documented_lite_install(
    exported, lite_install, without_tensorflow, upper_body_photo, full_body_photo,
    pose_models_dir, tmp_path,
):  # fmt: skip
    python, env = lite_install
    imported = subprocess.run(
        [python, "-c", "import sys, dptn_tf; print(sorted({'tensorflow', 'keras', 'yaml'} & "
         "set(sys.modules)))"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert imported.stdout.strip() == "[]"
    model = str(exported["paths"]["tflite"] / FILES["tflite"]["float32"])
    photos = ["--source", str(upper_body_photo), "--pose", str(full_body_photo), "--model", model]
    out = tmp_path / "lite.png"
    done = subprocess.run(
        [python, str(REPO / "tools" / "transfer.py"), *photos, "--out", str(out)],
        env={**env, "DPTN_WEIGHTS_DIR": str(pose_models_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"wrote {out} (")
    # the same picture as this environment's TensorFlow-free run (its runtime's version may differ)
    reference = tmp_path / "reference.png"
    assert without_tensorflow(*photos, "--out", str(reference)).returncode == 0
    lite, expected = (np.asarray(Image.open(p)).astype(int) for p in (out, reference))
    assert lite.shape == expected.shape and np.abs(lite - expected).max() <= 2
