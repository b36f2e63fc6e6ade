"""A TEST DOUBLE of `tensorflow_model_server`'s Predict API, serving SavedModels on loopback.

`tensorflow_model_server` cannot be installed here, so the client is tested against this stand-in.
It does what the real server does with a predict request, as far as the client can tell:

- models live in TF Serving's layout, `<base_path>/<version>/saved_model.pb`; a request names
  the model and optionally a version (else the highest), and a signature (else
  `serving_default`);
- inputs are fed to the SignatureDef's tensors and its outputs fetched through a TensorFlow
  Session, without Python's check of fed shapes against the placeholders (the C++ server has
  none either), so the graph's own input validation is what answers a bad request;
- REST metadata: `GET /v1/models/<name>[/versions/<N>]/metadata`, the SignatureDefs as TF
  Serving's JSON writes them (`metadata.signature_def.signature_def`, proto field names);
- REST: `POST /v1/models/<name>[/versions/<N>]:predict` with the row (`instances`) or the
  columnar (`inputs`) JSON format; `{"b64": ...}` decodes to bytes; the reply is
  `{"predictions": [...]}` or `{"outputs": ...}`, string outputs whose name ends in `_bytes`
  come back as `{"b64": ...}` (TF Serving's rule), errors as `{"error": message}` with the HTTP
  status of the TensorFlow error code;
- gRPC: `tensorflow.serving.PredictionService/Predict` with the `tensorflow-serving-api` protos,
  errors as the matching gRPC status.

Both servers bind to 127.0.0.1 on a free port and refuse work after `max_requests` requests.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import re
import threading
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import config_pb2

DEFAULT_SIGNATURE = "serving_default"
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "FAILED_PRECONDITION": 400,
    "RESOURCE_EXHAUSTED": 429,
    "UNIMPLEMENTED": 501,
}
_STATUS_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}
PREDICT_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?:predict$")
METADATA_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?/metadata$")


class PredictError(Exception):
    """A failed prediction: `code` is the TensorFlow/gRPC status name, e.g. INVALID_ARGUMENT."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ModelDouble:
    """The versions of one model under `base_path`, each loaded into its own Session on demand."""

    def __init__(self, name: str, base_path: str | Path, max_requests: int = 64):
        self.name = name
        self.base_path = Path(base_path)
        self.max_requests = max_requests
        self.requests = 0
        self._lock = threading.Lock()
        self._versions = {}  # version -> (session, signature_defs)
        self._callables = {}  # (version, signature, feeds) -> session callable

    def _load(self, version: int | None):
        available = sorted(int(p.name) for p in self.base_path.iterdir() if p.name.isdigit())
        if version is None and available:
            version = available[-1]
        if version not in available:
            raise PredictError(
                "NOT_FOUND", f"Servable not found for request: Specific({self.name}, {version})"
            )
        if version not in self._versions:
            graph = tf.Graph()
            session = tf.compat.v1.Session(graph=graph)
            with graph.as_default():
                meta_graph = tf.compat.v1.saved_model.load(
                    session, ["serve"], str(self.base_path / str(version))
                )
            self._versions[version] = (session, meta_graph.signature_def)
        return version, *self._versions[version]

    def signature(self, version: int | None, signature_name: str):
        """The SignatureDef a request for `version`/`signature_name` would run."""
        _, _, signatures = self._load(version)
        if signature_name not in signatures:
            raise PredictError(
                "INVALID_ARGUMENT",
                f'Serving signature name: "{signature_name}" not found in signature def',
            )
        return signatures[signature_name]

    def predict(
        self, model_name: str, version: int | None, signature_name: str, inputs: dict
    ) -> dict:
        """Run one request: `{input alias: array}` -> `{output alias: array}`."""
        signature_name = signature_name or DEFAULT_SIGNATURE
        with self._lock:
            self.requests += 1
            if self.requests > self.max_requests:
                raise PredictError("RESOURCE_EXHAUSTED", "test double: request limit reached")
            if model_name != self.name:
                raise PredictError(
                    "NOT_FOUND", f"Servable not found for request: Latest({model_name})"
                )
            signature = self.signature(version, signature_name)
            if set(inputs) != set(signature.inputs):
                raise PredictError(
                    "INVALID_ARGUMENT",
                    f"input keys {sorted(inputs)} do not "
                    f"match the signature's {sorted(signature.inputs)}",
                )
            for alias, value in inputs.items():
                expected = tf.dtypes.as_dtype(signature.inputs[alias].dtype)
                if tf.dtypes.as_dtype(value.dtype) != expected:
                    raise PredictError(
                        "INVALID_ARGUMENT",
                        f"Expects arg '{alias}' to be "
                        f"{expected.name} but {value.dtype} is provided",
                    )
            feeds, fetches = sorted(inputs), sorted(signature.outputs)
            run = self._callable(version, signature_name, signature, feeds, fetches)
        try:
            values = run(*(inputs[a] for a in feeds))
        except tf.errors.OpError as error:
            raise PredictError(_STATUS_NAMES[error.error_code], error.message) from None
        return dict(zip(fetches, values))

    def _callable(self, version, signature_name, signature, feeds, fetches):
        """A Session callable feeding `feeds` and fetching `fetches` (by alias), made once."""
        version, session, _ = self._load(version)
        key = (version, signature_name, tuple(feeds))
        if key not in self._callables:
            options = config_pb2.CallableOptions(
                feed=[signature.inputs[a].name for a in feeds],
                fetch=[signature.outputs[a].name for a in fetches],
            )
            # Unlike `Session.run`, a callable does not check fed shapes against placeholders.
            self._callables[key] = session._make_callable_from_options(options)
        return self._callables[key]

    def close(self):
        for session, _ in self._versions.values():
            session.close()


