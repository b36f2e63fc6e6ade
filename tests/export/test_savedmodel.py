"""The SavedModel export: the CLI's versioned layout, the signatures as TF Serving lists them,
parity of a TensorFlow-only reload with the Keras path, and the graph's own input validation
(every bad input an InvalidArgument saying what was expected; the service goes on serving)."""

import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, Config, ModelConfig
from dptn_tf.data import decode_image
from dptn_tf.export.savedmodel import PNG_MAGIC, export_saved_model, next_version
from dptn_tf.inference.generation import to_saved_uint8
from dptn_tf.models import build_generator, inference_generator
from dptn_tf.pose import keypoints_to_heatmaps
from helpers.serving_double import ModelDouble, PredictError

REPO = Path(__file__).resolve().parents[2]
TINY = ModelConfig(ngf=8, img_f=32, layers=3, num_blocks=1, nhead=2, num_cabs=1, num_ttbs=1)
LOAD_SIZE, OLD_SIZE, SIGMA = (32, 24), (48, 36), 3.0  # sigma off its default: must be carried


def _keypoints(rng, batch, size):
    """float32 [batch, 18, 2] inside an (H, W) frame, a few joints missing."""
    points = rng.uniform(0, 1, (batch, 18, 2)) * (np.asarray(size) - 1)
    points[rng.uniform(size=(batch, 18)) < 0.2] = -1
    return points.astype(np.float32)


