"""Export a DPTN generator as a SavedModel that TensorFlow Serving loads as it is.

The SavedModel holds two signatures and needs neither Keras nor `dptn_tf` to run (the custom
layers are traced into plain TensorFlow graphs):

- `serving_default`, a pose-transfer service:
  `source_image` string `[batch]` (encoded JPEG or PNG, any size, one size per example),
  `source_keypoints` float32 `[batch, 18, 2]` `(y, x)` in pixels of that example's source image,
  `target_keypoints` float32 `[batch, 18, 2]` `(y, x)` in pixels of the output (`old_size`),
  -1 marking a missing joint
  -> `image` uint8 `[batch, old_H, old_W, 3]` and `image_png_bytes` string `[batch]` (the same
  images PNG-encoded). TF Serving's REST API base64-encodes a string output only when its name
  ends in `_bytes`, hence that name.
  Decoding, the resize to `load_size`, the pose heatmaps and the conversion of the result to the
  annotation size are the library's own functions (`dptn_tf.data.images`,
  `dptn_tf.pose.keypoints_to_heatmaps`, `dptn_tf.inference.generation.to_saved_uint8`), so the
  service computes what training and the test protocol compute.
- `generate`, for batch pipelines that prepare their own tensors:
  `source_image` float32 `[batch, H, W, 3]` in [-1, 1], `source_pose` and `target_pose` float32
  `[batch, H, W, 18]` -> `generated_target` float32 `[batch, H, W, 3]` in [-1, 1].

TF Serving does not hold requests to the shapes a signature declares, so every input is checked
inside the graph; a bad one fails the request with InvalidArgument and a message saying what was
expected: shapes, batch sizes (equal, not zero), image formats, each source image's size read
from its header before it is decoded (at most `max_source_pixels`), and keypoints (finite, and
-1 for a missing joint or within their frame, edges included: 0 <= y <= H, 0 <= x <= W).
Each version is written to a hidden temporary directory and renamed to `EXPORT_BASE/<version>/`,
so a server polling the base path never sees half a model (on local disks; an object store such
as `gs://` has no atomic rename, see `dptn_tf.files.atomic`).
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from dptn_tf.config import DataConfig
from dptn_tf.data.images import decode_rgb, encoded_image_size, to_network_input
from dptn_tf.files.atomic import atomic_path
from dptn_tf.files.directory_lock import exclusive_directory
from dptn_tf.files.finite import model_weights, require_finite
from dptn_tf.inference.generation import as_inference_generator, to_saved_uint8
from dptn_tf.models import INPUT_NAMES
from dptn_tf.pose import (
    IN_FRAME_RULE,
    MAX_PHOTO_PIXELS,
    MISSING,
    NUM_JOINTS,
    keypoints_to_heatmaps,
)

SERVING_SIGNATURE = "serving_default"
GENERATE_SIGNATURE = "generate"
IMAGE_CHANNELS = 3

# Leading bytes of the two accepted image formats.
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The largest source image decoded (H * W), the limit of every photo reader. The header is read
# first, so a larger one costs nothing (a 20000x20000 PNG would take seconds of CPU and gigabytes
# to decode).
MAX_SOURCE_PIXELS = MAX_PHOTO_PIXELS


def _shape_text(tensor) -> tf.Tensor:
    """The run-time shape as text, e.g. "2,18,2": compared by pattern, any rank is safe."""
    return tf.strings.reduce_join(tf.strings.as_string(tf.shape(tensor)), separator=",")


def _require_shape(tensor, name: str, pattern: str, expected: str) -> tf.Operation:
    """Assert that `tensor`'s shape text fully matches the regular expression `pattern`."""
    shape = _shape_text(tensor)
    return tf.debugging.Assert(
        tf.strings.regex_full_match(shape, pattern),
        [f"{name}: expected {expected}, got shape", shape],
        name=f"check_{name}_shape",
    )


