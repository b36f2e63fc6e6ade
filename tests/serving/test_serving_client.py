"""tools/serving_client.py against the loopback TF Serving test double (`serving_double.py`),
and the `configs/serving/` files as TF Serving parses them."""

import base64
import json
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format

from dptn_tf.cli import serving_client as client
from dptn_tf.config import DataConfig, ModelConfig
from dptn_tf.data import write_annotations
from dptn_tf.export.savedmodel import export_saved_model
from dptn_tf.models import build_generator
from helpers.serving_double import ModelDouble, serve_grpc, serve_rest

REPO = Path(__file__).resolve().parents[2]
TINY = ModelConfig(ngf=8, img_f=32, layers=3, num_blocks=1, nhead=2, num_cabs=1, num_ttbs=1)
OLD_SIZE = (48, 36)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    keras.utils.set_random_seed(0)
    base = tmp_path_factory.mktemp("exports") / "dptn"
    export_saved_model(
        build_generator(TINY), base, DataConfig(load_size=(32, 24), old_size=OLD_SIZE)
    )
    double = ModelDouble("dptn", base, max_requests=32)
    yield double
    double.close()


@pytest.fixture(scope="module")
def request_data():
    rng = np.random.default_rng(2)
    image = tf.cast(tf.image.resize(rng.uniform(0, 255, (15, 10, 3)), (60, 40)), tf.uint8)
    source = rng.uniform(0, 40, (18, 2)).round(1)
    target = rng.uniform(0, 36, (18, 2)).round(1)
    source[3] = target[5] = -1
    return {
        "image": tf.io.encode_jpeg(image).numpy(),
        "source": source.tolist(),
        "target": target.tolist(),
    }


def _direct(model, data):
    """What the server computes for `data`, without any transport."""
    return model.predict(
        "dptn",
        None,
        "serving_default",
        {
            "source_image": np.array([data["image"]], dtype=object),
            "source_keypoints": np.array([data["source"]], np.float32),
            "target_keypoints": np.array([data["target"]], np.float32),
        },
    )


def _check_result(result, expected):
    assert result["image"].dtype == np.uint8 and result["image"].shape == (*OLD_SIZE, 3)
    np.testing.assert_array_equal(result["image"], expected["image"][0])
    assert result["image_png_bytes"] == expected["image_png_bytes"][0]
    np.testing.assert_array_equal(tf.io.decode_png(result["image_png_bytes"]), result["image"])


def test_rest_client_gets_the_served_image(model, request_data):
    expected = _direct(model, request_data)
    with serve_rest(model) as url:
        before = model.requests
        result = client.predict_rest(
            url,
            "dptn",
            request_data["image"],
            request_data["source"],
            request_data["target"],
            version=1,
        )
        assert model.requests == before + 1
    _check_result(result, expected)


def test_the_demo_fronts_a_served_model(model, request_data):
    """`RestModel` (the demo's --serving-url) sends the crop as PNG: the server's image of it."""
    from dptn_tf.serving.rest_client import RestModel

    crop = tf.io.decode_jpeg(request_data["image"]).numpy()
    expected = _direct(model, {**request_data, "image": tf.io.encode_png(crop).numpy()})
    with serve_rest(model) as url:
        served = RestModel(f"{url}/v1/models/dptn/versions/1")
        assert served.frame == OLD_SIZE  # the server's model metadata says it
        image = served(crop, np.array(request_data["source"]), np.array(request_data["target"]))
        with pytest.raises(
            ValueError, match=f"images are {OLD_SIZE[0]}x{OLD_SIZE[1]}, not --frame 10x10"
        ):
            RestModel(f"{url}/v1/models/dptn", (10, 10))(
                crop, np.array(request_data["source"]), np.array(request_data["target"])
            )
    np.testing.assert_array_equal(image, expected["image"][0])


def test_grpc_client_gets_the_served_image(model, request_data):
    pytest.importorskip(
        "tensorflow_serving.apis",
        reason="gRPC needs tensorflow-serving-api (pip install 'dptn-tf[serving]')",
    )
    expected = _direct(model, request_data)
    with serve_grpc(model) as target:
        result = client.predict_grpc(
            target, "dptn", request_data["image"], request_data["source"], request_data["target"]
        )
    _check_result(result, expected)