def _from_json(value, dtype: tf.dtypes.DType, alias: str) -> np.ndarray:
    """A JSON value (`{"b64": ...}` leaves allowed) -> an array of the signature's dtype."""

    def leaf(v):
        if isinstance(v, list):
            return [leaf(x) for x in v]
        if isinstance(v, dict):
            if set(v) != {"b64"} or not isinstance(v["b64"], str):
                raise PredictError(
                    "INVALID_ARGUMENT",
                    f"JSON Value: {json.dumps(v)} not formatted correctly for base64 data",
                )
            return base64.b64decode(v["b64"])
        return v.encode() if isinstance(v, str) and dtype == tf.string else v

    try:
        if dtype == tf.string:
            return np.array(leaf(value), dtype=object)
        return np.array(leaf(value), dtype=dtype.as_numpy_dtype)
    except (TypeError, ValueError) as error:
        raise PredictError("INVALID_ARGUMENT", f"input '{alias}': {error}") from None


def _to_json(alias: str, value):
    """An output array -> JSON; strings of a `*_bytes` output as `{"b64": ...}`, as TF Serving."""

    def leaf(v):
        if isinstance(v, list):
            return [leaf(x) for x in v]
        if isinstance(v, bytes):
            if alias.endswith("_bytes"):
                return {"b64": base64.b64encode(v).decode()}
            return v.decode()
        return v

    return leaf(np.asarray(value).tolist())