def _require_equal(values, names, what: str) -> tf.Operation:
    """Assert that the scalar int tensors `values` are all equal (one `what` for all `names`)."""
    values = tf.stack(values)
    return tf.debugging.Assert(
        tf.reduce_all(tf.equal(values, values[0])),
        [f"{', '.join(names)}: expected one {what} for all of them, got", values],
        name=f"check_{what.replace(' ', '_')}",
    )


def _checked(tensors, *stages):
    """`tensors`, computable only once every stage's checks have passed.

    A stage maps the tensors to a list of assertions; it is built on the outputs of the previous
    stage, so it only runs on inputs that passed it (a batch-size check never sees a scalar).
    """
    for stage in stages:
        with tf.control_dependencies(stage(*tensors)):
            tensors = [tf.identity(t) for t in tensors]
    return tensors


def _require_non_empty(tensor, name: str) -> tf.Operation:
    return tf.debugging.Assert(
        tf.shape(tensor)[0] > 0,
        [f"{name}: expected a batch of at least one, got an empty batch"],
        name=f"check_{name}_not_empty",
    )


def _require_in_frame(keypoints, frames, name: str, frame: str) -> tf.Operation:
    """Assert that every joint of `keypoints` `[batch, 18, 2]` is finite and either missing (a
    coordinate -1) or within its frame `(H, W)` (`frames`: `[batch, 2]` or `[2]`), edges
    included: 0 <= y <= H, 0 <= x <= W."""
    limits = tf.cast(frames, keypoints.dtype)[..., tf.newaxis, :]
    finite = tf.reduce_all(tf.math.is_finite(keypoints), axis=-1)
    missing = tf.reduce_any(tf.equal(keypoints, MISSING), axis=-1)
    inside = tf.reduce_all(tf.logical_and(keypoints >= 0, keypoints <= limits), axis=-1)
    bad = tf.where(tf.logical_not(tf.logical_and(finite, tf.logical_or(missing, inside))))
    return tf.debugging.Assert(
        tf.equal(tf.size(bad), 0),
        [
            f"{name}: expected {IN_FRAME_RULE.format(frame=frame)}; not so at "
            "[batch position, joint]",
            bad,
            "values",
            tf.gather_nd(keypoints, bad),
        ],
        summarize=8,
        name=f"check_{name}_range",
    )


def _validate_serving_inputs(
    source_image, source_keypoints, target_keypoints, old_size, max_pixels: int
):
    """The inputs, checked, and each source image's `(H, W)` from its header."""
    names = ("source_image", "source_keypoints", "target_keypoints")
    keypoints = f"float32 [batch, {NUM_JOINTS}, 2] ((y, x) per joint, -1 if missing)"

    def shapes(image, source, target):
        return [
            _require_shape(
                image, names[0], r"\d+", "a string vector [batch] of encoded JPEG or PNG images"
            ),
            _require_shape(source, names[1], rf"\d+,{NUM_JOINTS},2", keypoints),
            _require_shape(target, names[2], rf"\d+,{NUM_JOINTS},2", keypoints),
        ]

    def batch_sizes(*tensors):
        return [
            _require_equal([tf.shape(t)[0] for t in tensors], names, "batch size"),
            _require_non_empty(tensors[0], names[0]),
        ]

    def formats(image, *_):
        def starts_with(magic):
            return tf.equal(tf.strings.substr(image, 0, len(magic)), magic)

        is_image = tf.logical_or(starts_with(JPEG_MAGIC), starts_with(PNG_MAGIC))
        return [
            tf.debugging.Assert(
                tf.reduce_all(is_image),
                [
                    "source_image: expected encoded JPEG or PNG bytes; not an image at batch "
                    "positions",
                    tf.where(tf.logical_not(is_image))[:, 0],
                ],
                name="check_source_image_format",
            )
        ]

    image, source, target = _checked(
        (source_image, source_keypoints, target_keypoints), shapes, batch_sizes, formats
    )
    sizes = tf.map_fn(encoded_image_size, image, fn_output_signature=tf.TensorSpec((2,), tf.int64))

    def pixels(image, source, target, sizes):
        too_large = tf.reduce_prod(sizes, axis=1) > max_pixels
        return [
            tf.debugging.Assert(
                tf.logical_not(tf.reduce_any(too_large)),
                [
                    f"source_image: expected at most {max_pixels} pixels per image (the export's "
                    "max_source_pixels); too large at batch positions",
                    tf.where(too_large)[:, 0],
                    "(H, W)",
                    tf.boolean_mask(sizes, too_large),
                ],
                name="check_source_image_pixels",
            )
        ]

    def keypoint_ranges(image, source, target, sizes):
        return [
            _require_in_frame(source, sizes, names[1], "its source image"),
            _require_in_frame(target, old_size, names[2], f"the output frame {old_size}"),
        ]

    return _checked((image, source, target, sizes), pixels, keypoint_ranges)


