"""The exported web site (`export_savedmodel.py --format web`) served by `dptn-demo --site`, in a
real browser (Debian's chromium under Playwright) that may reach nothing but loopback: a photo
and a gallery pose give the result the Python ONNX path gives on the same keypoints; the page's
BlazePose finds the keypoints `dptn_tf.pose.BlazePose` finds; a dragged joint changes the result;
undo and redo; an OpenPose JSON out and in again; a file that is no image. Then the resize against
Pillow's, a host without the cross-origin isolation headers (one thread, said in the page), the
export's refusals, and the site's models against the library's (the Keras generator, the TF
Lite BlazePose).
`DPTN_SITE_SCREENSHOT=path.png` keeps the page's picture (the README's docs/images/site.png).
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from dptn_tf.inference.litert_onnx_models import PortableModel
from dptn_tf.pose import BlazePose, person_window, read_openpose_json, read_photo, resize_uint8
from helpers.browser import drag
from helpers.environment import free_port, missing

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 120_000
LOOPBACK = "http://127.0.0.1:"
# The BlazePose outputs the page reads (pose_pipeline.js): boxes, scores; landmarks, presence,
# heatmaps.
USED_OUTPUTS = {(1, 2254, 12), (1, 2254, 1), (1, 195), (1, 1), (1, 64, 64, 39)}


@pytest.fixture(scope="session")
def site(demo_run, pose_models_dir, tmp_path_factory) -> Path:
    """The demo's run exported by the real command (npm copies ONNX Runtime Web)."""
    if not shutil.which("npm"):
        missing("npm not found: apt-get install npm")
    out = tmp_path_factory.mktemp("web") / "site"
    done = subprocess.run(
        [sys.executable, "export_savedmodel.py", "--run", str(demo_run), "--format", "web"]
        + ["--out", str(out), "--weights-dir", str(pose_models_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"serve it: dptn-demo --site {out}" in done.stdout
    return out


def _serve(command, cwd=REPO):
    """A server process on a free loopback port, and its URL, once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [*command, str(port)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return server, f"{LOOPBACK}{port}/"


def _wait_listening(url, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url + "site.json", timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def site_url(site):
    server, url = _serve([sys.executable, "-m", "dptn_tf.demo", "--site", str(site), "--port"])
    try:
        line = server.stdout.readline()
        assert f"dptn-demo: open {url}" in line, server.stderr.read()[-2000:]
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def _open(browser, url, **query):
    """A page of the site whose requests beyond loopback are refused and recorded."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 1000})
    outside = []

    def only_loopback(route):
        if route.request.url.startswith(LOOPBACK):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""))
    page.wait_for_function("window.dptnPage && window.dptnPage.runtime")
    return page, outside, errors


def _status(page, text):
    page.locator("#status").get_by_text(text).wait_for()


def _generate(page):
    """Click Generate; the page's record of the result (inputs, pixels, timings)."""
    before = page.evaluate("window.dptnPage.last && window.dptnPage.last.clickMs")
    page.click("#generate")
    page.wait_for_function(
        "(before) => window.dptnPage.last && window.dptnPage.last.clickMs !== before",
        arg=before,
    )
    last = page.evaluate("({...window.dptnPage.last, rgba: Array.from(window.dptnPage.last.rgba)})")
    last["image"] = np.asarray(last.pop("rgba"), np.uint8).reshape(-1, 4)[:, :3]
    return last


def _editor_pose(page):
    return page.evaluate("window.dptnPage.editor.pose()")


def test_photo_to_result_as_python_computes_it(site, site_url, browser, full_body_photo, tmp_path):
    page, outside, errors = _open(browser, site_url)
    runtime = page.evaluate("window.dptnPage.runtime")
    assert runtime["isolated"] and runtime["threads"] >= 1, runtime
    assert "not cross-origin isolated" not in page.inner_text("#runtime")
    page.set_input_files("#source-file", full_body_photo)
    _status(page, "found 18 of 18 joints")
    page.locator("#gallery canvas").nth(2).click()
    _status(page, "of the gallery")
    first = _generate(page)
    _status(page, "Generated in")

    # The same keypoints through the Python ONNX path: the same pixels, within 2 grey levels.
    model = PortableModel(site / "models" / "generator.onnx")
    photo = read_photo(full_body_photo)
    source = np.asarray(first["source"], np.float64)
    window = person_window(source, model.frame, photo.shape[:2])
    expected = model(window.crop(photo), window.keypoints_in(source), np.asarray(first["target"]))
    difference = np.abs(expected.reshape(-1, 3).astype(int) - first["image"])
    assert difference.mean() <= 2.0, f"mean abs {difference.mean():.3f} grey levels"

    # The page's BlazePose (ONNX, the pipeline ported to JavaScript) against the library's.
    found = BlazePose().keypoints(photo)
    present = np.all(found >= 0, axis=-1)
    assert np.array_equal(present, np.all(source >= 0, axis=-1))
    height = np.ptp(found[present, 0])
    error = np.linalg.norm(found[present] - source[present], axis=-1)
    assert np.median(error) <= 0.03 * height, f"median {np.median(error):.2f} px of {height:.0f}"

    # A dragged joint changes the result; undo and redo walk the history.
    drag(page, page.locator('#editor circle[data-joint="4"]'), 25, -40)  # the right wrist
    dragged = _editor_pose(page)
    assert dragged[4] != first["target"][4] and dragged[:4] == first["target"][:4]
    second = _generate(page)
    assert second["target"] == dragged
    screenshot = os.environ.get("DPTN_SITE_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    assert np.abs(second["image"].astype(int) - first["image"]).mean() > 0.1
    page.click("#undo")
    assert _editor_pose(page) == first["target"]
    page.click("#redo")
    assert _editor_pose(page) == dragged
    page.click("#mirror")  # the person's right shoulder (2) becomes the left (5), turned over
    mirrored = _editor_pose(page)
    width = model.frame[1]
    assert (
        mirrored[5][0] == dragged[2][0] and abs(mirrored[5][1] - (width - 1 - dragged[2][1])) < 0.06
    )
    page.click("#undo")
    assert _editor_pose(page) == dragged
    page.locator('#editor circle[data-joint="4"]').dblclick()  # the dragged joint, present
    hidden = _editor_pose(page)
    assert hidden[4] == [-1, -1] and hidden[:4] == dragged[:4]

    # OpenPose JSON out, read by the library as tools/keypoints.py reads it, and in again.
    with page.expect_download() as download:
        page.click("#export-json")
    exported = tmp_path / "pose_keypoints.json"
    download.value.save_as(exported)
    np.testing.assert_allclose(read_openpose_json(exported), hidden, atol=1e-9)
    page.click("#reset")
    assert _editor_pose(page) == first["target"]
    page.set_input_files("#import-json", exported)
    _status(page, "pose_keypoints.json")
    assert _editor_pose(page) == hidden

    # A second photo's pose, in the frame, its window drawn behind the skeleton.
    page.set_input_files("#pose-file", full_body_photo)
    _status(page, "from the photo")
    assert page.locator("#editor svg image").count() == 1
    np.testing.assert_allclose(
        _editor_pose(page), np.round(window.keypoints_in(source, model.frame), 1), atol=0.051
    )

    # A file that is no image: a message, and the page still answers.
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("this is not a photo")
    page.set_input_files("#source-file", not_a_photo)
    _status(page, "not an image the browser can read")
    again = _generate(page)
    assert again["source"] == first["source"]
    assert outside == [] and errors == []
    page.context.close()


def test_the_resize_is_pillows(site_url, browser):
    """The page's port of Pillow's bilinear resize, pixel for pixel, shrinking and enlarging."""
    page, _, _ = _open(browser, site_url)
    rng = np.random.default_rng(0)
    cases = (((37, 23), (64, 32)), ((300, 181), (64, 32)), ((50, 70), (50, 33)))
    for (height, width), size in cases:
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        resized = page.evaluate(
            """async ([data, height, width, size]) => {
                const { resizeUint8 } = await import("./pose_pipeline.js");
                const image = { data: Uint8Array.from(data), height, width };
                return Array.from(resizeUint8(image, size[0], size[1]).data);
            }""",
            [image.ravel().tolist(), height, width, list(size)],
        )
        np.testing.assert_array_equal(np.reshape(resized, (*size, 3)), resize_uint8(image, size))
    page.context.close()


def test_a_host_without_isolation_headers_gets_one_thread(site, browser):
    server, url = _serve([sys.executable, "-m", "http.server", "--bind", "127.0.0.1"], cwd=site)
    try:
        _wait_listening(url)
        page, outside, errors = _open(browser, url)
        runtime = page.evaluate("window.dptnPage.runtime")
        assert not runtime["isolated"] and runtime["threads"] == 1
        assert "not cross-origin isolated, so one thread" in page.inner_text("#runtime")
        assert outside == [] and errors == []
        page.context.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_export_and_server_refuse_what_is_not_a_site(demo_run, tmp_path):
    taken = tmp_path / "notes"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me")
    done = subprocess.run(
        [sys.executable, "export_savedmodel.py", "--run", str(demo_run), "--format", "web"]
        + ["--out", str(taken)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert f"error: {taken}: exists and is not a site made by the web export" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]  # nothing left beside it
    assert (taken / "mine.txt").read_text() == "keep me"
    served = subprocess.run(
        [sys.executable, "-m", "dptn_tf.demo", "--site", str(taken)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert served.returncode == 1 and "not an exported web site (no site.json" in served.stderr


def test_the_site_models_are_the_library_models(site, demo_run, pose_models_dir, full_body_photo):
    """The site's generator (float32 heatmaps and norm, float16 weights) against the Keras
    generator it was exported from, and its BlazePose models against the TF Lite files."""
    from ai_edge_litert.interpreter import Interpreter
    from onnxruntime import InferenceSession

    from dptn_tf.inference.tensorflow_models import GeneratorModel

    photo = read_photo(full_body_photo)
    keras_model = GeneratorModel(demo_run / "generator.keras", demo_run / "config.yaml")
    onnx_model = PortableModel(site / "models" / "generator.onnx")
    source = BlazePose(pose_models_dir).keypoints(photo)
    window = person_window(source, keras_model.frame, photo.shape[:2])
    crop, keypoints = window.crop(photo), window.keypoints_in(source)
    target = np.flip(window.keypoints_in(source, keras_model.frame), axis=0).copy()
    results = [m(crop, keypoints, target).astype(int) for m in (keras_model, onnx_model)]
    assert np.abs(results[0] - results[1]).mean() <= 1.0

    rng = np.random.default_rng(0)
    for name in ("pose_detection", "pose_landmark_full"):
        interpreter = Interpreter(model_path=str(pose_models_dir / f"{name}.tflite"))
        interpreter.allocate_tensors()
        details = interpreter.get_input_details()[0]
        tensor = rng.uniform(-1, 1, details["shape"]).astype(np.float32)
        interpreter.set_tensor(details["index"], tensor)
        interpreter.invoke()
        expected = {
            tuple(d["shape"]): interpreter.get_tensor(d["index"])
            for d in interpreter.get_output_details()
        }
        session = InferenceSession(str(site / "models" / f"{name}.onnx"))
        for output in session.run(None, {session.get_inputs()[0].name: tensor}):
            if output.shape not in USED_OUTPUTS:  # the segmentation mask, world landmarks
                continue
            reference = expected[output.shape]
            scale = max(np.abs(reference).max(), 1e-6)
            assert np.abs(output - reference).max() <= 1e-4 * scale + 1e-6, (name, output.shape)
