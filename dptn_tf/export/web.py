"""Export a static web site that runs pose transfer inside the visitor's browser.

`export_site` writes a folder any static file server can host (`dptn-demo --site` serves one
with the cross-origin isolation headers that multi-threaded WebAssembly needs):

- `index.html`, `page.js` (the page), `worker.js` (the models, in a Web Worker so that the page
  stays responsive), `pose_pipeline.js` (BlazePose's pre- and post-processing and the person's
  window, ported from `dptn_tf.pose`), `joint_editor.js` (shared with the Gradio demo);
- `models/generator.onnx`: the ONNX export's graph (`dptn_tf.export.litert_onnx`: the heatmaps
  are rendered inside it by `keypoints_to_heatmaps`, so the page does not re-implement them),
  in float32 throughout as LiteRT's, since ONNX Runtime Web has no float64 kernels;
- `models/pose_detection.onnx`, `models/pose_landmark_full.onnx`: BlazePose's two TF Lite files
  converted to ONNX. MediaPipe's `PoseLandmarker` cannot take them: its `.task` bundle needs
  TF Lite metadata (the input's normalisation) that the wheel's landmark model does not carry,
  and Google's storage, where the bundle is downloaded from, is not reachable. The detector's
  weights are stored sparse (a DENSIFY operator), which tf2onnx cannot read, so they are
  densified first, with the values TF Lite itself computes;
- `ort/`: ONNX Runtime Web's WebGPU build (which also runs on WebAssembly), copied from its npm
  package at export time: nothing is fetched from a CDN when the page runs;
- `site.json`: the frame, the network size, the skeleton and the gallery's poses.

Weights are stored in float16 where `weights="float16"` (the arithmetic stays float32: each
weight is cast once when the session loads), or int8 (`onnxruntime.quantization`'s dynamic
quantisation). BlazePose's weights are float16 in their TF Lite files, so storing them in float16
loses nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from dptn_tf.config import DataConfig
from dptn_tf.console import stderr_silenced, wants_quiet
from dptn_tf.files import weight_files
from dptn_tf.files.atomic import replace_directory
from dptn_tf.pose import editor_skeleton
from dptn_tf.pose.framing import MARGIN
from dptn_tf.web import GALLERY_SIZE, SITE_JSON

ORT_WEB = ("onnxruntime-web", "1.31.1")
ORT_FILES = (
    "ort.webgpu.min.mjs",
    "ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm",
)
PAGE_FILES = ("index.html", "page.js", "worker.js", "pose_pipeline.js", "joint_editor.js")
WEIGHTS = ("float32", "float16", "int8")


def float16_weights(model_bytes: bytes, min_size: int = 16) -> bytes:
    """An ONNX model whose float32 initializers of at least `min_size` values are stored as
    float16, each cast back to float32 by a Cast node at the graph's start."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    kept, casts = [], []
    for initializer in graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or np.prod(initializer.dims) < min_size:
            kept.append(initializer)
            continue
        values = numpy_helper.to_array(initializer)
        stored = f"{initializer.name}__float16"
        kept.append(numpy_helper.from_array(values.astype(np.float16), stored))
        cast = helper.make_node("Cast", [stored], [initializer.name], to=onnx.TensorProto.FLOAT)
        casts.append(cast)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()