def test_rest_columnar_inputs_get_columnar_outputs(model, request_data):
    expected = _direct(model, request_data)
    body = {
        "inputs": {
            "source_image": [{"b64": base64.b64encode(request_data["image"]).decode()}],
            "source_keypoints": [request_data["source"]],
            "target_keypoints": [request_data["target"]],
        }
    }
    with serve_rest(model) as url:
        request = urllib.request.Request(
            f"{url}/v1/models/dptn:predict", data=json.dumps(body).encode()
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            outputs = json.load(response)["outputs"]
    np.testing.assert_array_equal(np.asarray(outputs["image"], np.uint8), expected["image"])
    assert base64.b64decode(outputs["image_png_bytes"][0]["b64"]) == expected["image_png_bytes"][0]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_the_client_reports_the_graphs_validation_message(model, request_data, transport):
    if transport == "grpc":
        pytest.importorskip("tensorflow_serving.apis", reason="gRPC needs tensorflow-serving-api")
    serve, predict = (
        (serve_rest, client.predict_rest)
        if transport == "rest"
        else (serve_grpc, client.predict_grpc)
    )
    with serve(model) as address, pytest.raises(client.ServingError) as error:
        predict(address, "dptn", b"not an image", request_data["source"], request_data["target"])
    assert ("HTTP 400" if transport == "rest" else "INVALID_ARGUMENT") in str(error.value)
    assert "source_image: expected encoded JPEG or PNG bytes" in str(error.value)


def test_unknown_versions_and_models_are_not_found(model, request_data):
    with serve_rest(model) as url:
        for name, version in (("dptn", 2), ("other", None)):
            with pytest.raises(client.ServingError, match="HTTP 404: Servable not found"):
                client.predict_rest(
                    url,
                    name,
                    request_data["image"],
                    request_data["source"],
                    request_data["target"],
                    version=version,
                )


def test_the_cli_looks_keypoints_up_in_an_annotation_file(model, request_data, tmp_path, capsys):
    (tmp_path / "person.jpg").write_bytes(request_data["image"])
    keypoints = {
        "person.jpg": np.asarray(request_data["source"]).round().astype(int),
        "pose.jpg": np.asarray(request_data["target"]).round().astype(int),
    }
    write_annotations(tmp_path / "annotation.csv", keypoints)
    expected = model.predict(
        "dptn",
        None,
        "serving_default",
        {
            "source_image": np.array([request_data["image"]], dtype=object),
            "source_keypoints": keypoints["person.jpg"][None].astype(np.float32),
            "target_keypoints": keypoints["pose.jpg"][None].astype(np.float32),
        },
    )
    with serve_rest(model) as url:
        status = client.main(
            [
                "--rest",
                url,
                "--source-image",
                str(tmp_path / "person.jpg"),
                "--annotations",
                str(tmp_path / "annotation.csv"),
                "--source-keypoints",
                "person.jpg",
                "--target-keypoints",
                "pose.jpg",
                "--out",
                str(tmp_path / "out" / "result.png"),
            ]
        )
    assert status == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "result.png").read_bytes() == expected["image_png_bytes"][0]
    assert f"({OLD_SIZE[1]}x{OLD_SIZE[0]})" in capsys.readouterr().out


def test_the_client_checks_keypoints_before_sending(tmp_path):
    (tmp_path / "pose.json").write_text(json.dumps([[1, 2]] * 17))
    with pytest.raises(ValueError, match=r"expected 18 \[y, x\] pairs, got shape \(17, 2\)"):
        client.load_keypoints(str(tmp_path / "pose.json"))
    assert client.load_keypoints(json.dumps([[3, -1]] * 18)) == [[3.0, -1.0]] * 18


def test_models_config_is_a_model_server_config_for_the_documented_path():
    config_pb2 = pytest.importorskip(
        "tensorflow_serving.config.model_server_config_pb2",
        reason="parsing needs tensorflow-serving-api",
    )
    config = text_format.Parse(
        (REPO / "configs" / "serving" / "models.config").read_text(), config_pb2.ModelServerConfig()
    )
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == (
        "dptn",
        "/models/dptn",
        "tensorflow",
    )


