"""Ask a DPTN model on TensorFlow Serving for one pose transfer and save the generated image.

    python tools/serving_client.py --rest http://localhost:8501 --model dptn \
        --source-image person.jpg --source-keypoints source.json \
        --target-keypoints target.json --out result.png
    python tools/serving_client.py --rest http://localhost:8501 --model dptn \
        --source-image me.jpg --target-photo other.jpg --out result.png

Keypoints are 18 `[y, x]` pairs (-1 for a missing joint), given as a JSON file or inline JSON;
the source's in pixels of the source image, the target's in pixels of the output image (the
model's annotation size). With `--annotations CSV` (a PATN annotation file) they are image names
looked up in it instead. Without `--source-keypoints`, and with `--target-photo` instead of
`--target-keypoints`, BlazePose finds them on this machine (`dptn_tf.pose.BlazePose`; needs the
library and its model files): the source photo is cut to a window of the frame's aspect around
its person before it is sent, and the target photo's pose is placed in the frame, the model's
annotation size: over REST the server's model metadata says it (the static size of the export's
`image` output; a `--frame HxW` given is checked against it), over gRPC `--frame` gives it; the
reply's image size confirms it.
`--grpc HOST:PORT` talks gRPC (port 8500 by default in the container) and needs the optional
`tensorflow-serving-api` package (`pip install -e ".[serving]"`); REST with keypoints needs only
the standard library, numpy and Pillow (`dptn_tf.serving.rest_client`, `dptn_tf.pose.photos`;
this module imports TensorFlow for nothing else). A photo stored sideways with an EXIF
orientation tag is sent upright (the server's decoder ignores the tag).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dptn_tf.console import add_verbose_flag, image_size, quiet_tensorflow
from dptn_tf.files.atomic import write_atomically
from dptn_tf.pose.photos import upright_bytes
from dptn_tf.serving.rest_client import (
    SIGNATURE,
    ServingError,
    as_result,
    predict_rest,
    served_frame,
    wrong_frame,
)

NUM_JOINTS = 18


GRPC_EXTRA = 'gRPC needs tensorflow-serving-api and grpcio: pip install -e ".[serving]"'


def photo_inputs(
    source_image: Path, source_keypoints, target_photo: Path | None, frame, *, weights_dir=None
) -> tuple[bytes, list, list | None]:
    """BlazePose on this machine: (image bytes to send, source keypoints, target keypoints).

    Without `source_keypoints` the source photo is cut to its person's window of `frame`'s
    aspect and sent as PNG, with the keypoints in that window; the target photo's pose is placed
    in `frame` (None without `target_photo`). Needs BlazePose's runtime, not TensorFlow.
    """
    from dptn_tf.inference.photo_transfer import placed_in_frame
    from dptn_tf.pose import BlazePose, person_window, png_bytes, read_photo

    extractor = BlazePose(weights_dir)
    image = upright_bytes(source_image.read_bytes(), str(source_image))
    source, target = source_keypoints, None
    if source is None:
        photo = read_photo(source_image)
        found = extractor.keypoints(photo, name=str(source_image))
        window = person_window(found, frame, photo.shape[:2])
        image = png_bytes(window.crop(photo))
        source = window.keypoints_in(found).tolist()
    if target_photo is not None:
        photo = read_photo(target_photo)
        found = extractor.keypoints(photo, name=str(target_photo))
        target = placed_in_frame(found, frame, photo.shape[:2]).tolist()
    return image, source, target


def load_keypoints(spec: str, annotations: Path | None = None) -> list:
    """18 `[y, x]` pairs from a JSON file, inline JSON, or an image name in `annotations`."""
    if annotations is not None:
        from dptn_tf.data import read_annotations  # only this option needs the package

        table = read_annotations(annotations)
        if spec not in table:
            raise ValueError(f"{annotations}: no annotation for image {spec!r}")
        keypoints = table[spec].tolist()
    else:
        text = Path(spec).read_text() if Path(spec).is_file() else spec
        try:
            keypoints = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"keypoints {spec!r}: not a JSON file nor inline JSON") from None
    shape = np.shape(keypoints)
    if shape != (NUM_JOINTS, 2):
        raise ValueError(
            f"keypoints {spec!r}: expected {NUM_JOINTS} [y, x] pairs, got shape {shape}"
        )
    return [[float(y), float(x)] for y, x in keypoints]


def predict_grpc(
    target: str,
    model: str,
    image: bytes,
    source_keypoints,
    target_keypoints,
    *,
    version: int | None = None,
    timeout: float = 60.0,
) -> dict:
    """Call `PredictionService/Predict` at `target` (host:8500); same result as `predict_rest`."""
    try:
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError:
        raise ImportError(GRPC_EXTRA) from None
    import tensorflow as tf

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = SIGNATURE
    if version is not None:
        request.model_spec.version.value = version
    request.inputs["source_image"].CopyFrom(tf.make_tensor_proto([image], tf.string))
    for name, keypoints in (
        ("source_keypoints", source_keypoints),
        ("target_keypoints", target_keypoints),
    ):
        request.inputs[name].CopyFrom(tf.make_tensor_proto([keypoints], tf.float32))
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as error:
            raise ServingError(f"{target}: {error.code().name}: {error.details()}") from None
    return as_result(
        tf.make_ndarray(response.outputs["image"])[0],
        tf.make_ndarray(response.outputs["image_png_bytes"])[0],
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    server = parser.add_mutually_exclusive_group(required=True)
    server.add_argument("--rest", metavar="URL", help="REST endpoint, e.g. http://localhost:8501")
    server.add_argument("--grpc", metavar="HOST:PORT", help="gRPC endpoint, e.g. localhost:8500")
    parser.add_argument("--model", default="dptn", help="model name on the server (default dptn)")
    parser.add_argument("--version", type=int, help="model version (default: the latest)")
    parser.add_argument("--source-image", type=Path, required=True, help="JPEG or PNG file")
    parser.add_argument(
        "--source-keypoints",
        help="JSON file or inline JSON of 18 [y, x] pairs (or, with "
        "--annotations, the source image's name); default: found by "
        "BlazePose in the source image",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--target-keypoints", help="as --source-keypoints, in pixels of the output image"
    )
    target.add_argument("--target-photo", type=Path, help="a photo of the pose (BlazePose)")
    parser.add_argument(
        "--frame",
        type=image_size,
        metavar="HxW",
        help="the model's annotation size (data.old_size), where keypoints come "
        "from photos: over REST the server says it (a given one is "
        "checked), over gRPC give it",
    )
    parser.add_argument("--annotations", type=Path, help="PATN annotation CSV to look names up in")
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    parser.add_argument("--out", type=Path, required=True, help="where to write the PNG result")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    from_photos = args.source_keypoints is None or args.target_photo is not None
    if from_photos and args.grpc and args.frame is None:
        parser.error(
            "keypoints from photos (no --source-keypoints, or --target-photo) over "
            "gRPC need --frame HxW, the model's annotation size (e.g. 256x176 for "
            "DeepFashion)"
        )
    if from_photos or args.grpc:  # BlazePose and gRPC load TensorFlow; plain REST does not
        quiet_tensorflow(args.verbose)

    try:
        source = target = None
        if args.source_keypoints is not None:
            source = load_keypoints(args.source_keypoints, args.annotations)
        if args.target_keypoints is not None:
            target = load_keypoints(args.target_keypoints, args.annotations)
        image = upright_bytes(args.source_image.read_bytes(), str(args.source_image))
        frame = args.frame
        if from_photos and args.rest:
            served = served_frame(args.rest, args.model, version=args.version, timeout=args.timeout)
            if frame is not None and tuple(frame) != served:
                raise ValueError(wrong_frame(served, frame))
            frame = served
        if from_photos:
            image, source, found = photo_inputs(
                args.source_image, source, args.target_photo, frame, weights_dir=args.weights_dir
            )
            target = found if target is None else target
        predict = predict_rest if args.rest else predict_grpc
        result = predict(
            args.rest or args.grpc,
            args.model,
            image,
            source,
            target,
            version=args.version,
            timeout=args.timeout,
        )
        served = result["image"].shape[:2]
        if from_photos and served != tuple(frame):
            raise ValueError(wrong_frame(served, frame))
    except (OSError, ValueError, ImportError, ServingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_atomically(args.out, result["image_png_bytes"])
    height, width, _ = result["image"].shape
    print(f"wrote {args.out} ({width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
