"""Several visitors at once, through Gradio's own client on loopback: 4 sessions, each a photo
and a generation, all answered (the queue computes two at a time)."""

import json
from concurrent.futures import ThreadPoolExecutor

from dptn_tf.data import read_annotations

SESSIONS = 4
SECONDS = 240


def test_four_sessions_at_once_are_all_answered(demo_server, full_body_photo, synthetic_root):
    from gradio_client import Client, handle_file

    url, stderr = demo_server
    poses = list(read_annotations(synthetic_root / "synthetic-annotation-test.csv").values())

    def visit(index: int) -> str:
        client = Client(url, verbose=False, download_files=False)  # the files: URLs
        # The photo with its skeleton, the message, the emptied upload box (states stay inside).
        _, message, _ = client.predict(handle_file(str(full_body_photo)), api_name="/source")
        assert message.startswith("Source: found"), message
        pose = json.dumps(poses[index % len(poses)].tolist())
        result, skeleton, message = client.predict(pose, api_name="/generate")
        assert result and skeleton, message
        return message

    with ThreadPoolExecutor(SESSIONS) as pool:
        messages = list(pool.map(visit, range(SESSIONS), timeout=SECONDS))
    assert len(messages) == SESSIONS
    assert all(m.startswith("Generated in") for m in messages), messages
    assert "Traceback" not in stderr.read_text()