def _validate_generate_inputs(source_image, source_pose, target_pose):
    names = INPUT_NAMES
    pose = f"float32 [batch, H, W, {NUM_JOINTS}] heatmaps"

    def shapes(image, source, target):
        return [
            _require_shape(
                image,
                names[0],
                rf"\d+,\d+,\d+,{IMAGE_CHANNELS}",
                f"float32 [batch, H, W, {IMAGE_CHANNELS}] in [-1, 1]",
            ),
            _require_shape(source, names[1], rf"\d+,\d+,\d+,{NUM_JOINTS}", pose),
            _require_shape(target, names[2], rf"\d+,\d+,\d+,{NUM_JOINTS}", pose),
        ]

    def sizes(*tensors):
        dims = [tf.shape(t) for t in tensors]
        return [
            *(
                _require_equal([d[axis] for d in dims], names, what)
                for axis, what in ((0, "batch size"), (1, "height"), (2, "width"))
            ),
            _require_non_empty(tensors[0], names[0]),
        ]

    def divisible_by_8(image, *_):
        size = tf.shape(image)[1:3]
        return [
            tf.debugging.Assert(
                tf.reduce_all(tf.equal(size % 8, 0)),
                ["source_image: expected a height and width divisible by 8, got", size],
                name="check_size_divisible_by_8",
            )
        ]

    return _checked((source_image, source_pose, target_pose), shapes, sizes, divisible_by_8)


def check_geometry(data: DataConfig) -> None:
    """Refuse a geometry the network cannot run at, before anything is traced or converted."""
    load_size, old_size = tuple(data.load_size), tuple(data.old_size)
    for name, size in (("load_size", load_size), ("old_size", old_size)):
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"data.{name}: expected a positive (H, W), got {size}")
    if load_size[0] % 8 or load_size[1] % 8:
        raise ValueError(f"data.load_size: expected H and W divisible by 8, got {load_size}")