def int8_weights(model_bytes: bytes) -> bytes:
    """Dynamic-range int8 quantisation of the model's MatMul and Conv weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "model.onnx"), Path(folder, "model_int8.onnx")
        source.write_bytes(model_bytes)
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        return target.read_bytes()


def _dense_tflite(path: Path) -> bytes:
    """The TF Lite model at `path` with its sparse constants densified (DENSIFY ops removed),
    the dense values being those TF Lite's own kernels compute."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    with stderr_silenced(wants_quiet()):  # TF Lite's C++ INFO lines
        interpreter = Interpreter(
            model_path=str(path),
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        interpreter.allocate_tensors()
    tensor_input = interpreter.get_input_details()[0]
    interpreter.set_tensor(tensor_input["index"], np.zeros(tensor_input["shape"], np.float32))
    interpreter.invoke()
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    kept = []
    for operator in graph.operators:
        if codes[operator.opcodeIndex] != schema.BuiltinOperator.DENSIFY:
            kept.append(operator)
            continue
        sparse, dense = operator.inputs[0], operator.outputs[0]
        values = interpreter.get_tensor(dense)
        tensor = graph.tensors[sparse]
        tensor.sparsity, tensor.shape = None, list(values.shape)
        model.buffers[tensor.buffer].data = np.frombuffer(values.tobytes(), np.uint8)
        for other in graph.operators:
            other.inputs = [sparse if i == dense else i for i in other.inputs]
    graph.operators = kept
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def blazepose_onnx(weights_dir=None) -> dict[str, bytes]:
    """{file name: ONNX model} of BlazePose's detector and landmark model, float16 weights."""
    import tf2onnx

    models = {}
    for file in (weight_files.BLAZEPOSE_DETECTOR, weight_files.BLAZEPOSE_LANDMARKS):
        found = weight_files.find_weight_file(file, weights_dir)
        path = weight_files.check_weight_file(file, found)
        with tempfile.TemporaryDirectory() as folder:
            dense = Path(folder, path.name)
            dense.write_bytes(_dense_tflite(path))
            model, _ = tf2onnx.convert.from_tflite(str(dense), opset=17)
        models[path.stem + ".onnx"] = float16_weights(model.SerializeToString())
    return models


def copy_npm_files(package: str, version: str, files, target: Path) -> None:
    """Copy `files` of the npm package's `dist/`, and its package.json, into `target` (`npm
    pack`, through npm's own cache)."""
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(
            f"the web export copies {package} from npm, which is not installed "
            "(Debian: apt-get install npm)"
        )
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [npm, "pack", "--prefer-offline", "--silent", f"{package}@{version}"],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise FileNotFoundError(
                f"npm pack {package}@{version} failed: {done.stderr.strip()[-500:]}"
            )
        archive = Path(folder) / f"{package}-{version}.tgz"
        with tarfile.open(archive) as tar:
            # package.json names the version and the licence (MIT), which has no file of its own.
            for name in (*files, "package.json"):
                member = "package/" + (name if name == "package.json" else f"dist/{name}")
                try:
                    (target / name).write_bytes(tar.extractfile(member).read())
                except KeyError:
                    raise FileNotFoundError(
                        f"{package}@{version} from npm has no {member}"
                    ) from None


def check_site_target(out: str | os.PathLike) -> Path:
    """`out` as a Path, if a site may be written there: a new folder, or an earlier site."""
    out = Path(out)
    if out.exists() and not (out / SITE_JSON).is_file():
        raise FileExistsError(f"{out}: exists and is not a site made by the web export")
    return out


def export_site(
    onnx_generator: bytes,
    out: str | os.PathLike,
    data: DataConfig,
    gallery: dict,
    weights: str = "float16",
    weights_dir=None,
) -> Path:
    """Write the site (see the module's docstring) to `out`, whole: it is built in a temporary
    sibling folder and renamed into place, replacing an earlier site there; the temporary folder
    a killed export left is deleted at the next export of that site.

    `onnx_generator` is the float32 ONNX export (`litert_onnx.onnx_models`), `gallery` the
    poses `{image name: [18, 2]}` in the frame, of which the first `GALLERY_SIZE` by name go in.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights: expected one of {WEIGHTS}, got {weights!r}")
    out = check_site_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # What a killed export of this site left (one export of a site at a time).
    for leftover in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    built = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (built / "models").mkdir()
        (built / "ort").mkdir()
        generator = {"float32": lambda m: m, "float16": float16_weights, "int8": int8_weights}
        (built / "models" / "generator.onnx").write_bytes(generator[weights](onnx_generator))
        for name, model in blazepose_onnx(weights_dir).items():
            (built / "models" / name).write_bytes(model)
        copy_npm_files(*ORT_WEB, ORT_FILES, built / "ort")
        page = resources.files("dptn_tf.web")
        for name in PAGE_FILES:
            (built / name).write_text(page.joinpath(name).read_text())
        names = sorted(gallery)[:GALLERY_SIZE]
        site = {
            "skeleton": editor_skeleton(data.old_size),
            "load_size": [int(s) for s in data.load_size],
            "margin": MARGIN,
            "weights": weights,
            "onnxruntime_web": ORT_WEB[1],
            "gallery": [
                {"name": name, "pose": np.round(np.asarray(gallery[name], float), 1).tolist()}
                for name in names
            ],
        }
        (built / SITE_JSON).write_text(json.dumps(site, indent=1))
        built.chmod(0o755)
        replace_directory(built, out)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    return out


def site_size(folder: str | os.PathLike) -> int:
    """Bytes of every file of a site."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
