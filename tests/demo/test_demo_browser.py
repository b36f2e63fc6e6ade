"""The demo in a real browser (Debian's chromium, driven by Playwright): a photo, a gallery pose,
a result; a dragged joint, another result; a file that is no image, a message, and the page
still answering. `DPTN_DEMO_SCREENSHOT=path.png` keeps the page's picture: the README's
(docs/images/demo.png) is `DPTN_DEMO_RUN=runs/synthetic DPTN_DEMO_SCREENSHOT=shot.png`, on
the quickstart, reduced."""

import json
import os
from pathlib import Path

from helpers.browser import drag

TIMEOUT_MS = 60_000


def _result_bytes(page) -> bytes:
    source = page.locator("#dptn-result img").get_attribute("src")
    return page.request.get(source).body()


def _generate(page, previous: str | None) -> str:
    """Click Generate; wait for a new result image; its URL."""
    page.click("#dptn-generate")
    page.wait_for_function(
        """(previous) => {
            const image = document.querySelector('#dptn-result img');
            return image && image.src && image.src !== previous && image.complete;
        }""",
        arg=previous,
        timeout=TIMEOUT_MS,
    )
    return page.locator("#dptn-result img").get_attribute("src")


def test_photo_gallery_pose_drag_and_a_bad_file(demo_server, browser, full_body_photo, tmp_path):
    url, stderr = demo_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.locator("#dptn-source-file input[type=file]").set_input_files(full_body_photo)
    page.locator("#dptn-status").get_by_text("Source: found").wait_for()
    page.locator("#dptn-gallery img").nth(2).click()
    page.locator("#dptn-status").get_by_text("of the gallery").wait_for()
    page.locator("#dptn-joint-editor circle").first.wait_for()

    first = _generate(page, None)
    page.locator("#dptn-status").get_by_text("Generated in").wait_for()
    first_image = _result_bytes(page)

    drag(
        page, page.locator('#dptn-joint-editor circle[data-joint="4"]'), 40, -60
    )  # the right wrist
    _generate(page, first)
    assert _result_bytes(page) != first_image, "dragging a joint did not change the result"

    joints = page.locator("#dptn-target-pose textarea")
    dragged = json.loads(joints.input_value())
    page.locator('#dptn-joint-editor circle[data-joint="7"]').dblclick()
    assert json.loads(joints.input_value())[7] == [-1, -1]  # marked missing
    page.click("#dptn-mirror")
    mirrored = json.loads(joints.input_value())
    assert mirrored[4] == [-1, -1] and mirrored[7][0] == dragged[4][0]  # left and right swapped
    page.click("#dptn-undo")  # the shared editor's history (dptn_tf/web/joint_editor.js)
    assert json.loads(joints.input_value())[7] == [-1, -1]
    page.click("#dptn-redo")
    assert json.loads(joints.input_value()) == mirrored
    page.click("#dptn-reset")
    page.locator("#dptn-joint-editor circle").first.wait_for()

    page.locator("#dptn-result img").click(position={"x": 20, "y": 30})
    page.locator("#dptn-attention img").wait_for()
    screenshot = Path(os.environ.get("DPTN_DEMO_SCREENSHOT", tmp_path / "demo.png"))
    page.screenshot(path=str(screenshot), full_page=True)

    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("this is not a photo")
    page.locator("#dptn-source-file input[type=file]").set_input_files(not_a_photo)
    page.locator("#dptn-status").get_by_text("not a readable image").wait_for()
    page.click("#dptn-generate")  # the app still serves, with the last good photo
    page.locator("#dptn-status").get_by_text("Generated in").wait_for()
    # Reset went back to the gallery pose: the first result again (Gradio names files by content).
    assert page.locator("#dptn-result img").get_attribute("src") == first
    assert "Traceback" not in stderr.read_text()
    page.close()
