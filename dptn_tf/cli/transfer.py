"""The person of your photo in another pose, in one command.

    python tools/transfer.py --source me.jpg --pose other.jpg \
        --generator converted/generator.keras --config configs/fashion.yaml --out result.png
    python tools/transfer.py --source me.jpg --pose other_keypoints.json \
        --saved-model exports/dptn/1 --out result.png
    python tools/transfer.py --source me.jpg --pose "x.jpg:[30, 51, ...]:[88, 84, ...]" \
        --generator runs/synthetic/generator.keras --out result.png
    python tools/transfer.py --source me.jpg --pose other.jpg \
        --model exports/dptn-lite/1/model.tflite --out result.png

`--pose` is a photo (its person's keypoints, found by BlazePose), an OpenPose JSON file, or a
row of a PATN annotation CSV (already in the model's annotation frame). The source's keypoints
are found by BlazePose. The source photo is cut (or padded) to a window of the annotation
frame's aspect around its person, and so is the pose; the generator sees them as training and
TF Serving do (`dptn_tf.data.images`, `keypoints_to_heatmaps`, `to_saved_uint8`), and its image
is resized back to the window in the photo's own pixels, without the padding. With
`--saved-model` the export's `serving_default` signature computes the same thing. `--model`
runs a LiteRT (`.tflite`) or ONNX (`.onnx`) export without TensorFlow (`pip install
"dptn-tf[lite]"`; a PATN row as `--pose` still needs TensorFlow to parse). `--config` defaults
to the `config.yaml` beside the generator (a training run directory has one).
"""

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

from dptn_tf.console import add_verbose_flag, quiet_tensorflow, stderr_silenced

JPEG_QUALITY = 95  # tf.io.encode_jpeg's, which wrote the results before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="photo of the person")
    parser.add_argument(
        "--pose", required=True, help="photo, OpenPose JSON file or PATN annotation row of the pose"
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--generator", type=Path, help="a .keras generator or a preset folder")
    model.add_argument("--saved-model", type=Path, help="an exported version folder")
    model.add_argument(
        "--model", type=Path, help="a .tflite or .onnx export, run without TensorFlow"
    )
    parser.add_argument("--config", type=Path, help="YAML config of --generator")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="config override (repeatable)",
    )
    parser.add_argument("--out", type=Path, required=True, help="the result (.png or .jpg)")
    parser.add_argument(
        "--visibility",
        type=float,
        help="a joint less visible is missing (default: BlazePose's "
        "VISIBILITY_THRESHOLD, dptn_tf/pose/blazepose.py)",
    )
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if (args.saved_model or args.model) and (args.config or args.overrides):
        parser.error("--config and --set go with --generator; an export knows its geometry")
    if not args.model:
        quiet_tensorflow(args.verbose)

    from dptn_tf.files.atomic import write_atomically
    from dptn_tf.inference.photo_transfer import pose_in_frame, transfer
    from dptn_tf.pose import BlazePose, read_photo
    from dptn_tf.pose.blazepose import VISIBILITY_THRESHOLD

    if args.visibility is None:
        args.visibility = VISIBILITY_THRESHOLD

    try:
        with stderr_silenced(not args.verbose):  # LiteRT's INFO line on its first model
            extractor = BlazePose(args.weights_dir)
            model = load_model(args)
        photo = read_photo(args.source)
        pose = pose_in_frame(args.pose, model.frame, extractor, args.visibility)
        result = transfer(model, photo, pose, extractor, args.visibility, str(args.source))
    except (OSError, ValueError, ImportError) as error:  # DatasetError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 1
    encoded = io.BytesIO()
    jpeg = args.out.suffix.lower() in (".jpg", ".jpeg")
    Image.fromarray(result).save(
        encoded, "JPEG" if jpeg else "PNG", **({"quality": JPEG_QUALITY} if jpeg else {})
    )
    write_atomically(args.out, encoded.getvalue())
    print(f"wrote {args.out} ({result.shape[1]}x{result.shape[0]})")
    return 0


def load_model(args):
    """The model of `--generator`, `--saved-model` or `--model`; only the first two load
    TensorFlow."""
    if args.model:
        from dptn_tf.inference.litert_onnx_models import PortableModel

        return PortableModel(args.model)
    from dptn_tf.inference.tensorflow_models import GeneratorModel, SavedModel

    return (
        SavedModel(args.saved_model)
        if args.saved_model
        else GeneratorModel(args.generator, args.config, args.overrides)
    )


if __name__ == "__main__":
    sys.exit(main())
