"""Serve an exported web site (`export_savedmodel.py --format web`) on this machine.

Static files, with the cross-origin isolation headers (`Cross-Origin-Opener-Policy:
same-origin` and `Cross-Origin-Embedder-Policy: require-corp`, and the `Cross-Origin-Resource-
Policy` of each file) without which a browser gives a page
no shared memory, so ONNX Runtime Web runs on one thread. Any static host works; one that does
not send them gets a one-thread page, which says so.
"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from dptn_tf.web import SITE_JSON

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".onnx": "application/octet-stream",
        ".json": "application/json",
    }

    def end_headers(self):
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def site_server(folder: str | Path, host: str = "127.0.0.1", port: int = 8000):
    """A ThreadingHTTPServer of `folder`, not yet serving (`serve_forever`); `port` 0 picks a
    free one (`server.server_address`)."""
    folder = Path(folder)
    if not (folder / SITE_JSON).is_file():
        raise FileNotFoundError(
            f"{folder}: not an exported web site (no {SITE_JSON}; make one with "
            "export_savedmodel.py --format web --run RUN --out SITE)"
        )
    handler = functools.partial(_Handler, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)