def test_two_photos_are_enough(
    model, upper_body_photo, full_body_photo, pose_models_dir, tmp_path, capsys
):
    """No keypoints given: BlazePose runs on the client, the source is sent cut to its person's
    window with keypoints in it, the target pose is placed in the model's frame."""
    image, source, target = client.photo_inputs(
        upper_body_photo, None, full_body_photo, OLD_SIZE, weights_dir=pose_models_dir
    )
    framed = tf.io.decode_png(image).numpy()
    assert framed.shape[0] / framed.shape[1] == pytest.approx(OLD_SIZE[0] / OLD_SIZE[1], abs=0.01)
    assert np.all(np.asarray(target) < OLD_SIZE) and np.all(np.asarray(target) >= 0)
    assert np.asarray(source)[8:14].tolist() == [[-1, -1]] * 6  # the astronaut's legs
    expected = _direct(model, {"image": image, "source": source, "target": target})
    out = tmp_path / "result.png"
    with serve_rest(model) as url:
        status = client.main(
            [
                "--rest",
                url,
                "--source-image",
                str(upper_body_photo),
                "--target-photo",
                str(full_body_photo),
                "--frame",
                f"{OLD_SIZE[0]}x{OLD_SIZE[1]}",
                "--weights-dir",
                str(pose_models_dir),
                "--out",
                str(out),
            ]
        )
        assert status == 0, capsys.readouterr().err
        assert out.read_bytes() == expected["image_png_bytes"][0]
        out.unlink()
        # Without --frame, over REST: the server's model metadata gives it.
        status = client.main(
            [
                "--rest",
                url,
                "--source-image",
                str(upper_body_photo),
                "--target-photo",
                str(full_body_photo),
                "--weights-dir",
                str(pose_models_dir),
                "--out",
                str(out),
            ]
        )
        assert status == 0, capsys.readouterr().err
        assert out.read_bytes() == expected["image_png_bytes"][0]
        status = client.main(
            [
                "--rest",
                url,
                "--source-image",
                str(upper_body_photo),
                "--target-photo",
                str(full_body_photo),
                "--frame",
                "256x176",
                "--weights-dir",
                str(pose_models_dir),
                "--out",
                str(out),
            ]
        )
    assert status == 1
    assert (
        f"the model's images are {OLD_SIZE[0]}x{OLD_SIZE[1]}, not --frame 256x176"
        in capsys.readouterr().err
    )


def test_photos_over_grpc_need_the_frame(upper_body_photo, full_body_photo, tmp_path, capsys):
    with pytest.raises(SystemExit):
        client.main(
            [
                "--grpc",
                "127.0.0.1:1",
                "--source-image",
                str(upper_body_photo),
                "--target-photo",
                str(full_body_photo),
                "--out",
                str(tmp_path / "r.png"),
            ]
        )
    assert "need --frame HxW, the model's annotation size" in capsys.readouterr().err


def test_grpc_without_the_serving_extra_is_one_clear_line(
    request_data, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    (tmp_path / "person.jpg").write_bytes(request_data["image"])
    status = client.main(
        [
            "--grpc",
            "127.0.0.1:1",
            "--source-image",
            str(tmp_path / "person.jpg"),
            "--source-keypoints",
            json.dumps(request_data["source"]),
            "--target-keypoints",
            json.dumps(request_data["target"]),
            "--out",
            str(tmp_path / "r.png"),
        ]
    )
    error = capsys.readouterr().err
    assert status == 1 and error == (
        'error: gRPC needs tensorflow-serving-api and grpcio: pip install -e ".[serving]"\n'
    )


def test_the_rest_client_runs_without_tensorflow(model, request_data, tmp_path):
    """Keypoints given, REST: the client process never imports TensorFlow (nor Keras)."""
    (tmp_path / "person.jpg").write_bytes(request_data["image"])
    expected = _direct(model, request_data)
    with serve_rest(model) as url:
        code = textwrap.dedent(f"""
            import runpy, sys
            sys.modules["tensorflow"] = None  # any import of it fails
            sys.argv = ["serving_client.py", "--rest", {url!r},
                        "--source-image", {str(tmp_path / "person.jpg")!r},
                        "--source-keypoints", {json.dumps(request_data["source"])!r},
                        "--target-keypoints", {json.dumps(request_data["target"])!r},
                        "--out", {str(tmp_path / "result.png")!r}]
            try:
                runpy.run_module("dptn_tf.cli.serving_client", run_name="__main__")
            except SystemExit as exit:
                assert exit.code in (0, None), exit.code
            assert "keras" not in sys.modules
        """)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "result.png").read_bytes() == expected["image_png_bytes"][0]