def rest_predict(model: ModelDouble, name: str, version: int | None, body) -> dict:
    """One REST predict request body -> its reply body."""
    if not isinstance(body, dict):
        raise PredictError("INVALID_ARGUMENT", "JSON Value: request body Is not object")
    signature_name = body.get("signature_name", DEFAULT_SIGNATURE)
    signature = model.signature(version, signature_name)
    dtypes = {a: tf.dtypes.as_dtype(t.dtype) for a, t in signature.inputs.items()}
    if ("instances" in body) == ("inputs" in body):
        raise PredictError("INVALID_ARGUMENT", "expecting exactly one of 'inputs' or 'instances'")
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise PredictError("INVALID_ARGUMENT", "'instances' must be a non-empty list")
        named = isinstance(instances[0], dict) and set(instances[0]) != {"b64"}
        if not named and len(dtypes) > 1:
            raise PredictError(
                "INVALID_ARGUMENT",
                "instances is a plain list, but expecting list "
                "of objects as multiple input tensors required",
            )
        if named and any(not isinstance(i, dict) or set(i) != set(dtypes) for i in instances):
            raise PredictError(
                "INVALID_ARGUMENT", "each instance must only have keys: " + ",".join(sorted(dtypes))
            )
        columns = (
            {a: [i[a] for i in instances] for a in dtypes}
            if named
            else {next(iter(dtypes)): instances}
        )
    else:
        columns = body["inputs"]
        if not isinstance(columns, dict) or set(columns) == {"b64"}:
            if len(dtypes) > 1:
                raise PredictError(
                    "INVALID_ARGUMENT",
                    "inputs is a plain value/list, but "
                    "expecting an object as multiple input tensors required",
                )
            columns = {next(iter(dtypes)): columns}
        missing = set(dtypes) - set(columns)
        if missing:
            raise PredictError(
                "INVALID_ARGUMENT", f"Missing named input: {min(missing)} in 'inputs' object."
            )
    inputs = {a: _from_json(columns[a], dtypes[a], a) for a in dtypes}
    outputs = model.predict(name, version, signature_name, inputs)
    if "instances" in body:
        batch = len(next(iter(outputs.values())))
        if len(outputs) == 1:
            ((alias, value),) = outputs.items()
            return {"predictions": [_to_json(alias, value[i]) for i in range(batch)]}
        return {
            "predictions": [
                {a: _to_json(a, v[i]) for a, v in outputs.items()} for i in range(batch)
            ]
        }
    if len(outputs) == 1:
        ((alias, value),) = outputs.items()
        return {"outputs": _to_json(alias, value)}
    return {"outputs": {a: _to_json(a, v) for a, v in outputs.items()}}


def rest_metadata(model: ModelDouble, name: str, version: int | None) -> dict:
    """TF Serving's reply to a model metadata request."""
    if name != model.name:
        raise PredictError("NOT_FOUND", f"Servable not found for request: Latest({name})")
    with model._lock:
        version, _, signatures = model._load(version)
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {
            "signature_def": {
                "signature_def": {
                    key: json_format.MessageToDict(value, preserving_proto_field_name=True)
                    for key, value in signatures.items()
                }
            }
        },
    }


class _RestHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        match = METADATA_PATH.match(self.path)
        try:
            if match is None:
                raise PredictError("NOT_FOUND", f"Malformed request: GET {self.path}")
            version = int(match["version"]) if match["version"] else None
            status, reply = 200, rest_metadata(self.server.model, match["name"], version)
        except PredictError as error:
            status, reply = HTTP_STATUS.get(error.code, 500), {"error": error.message}
        self._reply(status, reply)

    def _reply(self, status: int, reply: dict):
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        match = PREDICT_PATH.match(self.path)
        try:
            if match is None:
                raise PredictError("NOT_FOUND", f"Malformed request: POST {self.path}")
            length = int(self.headers.get("Content-Length", 0))
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError as error:
                raise PredictError("INVALID_ARGUMENT", f"JSON Parse error: {error}") from None
            version = int(match["version"]) if match["version"] else None
            status, reply = 200, rest_predict(self.server.model, match["name"], version, body)
        except PredictError as error:
            status, reply = HTTP_STATUS.get(error.code, 500), {"error": error.message}
        self._reply(status, reply)

    def log_message(self, format, *args):  # keep the test output quiet
        pass


@contextlib.contextmanager
def serve_rest(model: ModelDouble):
    """Serve `model`'s REST API on loopback; yields the base URL, e.g. http://127.0.0.1:PORT."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RestHandler)
    server.model = model
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def serve_grpc(model: ModelDouble):
    """Serve `model`'s gRPC PredictionService on loopback; yields "127.0.0.1:PORT".

    Needs the `tensorflow-serving-api` protos (the optional `serving` extra).
    """
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            spec = request.model_spec
            version = spec.version.value if spec.HasField("version") else None
            try:
                inputs = {a: tf.make_ndarray(t) for a, t in request.inputs.items()}
                outputs = model.predict(spec.name, version, spec.signature_name, inputs)
            except PredictError as error:
                context.abort(getattr(grpc.StatusCode, error.code), error.message)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = spec.name
            response.model_spec.signature_name = spec.signature_name or DEFAULT_SIGNATURE
            for alias, value in outputs.items():
                response.outputs[alias].CopyFrom(tf.make_tensor_proto(value))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait()
