"""The person of your photo in another pose, in one command.

    python tools/transfer.py --source me.jpg --pose other.jpg \
        --generator converted/generator.keras --config configs/fashion.yaml --out result.png
    python tools/transfer.py --source me.jpg --pose other_keypoints.json \
        --saved-model exports/dptn/1 --out result.png
    python tools/transfer.py --source me.jpg --pose "x.jpg:[30, 51, ...]:[88, 84, ...]" \
        --generator runs/synthetic/generator.keras --out result.png

`--pose` is a photo (its person's keypoints, found by BlazePose), an OpenPose JSON file, or a
row of a PATN annotation CSV (already in the model's annotation frame). The source's keypoints
are found by BlazePose. The source photo is cut (or padded) to a window of the annotation
frame's aspect around its person, and so is the pose; the generator sees them as training and
TF Serving do (`dptn_tf.data.images`, `keypoints_to_heatmaps`, `to_saved_uint8`), and its image
is resized back to the window in the photo's own pixels, without the padding. With
`--saved-model` the export's `serving_default` signature computes the same thing. `--config`
defaults to the `config.yaml` beside the generator (a training run directory has one).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from dptn_tf.config import load_config
from dptn_tf.data import DatasetError, parse_keypoints, read_rgb
from dptn_tf.data.images import to_network_input
from dptn_tf.files.atomic import atomic_path
from dptn_tf.inference.generation import (
    as_inference_generator,
    load_generator,
    to_saved_uint8,
)
from dptn_tf.pose import (
    BlazePose,
    keypoints_to_heatmaps,
    person_window,
    read_openpose_json,
)
from dptn_tf.pose.blazepose import VISIBILITY_THRESHOLD

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


class GeneratorModel:
    """A `.keras` generator with the geometry of its configuration."""

    def __init__(self, path: Path, config_path: Path | None, overrides):
        config_path = config_path or path.parent / "config.yaml"
        if not config_path.is_file():
            raise FileNotFoundError(f"{config_path}: not found; give --config, the YAML the "
                                    "generator was trained with (e.g. configs/fashion.yaml)")
        self.data = load_config(config_path, overrides).data
        self.frame = tuple(self.data.old_size)
        self.generator = as_inference_generator(load_generator(path))

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        load_size, sigma = tuple(self.data.load_size), self.data.sigma
        inputs = {
            "source_image": to_network_input(crop, load_size)[tf.newaxis],
            "source_pose": keypoints_to_heatmaps(source_keypoints[np.newaxis], crop.shape[:2],
                                                 load_size, sigma),
            "target_pose": keypoints_to_heatmaps(target_keypoints[np.newaxis], self.frame,
                                                 load_size, sigma),
        }
        return to_saved_uint8(self.generator(inputs, training=False), self.frame)[0].numpy()


class SavedModel:
    """An exported version's `serving_default` signature; its output size is the frame."""

    def __init__(self, path: Path):
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"{path}: no saved_model.pb (give a version folder, e.g. "
                                    "exports/dptn/1)")
        self.serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        self.frame = tuple(self.serve.structured_outputs["image"].shape[1:3])

    def __call__(self, crop, source_keypoints, target_keypoints) -> np.ndarray:
        outputs = self.serve(
            source_image=tf.constant([tf.io.encode_png(crop).numpy()]),
            source_keypoints=tf.constant(source_keypoints[np.newaxis], tf.float32),
            target_keypoints=tf.constant(target_keypoints[np.newaxis], tf.float32))
        return outputs["image"][0].numpy()


def pose_in_frame(spec: str, frame, extractor, visibility: float) -> np.ndarray:
    """`--pose` -> float `[18, 2]` `(y, x)` in the frame's pixels, -1 missing."""
    path = Path(spec)
    if path.suffix.lower() in PHOTO_SUFFIXES + (".json",) and path.is_file():
        if path.suffix.lower() == ".json":
            keypoints, photo_size = read_openpose_json(path), None
        else:
            photo = read_rgb(path)
            keypoints, photo_size = extractor.keypoints(photo, visibility, spec), photo.shape[:2]
        return person_window(keypoints, frame, photo_size).keypoints_in(keypoints, frame)
    fields = spec.split(":")
    if len(fields) < 2:
        raise ValueError(f"--pose {spec!r}: not a photo, an OpenPose .json file nor a PATN row "
                         "(name:keypoints_y:keypoints_x)")
    return parse_keypoints(fields[-2], fields[-1], where="--pose").astype(np.float64)


def transfer(model, photo, pose, extractor, visibility: float, name="source photo") -> np.ndarray:
    """uint8 photo -> uint8 image of its person in `pose`, at the person's window in the photo."""
    source = extractor.keypoints(photo, visibility, name)
    window = person_window(source, model.frame, photo.shape[:2])
    image = model(window.crop(photo), window.keypoints_in(source), pose)
    back = tf.image.resize(tf.cast(image, tf.float32), (window.height, window.width),
                           method="bilinear", antialias=True)
    back = tf.cast(tf.clip_by_value(tf.round(back), 0, 255), tf.uint8).numpy()
    return back[window.within(photo.shape[:2])]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="photo of the person")
    parser.add_argument("--pose", required=True,
                        help="photo, OpenPose JSON file or PATN annotation row of the pose")
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--generator", type=Path, help="a .keras generator")
    model.add_argument("--saved-model", type=Path, help="an exported version folder")
    parser.add_argument("--config", type=Path, help="YAML config of --generator")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.FIELD=VALUE", help="config override (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="the result (.png or .jpg)")
    parser.add_argument("--visibility", type=float, default=VISIBILITY_THRESHOLD,
                        help=f"a joint less visible is missing (default {VISIBILITY_THRESHOLD})")
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    args = parser.parse_args(argv)
    if args.saved_model and (args.config or args.overrides):
        parser.error("--config and --set go with --generator; a SavedModel knows its geometry")

    try:
        extractor = BlazePose(args.weights_dir)
        model = (SavedModel(args.saved_model) if args.saved_model
                 else GeneratorModel(args.generator, args.config, args.overrides))
        photo = read_rgb(args.source)
        pose = pose_in_frame(args.pose, model.frame, extractor, args.visibility)
        result = transfer(model, photo, pose, extractor, args.visibility, str(args.source))
    except (OSError, ValueError, ImportError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    encode = tf.io.encode_jpeg if args.out.suffix.lower() in (".jpg", ".jpeg") else tf.io.encode_png
    with atomic_path(args.out) as temporary:
        temporary.write_bytes(encode(result).numpy())
    print(f"wrote {args.out} ({result.shape[1]}x{result.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
