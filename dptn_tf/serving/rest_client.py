"""TF Serving's REST predict request for a DPTN export, with only the standard library and numpy
(and Pillow for `RestModel`): `tools/serving_client.py` sends it, and `dptn_tf.demo` fronts a
served model with it.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request

import numpy as np

SIGNATURE = "serving_default"


class ServingError(RuntimeError):
    """The server refused the request or could not be reached; the message says why."""


def as_result(image, png: bytes) -> dict:
    """The reply's outputs: `{"image": uint8 [H, W, 3], "image_png_bytes": the same as PNG}`."""
    return {"image": np.asarray(image, np.uint8), "image_png_bytes": png}


def predict_rest(
    url: str,
    model: str,
    image: bytes,
    source_keypoints,
    target_keypoints,
    *,
    version: int | None = None,
    timeout: float = 60.0,
) -> dict:
    """POST one `instances` request to TF Serving's REST API at `url` (http://host:8501).

    Returns `{"image": uint8 [H, W, 3], "image_png_bytes": the same image as PNG}`.
    """
    version_path = f"/versions/{version}" if version is not None else ""
    endpoint = f"{url.rstrip('/')}/v1/models/{model}{version_path}:predict"
    body = {
        "signature_name": SIGNATURE,
        "instances": [
            {
                "source_image": {"b64": base64.b64encode(image).decode()},
                "source_keypoints": source_keypoints,
                "target_keypoints": target_keypoints,
            }
        ],
    }
    request = urllib.request.Request(
        endpoint, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.load(response)
    except urllib.error.HTTPError as error:
        try:
            message = json.load(error).get("error", error.reason)
        except ValueError:
            message = error.reason
        raise ServingError(f"{endpoint}: HTTP {error.code}: {message}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise ServingError(f"{endpoint}: {getattr(error, 'reason', error)}") from None
    prediction = reply["predictions"][0]
    return as_result(prediction["image"], base64.b64decode(prediction["image_png_bytes"]["b64"]))


def served_frame(
    url: str, model: str, *, version: int | None = None, timeout: float = 60.0
) -> tuple[int, int]:
    """The frame `(H, W)` a served DPTN export answers in, read from TF Serving's model metadata
    (`GET /v1/models/<model>/metadata`): the static size of `serving_default`'s `image` output,
    which the export declares (`dptn_tf.export.savedmodel`)."""
    version_path = f"/versions/{version}" if version is not None else ""
    endpoint = f"{url.rstrip('/')}/v1/models/{model}{version_path}/metadata"
    reply = _get_json(endpoint, timeout)
    try:
        signature = reply["metadata"]["signature_def"]["signature_def"][SIGNATURE]
        dims = signature["outputs"]["image"]["tensor_shape"]["dim"]
        height, width = (int(dim["size"]) for dim in dims[1:3])
    except (KeyError, TypeError, ValueError):
        raise ServingError(
            f"{endpoint}: no {SIGNATURE} signature with an 'image' output of "
            "static size: is this a DPTN export?"
        ) from None
    if height < 1 or width < 1:
        raise ServingError(f"{endpoint}: the 'image' output's size is not declared")
    return height, width


def _get_json(endpoint: str, timeout: float) -> dict:
    try:
        with urllib.request.urlopen(endpoint, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise ServingError(f"{endpoint}: HTTP {error.code}: {error.reason}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise ServingError(f"{endpoint}: {getattr(error, 'reason', error)}") from None


def parse_model_url(url: str) -> tuple[str, str, int | None]:
    """'http://host:8501/v1/models/dptn[/versions/2]' -> (server URL, model name, version)."""
    found = re.fullmatch(r"(https?://[^/]+)/v1/models/([^/:]+)(?:/versions/(\d+))?/?", url)
    if not found:
        raise ValueError(
            f"{url}: expected a model URL such as http://localhost:8501/v1/models/dptn"
        )
    return found[1], found[2], int(found[3]) if found[3] else None


class RestModel:
    """A model on TF Serving behind `GeneratorModel`'s call: (crop, source keypoints in it,
    target keypoints in `frame`) -> uint8 image of `frame`. Without `frame` the server is asked
    (`served_frame`); a given one is checked against each reply."""

    def __init__(self, url: str, frame=None, timeout: float = 60.0):
        self.server, self.model, self.version = parse_model_url(url)
        self.timeout = timeout
        if frame is None:
            frame = served_frame(self.server, self.model, version=self.version, timeout=timeout)
        self.frame = tuple(frame)

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        from dptn_tf.pose.photos import png_bytes

        image = predict_rest(
            self.server,
            self.model,
            png_bytes(crop),
            np.asarray(source_keypoints, float).tolist(),
            np.asarray(target_keypoints, float).tolist(),
            version=self.version,
            timeout=self.timeout,
        )["image"]
        if image.shape[:2] != self.frame:
            raise ValueError(wrong_frame(image.shape[:2], self.frame))
        return image


def wrong_frame(served, frame) -> str:
    return (
        f"the model's images are {served[0]}x{served[1]}, not --frame {frame[0]}x{frame[1]}: "
        f"the poses would be placed in the wrong frame; run again with --frame "
        f"{served[0]}x{served[1]} (or without --frame: the server says its frame)"
    )