def build_export_archive(
    generator: keras.Model, data: DataConfig, max_source_pixels: int = MAX_SOURCE_PIXELS
) -> keras.export.ExportArchive:
    """The two signatures around `generator` (training or inference generator, same weights).

    `data.load_size` is the size the network runs at, `data.old_size` the annotation size of the
    output image and of the target keypoints, `data.sigma` the heatmaps' spread;
    `max_source_pixels` bounds `H * W` of a source image, checked from its header.
    """
    generator = as_inference_generator(generator)
    check_geometry(data)
    load_size, old_size = tuple(data.load_size), tuple(data.old_size)

    def generate(source_image, source_pose, target_pose):
        source_image, source_pose, target_pose = _validate_generate_inputs(
            source_image, source_pose, target_pose
        )
        inputs = {
            "source_image": source_image,
            "source_pose": source_pose,
            "target_pose": target_pose,
        }
        return {"generated_target": generator(inputs, training=False)}

    def serve(source_image, source_keypoints, target_keypoints):
        source_image, source_keypoints, target_keypoints, sizes = _validate_serving_inputs(
            source_image, source_keypoints, target_keypoints, old_size, max_source_pixels
        )
        images = tf.map_fn(
            lambda contents: to_network_input(decode_rgb(contents), load_size),
            source_image,
            fn_output_signature=tf.TensorSpec((*load_size, IMAGE_CHANNELS), tf.float32),
        )
        inputs = {
            "source_image": images,
            "source_pose": keypoints_to_heatmaps(source_keypoints, sizes, load_size, data.sigma),
            "target_pose": keypoints_to_heatmaps(target_keypoints, old_size, load_size, data.sigma),
        }
        image = to_saved_uint8(generator(inputs, training=False), old_size)
        png = tf.map_fn(tf.io.encode_png, image, fn_output_signature=tf.string)
        return {"image": image, "image_png_bytes": png}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(
        SERVING_SIGNATURE,
        serve,
        input_signature=[
            tf.TensorSpec((None,), tf.string, name="source_image"),
            tf.TensorSpec((None, NUM_JOINTS, 2), tf.float32, name="source_keypoints"),
            tf.TensorSpec((None, NUM_JOINTS, 2), tf.float32, name="target_keypoints"),
        ],
    )
    archive.add_endpoint(
        GENERATE_SIGNATURE,
        generate,
        input_signature=[
            tf.TensorSpec((None, None, None, IMAGE_CHANNELS), tf.float32, name="source_image"),
            tf.TensorSpec((None, None, None, NUM_JOINTS), tf.float32, name="source_pose"),
            tf.TensorSpec((None, None, None, NUM_JOINTS), tf.float32, name="target_pose"),
        ],
    )
    return archive


def next_version(export_base: str | Path) -> int:
    """One more than the highest numeric version directory under `export_base` (1 if none)."""
    export_base = str(export_base)
    names = tf.io.gfile.listdir(export_base) if tf.io.gfile.isdir(export_base) else []
    # Object stores list a folder as "name/".
    versions = [
        int(name.rstrip("/"))
        for name in names
        if name.rstrip("/").isdigit() and tf.io.gfile.isdir(tf.io.gfile.join(export_base, name))
    ]
    return max(versions, default=0) + 1


def export_saved_model(
    generator: keras.Model,
    export_base: str | Path,
    data: DataConfig,
    version: int | None = None,
    max_source_pixels: int = MAX_SOURCE_PIXELS,
) -> str:
    """Write `generator`'s SavedModel to `export_base/<version>/` (a local path or a URL) and
    return that path.

    `version` defaults to the next free one; an existing version is never overwritten, because
    TF Serving treats a version as immutable once it has loaded it. Weights holding NaN or
    infinity are refused. One export at a time may write `export_base` (`DirectoryInUseError`
    names the other); the temporaries a killed export left there are deleted first.
    """
    return write_version(
        generator,
        export_base,
        data,
        version,
        "export_saved_model",
        lambda folder: build_export_archive(generator, data, max_source_pixels).write_out(
            folder, verbose=False
        ),
    )


def write_version(
    generator: keras.Model,
    export_base: str | Path,
    data: DataConfig,
    version: int | None,
    writer: str,
    write,
) -> str:
    """Check `generator` and `data`, then let `write(folder)` fill a new version of
    `export_base` and return its path: the rules of `export_saved_model`, for every format.

    `write` gets a temporary folder, renamed to `export_base/<version>/` once it returns;
    `writer` names this export to another one that holds `export_base`.
    """
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise ValueError(f"version: expected a positive integer, got {version!r}")
    check_geometry(data)
    require_finite(model_weights(generator), f"{export_base}: the generator")
    with exclusive_directory(export_base, writer):
        version = next_version(export_base) if version is None else version
        path = tf.io.gfile.join(str(export_base), str(version))
        if tf.io.gfile.exists(path):
            raise FileExistsError(
                f"{path} already exists: choose another version (next free: "
                f"{next_version(export_base)})"
            )
        with atomic_path(path) as temporary:
            write(temporary)
    return path