def _encoded(rng, size, fmt):
    image = tf.image.resize(rng.uniform(0, 255, (size[0] // 4, size[1] // 4, 3)), size)
    image = tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8)
    return (tf.io.encode_jpeg(image) if fmt == "jpeg" else tf.io.encode_png(image)).numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny random generator saved as a training run and exported through the CLI's --run."""
    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    generator = build_generator(TINY)
    generator.save(run / GENERATOR_NAME)
    config = Config(model=TINY)
    config.data.load_size, config.data.old_size, config.data.sigma = LOAD_SIZE, OLD_SIZE, SIGMA
    (run / CONFIG_NAME).write_text(config.to_yaml())
    base = tmp_path_factory.mktemp("exports") / "dptn"
    result = subprocess.run(
        [sys.executable, str(REPO / "export_savedmodel.py"), "--run", str(run), "--out", str(base)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"wrote {base / '1'}" in result.stdout
    return {"path": base / "1", "base": base, "generator": inference_generator(generator)}


@pytest.fixture(scope="module")
def requests():
    """A batch of two: a JPEG at the annotation size and a PNG of another size and aspect."""
    rng = np.random.default_rng(1)
    sizes = [(48, 36), (70, 40)]
    return {
        "sizes": sizes,
        "source_image": np.array(
            [_encoded(rng, sizes[0], "jpeg"), _encoded(rng, sizes[1], "png")], dtype=object
        ),
        "source_keypoints": np.concatenate([_keypoints(rng, 1, s) for s in sizes]),
        "target_keypoints": _keypoints(rng, 2, OLD_SIZE),
        "source_pose": rng.uniform(0, 1, (2, *LOAD_SIZE, 18)).astype(np.float32),
        "target_pose": rng.uniform(0, 1, (2, *LOAD_SIZE, 18)).astype(np.float32),
        "raw_image": rng.uniform(-1, 1, (2, *LOAD_SIZE, 3)).astype(np.float32),
    }


def test_the_cli_writes_version_1_and_nothing_else(exported):
    assert [p.name for p in exported["base"].iterdir()] == ["1"]
    assert (exported["path"] / "saved_model.pb").is_file()
    assert next_version(exported["base"]) == 2


SIGNATURES = {
    "serving_default": {
        "inputs": {
            "source_image": ("DT_STRING", "(-1)"),
            "source_keypoints": ("DT_FLOAT", "(-1, 18, 2)"),
            "target_keypoints": ("DT_FLOAT", "(-1, 18, 2)"),
        },
        "outputs": {
            "image": ("DT_UINT8", f"(-1, {OLD_SIZE[0]}, {OLD_SIZE[1]}, 3)"),
            "image_png_bytes": ("DT_STRING", "(-1)"),
        },
    },
    "generate": {
        "inputs": {
            "source_image": ("DT_FLOAT", "(-1, -1, -1, 3)"),
            "source_pose": ("DT_FLOAT", "(-1, -1, -1, 18)"),
            "target_pose": ("DT_FLOAT", "(-1, -1, -1, 18)"),
        },
        "outputs": {"generated_target": ("DT_FLOAT", "(-1, -1, -1, 3)")},
    },
}


def test_saved_model_cli_lists_both_signatures_as_documented(exported):
    result = subprocess.run(
        ["saved_model_cli", "show", "--all", "--dir", str(exported["path"])],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sections = dict(
        re.findall(
            r"signature_def\['(\w+)'\]:\n(.*?)Method name is: [^\n]*",
            result.stdout,
            flags=re.DOTALL,
        )
    )
    assert set(SIGNATURES) <= set(sections)
    for name, expected in SIGNATURES.items():
        listed = {
            kind: {
                alias: (dtype, shape)
                for alias, dtype, shape in re.findall(
                    rf"{kind}\['(\w+)'\] tensor_info:\n\s+dtype: (\w+)\n\s+shape: (\(.*?\))",
                    sections[name],
                )
            }
            for kind in ("inputs", "outputs")
        }
        assert listed == expected, name


FRESH_PROCESS = textwrap.dedent("""
    import sys
    sys.modules["dptn_tf"] = sys.modules["keras"] = None  # importing either now fails
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(sys.argv[1])
    data = np.load(sys.argv[2], allow_pickle=True)
    generated = model.signatures["generate"](
        source_image=tf.constant(data["raw_image"]), source_pose=tf.constant(data["source_pose"]),
        target_pose=tf.constant(data["target_pose"]))
    served = model.signatures["serving_default"](
        source_image=tf.constant(list(data["source_image"])),
        source_keypoints=tf.constant(data["source_keypoints"]),
        target_keypoints=tf.constant(data["target_keypoints"]))
    np.savez(sys.argv[3], generated_target=generated["generated_target"].numpy(),
             image=served["image"].numpy(), image_png_bytes=served["image_png_bytes"].numpy())
""")


def test_a_tensorflow_only_process_reproduces_the_keras_path(exported, requests, tmp_path):
    np.savez(tmp_path / "inputs.npz", **{k: v for k, v in requests.items() if k != "sizes"})
    subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            str(exported["path"]),
            str(tmp_path / "inputs.npz"),
            str(tmp_path / "outputs.npz"),
        ],
        check=True,
        timeout=300,
    )
    outputs = np.load(tmp_path / "outputs.npz", allow_pickle=True)
    generator = exported["generator"]

    expected = generator(
        {
            "source_image": requests["raw_image"],
            "source_pose": requests["source_pose"],
            "target_pose": requests["target_pose"],
        }
    )
    generate_error = np.abs(outputs["generated_target"] - np.asarray(expected)).max()
    assert generate_error <= 1e-5

    # The Keras path: decode, heatmaps (source keypoints in each image's own frame), generator,
    # the test protocol's conversion to uint8 at the annotation size.
    source_pose = [
        keypoints_to_heatmaps(k, size, LOAD_SIZE, SIGMA)
        for k, size in zip(requests["source_keypoints"], requests["sizes"])
    ]
    keras_inputs = {
        "source_image": tf.stack([decode_image(b, LOAD_SIZE) for b in requests["source_image"]]),
        "source_pose": tf.stack(source_pose),
        "target_pose": keypoints_to_heatmaps(
            requests["target_keypoints"], OLD_SIZE, LOAD_SIZE, SIGMA
        ),
    }
    keras_image = to_saved_uint8(generator(keras_inputs), OLD_SIZE).numpy()
    image = outputs["image"]
    assert image.shape == (2, *OLD_SIZE, 3) and image.dtype == np.uint8
    grey_levels = np.abs(image.astype(int) - keras_image.astype(int)).max()
    assert grey_levels <= 1
    for png, decoded in zip(outputs["image_png_bytes"], image):
        np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), decoded)
    print(
        f"generate vs Keras: max |diff| {generate_error:.2e}; "
        f"serving_default vs Keras path: max {grey_levels} grey level(s)"
    )


@pytest.fixture(scope="module")
def served(exported):
    """The export as TF Serving runs it: SignatureDef tensors fed through a Session."""
    model = ModelDouble("dptn", exported["base"], max_requests=64)
    yield lambda signature, **inputs: model.predict("dptn", None, signature, inputs)
    model.close()


def _serving_inputs(requests, **changes):
    inputs = {k: requests[k] for k in ("source_image", "source_keypoints", "target_keypoints")}
    return {**inputs, **changes}


def _generate_inputs(requests, **changes):
    inputs = {
        "source_image": requests["raw_image"],
        "source_pose": requests["source_pose"],
        "target_pose": requests["target_pose"],
    }
    return {**inputs, **changes}


BAD_SERVING_INPUTS = {
    "17 joints": (
        lambda r: {"source_keypoints": r["source_keypoints"][:, :17]},
        r"source_keypoints: expected float32 \[batch, 18, 2\].*\[2,17,2\]",
    ),
    "no batch axis": (
        lambda r: {"target_keypoints": r["target_keypoints"][0]},
        r"target_keypoints: expected float32 \[batch, 18, 2\].*\[18,2\]",
    ),
    "(x, y, score) triples": (
        lambda r: {"target_keypoints": np.pad(r["target_keypoints"], ((0, 0), (0, 0), (0, 1)))},
        r"target_keypoints: expected float32 \[batch, 18, 2\].*\[2,18,3\]",
    ),
    "image matrix": (
        lambda r: {"source_image": r["source_image"].reshape(2, 1)},
        r"source_image: expected a string vector \[batch\].*\[2,1\]",
    ),
    "one image, no batch axis": (
        lambda r: {"source_image": np.array(r["source_image"][0])},
        r"source_image: expected a string vector \[batch\].*got shape",
    ),
    "batch sizes disagree": (
        lambda r: {
            "source_keypoints": r["source_keypoints"][:1],
            "target_keypoints": r["target_keypoints"][:1],
        },
        r"source_image, source_keypoints, target_keypoints: expected one batch size.*\[2 1 1\]",
    ),
    "not an image": (
        lambda r: {"source_image": np.array([r["source_image"][0], b"GIF89a..."], dtype=object)},
        (
            r"source_image: expected encoded JPEG or PNG bytes; not an image at batch positions"
            r"\] \[1\]"
        ),
    ),
    "empty batch": (
        lambda r: {k: r[k][:0] for k in ("source_image", "source_keypoints", "target_keypoints")},
        r"source_image: expected a batch of at least one, got an empty batch",
    ),
    "NaN keypoint": (
        lambda r: {"source_keypoints": _set(r["source_keypoints"], (0, 3, 0), np.nan)},
        r"source_keypoints: expected finite \(y, x\) pixels within its source image "
        r".*\[\[0 3\]\] \[values\] \[\[nan \d",
    ),
    "infinite keypoint": (
        lambda r: {"target_keypoints": _set(r["target_keypoints"], (1, 5, 1), np.inf)},
        r"target_keypoints: expected finite .* within the output frame \(48, 36\) .*\[\[1 5\]\]",
    ),
    "negative other than -1": (
        lambda r: {"target_keypoints": _set(r["target_keypoints"], (0, 7, 0), -2)},
        r"target_keypoints: .*\[\[0 7\]\] \[values\] \[\[-2 ",
    ),
    "far outside the output": (
        lambda r: {"target_keypoints": _set(r["target_keypoints"], (1, 0), [1000, 20])},
        r"target_keypoints: .*\[\[1 0\]\] \[values\] \[\[1000 20\]\]",
    ),
    # x = 39 lies within the second image (70x40) but outside the first (48x36): each source
    # image is its own keypoints' frame.
    "outside its own source image": (
        lambda r: {
            "source_keypoints": _set(
                _set(r["source_keypoints"], (0, 2), [10, 39]), (1, 2), [10, 39]
            )
        },
        r"source_keypoints: .*not so at \[batch position, joint\]\] \[\[0 2\]\] \[values",
    ),
    "20000x20000 PNG": (
        lambda r: {
            "source_image": np.array(
                [r["source_image"][0], _png_header(20000, 20000)], dtype=object
            )
        },
        r"source_image: expected at most 16777216 pixels per image .*too large at batch "
        r"positions\] \[1\] \[\(H, W\)\] \[\[20000 20000\]\]",
    ),
    "20000x20000 JPEG": (
        lambda r: {
            "source_image": np.array(
                [_jpeg_claiming(r["source_image"][0], 20000, 20000), r["source_image"][1]],
                dtype=object,
            )
        },
        r"source_image: expected at most 16777216 pixels .*\] \[0\] \[\(H, W\)\] "
        r"\[\[20000 20000\]\]",
    ),
    "PNG cut after its signature": (
        lambda r: {
            "source_image": np.array([r["source_image"][0], PNG_MAGIC + b"\0\0"], dtype=object)
        },
        r"a PNG without its IHDR header",
    ),
}


def _set(keypoints, index, value):
    changed = keypoints.copy()
    changed[index] = value
    return changed


def _png_header(height, width) -> bytes:
    """The signature and IHDR chunk of an RGB PNG of `height` x `width`, without pixels: a
    decoder would fail on it, so only a check of the header can answer first."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_MAGIC + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))


def _jpeg_claiming(jpeg: bytes, height, width) -> bytes:
    """`jpeg` with its frame header (SOF0) claiming another size."""
    start = jpeg.index(b"\xff\xc0") + 5  # marker, length (2), precision (1)
    return jpeg[:start] + struct.pack(">HH", height, width) + jpeg[start + 4 :]


@pytest.mark.parametrize("case", BAD_SERVING_INPUTS)
def test_serving_default_rejects_bad_input_saying_what_it_expected(served, requests, case):
    change, message = BAD_SERVING_INPUTS[case]
    with pytest.raises(PredictError) as error:
        served("serving_default", **_serving_inputs(requests, **change(requests)))
    assert error.value.code == "INVALID_ARGUMENT"
    assert re.search(message, error.value.message), error.value.message


def test_the_service_keeps_serving_after_bad_requests(served, requests):
    """Bad requests of every kind, then a good one whose joints lie on the frames' edges."""
    for case in ("NaN keypoint", "empty batch", "20000x20000 PNG", "not an image"):
        change, _ = BAD_SERVING_INPUTS[case]
        with pytest.raises(PredictError):
            served("serving_default", **_serving_inputs(requests, **change(requests)))
    source = np.full((2, 18, 2), -1, np.float32)
    source[:, 0] = 0
    source[:, 1] = requests["sizes"]  # (H, W) of each source image: its far corner
    target = np.full((2, 18, 2), -1, np.float32)
    target[:, 0] = OLD_SIZE
    target[:, 1] = (-1, 5)  # missing: either coordinate is -1
    outputs = served(
        "serving_default",
        **_serving_inputs(requests, source_keypoints=source, target_keypoints=target),
    )
    assert outputs["image"].shape == (2, *OLD_SIZE, 3)


BAD_GENERATE_INPUTS = {
    "17-channel pose": (
        lambda r: {"source_pose": r["source_pose"][..., :17]},
        r"source_pose: expected float32 \[batch, H, W, 18\].*\[2,32,24,17\]",
    ),
    "pose without batch axis": (
        lambda r: {"target_pose": r["target_pose"][0]},
        r"target_pose: expected float32 \[batch, H, W, 18\].*\[32,24,18\]",
    ),
    "heights disagree": (
        lambda r: {"target_pose": r["target_pose"][:, :24]},
        r"expected one height for all of them.*\[32 32 24\]",
    ),
    "empty batch": (
        lambda r: {k: v[:0] for k, v in _generate_inputs(r).items()},
        r"source_image: expected a batch of at least one, got an empty batch",
    ),
    "not divisible by 8": (
        lambda r: {k: v[:, :20] for k, v in _generate_inputs(r).items()},
        r"source_image: expected a height and width divisible by 8.*\[20 24\]",
    ),
}


@pytest.mark.parametrize("case", BAD_GENERATE_INPUTS)
def test_generate_rejects_bad_input_saying_what_it_expected(served, requests, case):
    change, message = BAD_GENERATE_INPUTS[case]
    with pytest.raises(PredictError) as error:
        served("generate", **_generate_inputs(requests, **change(requests)))
    assert error.value.code == "INVALID_ARGUMENT"
    assert re.search(message, error.value.message), error.value.message


def _cli():
    from dptn_tf.cli import export

    return export


def test_versions_are_never_overwritten_and_a_failed_export_leaves_nothing(tmp_path, monkeypatch):
    base = tmp_path / "dptn"
    for name in ("1", "7", "notes", ".8.tmp-0000"):
        (base / name).mkdir(parents=True)
    assert next_version(base) == 8
    generator = build_generator(TINY)
    with pytest.raises(FileExistsError, match="7 already exists.*next free: 8"):
        export_saved_model(generator, base, Config().data, version=7)
    with pytest.raises(ValueError, match="version: expected a positive integer"):
        export_saved_model(generator, base, Config().data, version=0)

    class CrashingArchive:
        def write_out(self, path, verbose):
            (Path(path) / "variables").mkdir(parents=True)
            raise OSError("disk full")

    monkeypatch.setattr(
        "dptn_tf.export.savedmodel.build_export_archive", lambda *args: CrashingArchive()
    )
    with pytest.raises(OSError, match="disk full"):
        export_saved_model(generator, base, Config().data)
    assert sorted(p.name for p in base.iterdir()) == [".8.tmp-0000", "1", "7", "notes"]


def test_the_cli_refuses_a_bad_geometry_naming_the_setting(tmp_path, capsys):
    generator = tmp_path / "generator.keras"
    build_generator(TINY).save(generator)
    status = _cli().main(
        [
            "--generator",
            str(generator),
            "--set",
            "data.load_size=[30,24]",
            "--out",
            str(tmp_path / "exports"),
        ]
    )
    assert status == 1
    error = capsys.readouterr().err
    assert "data.load_size: expected H and W divisible by 8, got (30, 24)" in error
    assert not (tmp_path / "exports").exists()
