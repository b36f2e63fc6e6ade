"""PATN annotation rows for your photos (BlazePose) or for OpenPose's JSON files.

    python tools/keypoints.py photos/*.jpg                          # rows on stdout
    python tools/keypoints.py photos/*.jpg --frame 256x176 --images-out data/mine/test \
        --csv data/mine/mine-annotation-test.csv --overlay overlays/
    python tools/keypoints.py --openpose json/*_keypoints.json --csv rows.csv

A row is `name:keypoints_y:keypoints_x` (18 integers each, -1 for a missing joint), in the
photo's own pixels. With `--frame HxW` (the data set's annotation size, `data.old_size`) each
photo is cut (or padded) to a window of that aspect around the person, resized to HxW and
written to `--images-out`, and the rows are in that frame: the folder and the CSV are a PATN
split (add a pairs CSV, `from,to` per line). `--overlay DIR` draws each skeleton over its photo.
`--openpose` converts OpenPose output (COCO-18 or BODY_25) instead: `<stem>_keypoints.json`
becomes the row of `<stem>` + `--image-suffix`, in the pixels of the image OpenPose saw.
A photo with nobody in it is reported and left out (exit status 1).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from dptn_tf.console import add_verbose_flag, image_size, quiet_tensorflow


def to_patn(keypoints) -> np.ndarray:
    """Float keypoints, -1 missing -> the integers of an annotation row."""
    return np.where(np.asarray(keypoints) < 0, -1, np.round(keypoints)).astype(np.int64)


def framed_name(photo: Path) -> str:
    """The framed copy's file name: the photo's, as PNG unless it is a JPEG or a PNG."""
    return photo.name if photo.suffix.lower() in (".jpg", ".jpeg", ".png") else f"{photo.stem}.png"


def encode(image, name: str) -> bytes:
    """uint8 `[H, W, 3]` as JPEG (quality 95) or PNG, by `name`'s suffix."""
    import tensorflow as tf

    if Path(name).suffix.lower() in (".jpg", ".jpeg"):
        return tf.io.encode_jpeg(image, quality=95).numpy()
    return tf.io.encode_png(image).numpy()


def photo_rows(photos, args, extractor) -> tuple[dict, list[str]]:
    """{name: keypoints} for the photos with a person, and the error lines of the others."""
    import tensorflow as tf

    from dptn_tf.files.atomic import write_atomically
    from dptn_tf.pose import person_window, read_photo, resize_uint8
    from dptn_tf.visualization import draw_skeleton

    rows, errors = {}, []
    for photo in photos:
        name = framed_name(photo) if args.frame else photo.name
        try:
            image = read_photo(photo)
            keypoints = extractor.keypoints(image, args.visibility, str(photo))
            if args.frame:
                window = person_window(keypoints, args.frame, image.shape[:2])
                image = resize_uint8(window.crop(image), args.frame)
                keypoints = window.keypoints_in(keypoints, args.frame)
                write_atomically(args.images_out / name, encode(image, name))
        except (OSError, ValueError) as error:  # NoPersonFound is a ValueError
            errors.append(str(error))
            continue
        rows[name] = to_patn(keypoints)
        if args.overlay:
            radius = max(2, round(min(image.shape[:2]) / 80))
            picture = draw_skeleton(rows[name], image.shape[:2], image, radius=radius, fade=0.3)
            write_atomically(args.overlay / f"{photo.stem}.png", tf.io.encode_png(picture).numpy())
    return rows, errors


def openpose_rows(files, suffix: str) -> tuple[dict, list[str]]:
    """{image name: keypoints} for OpenPose JSON files, and the error lines of the others."""
    from dptn_tf.pose import read_openpose_json

    rows, errors = {}, []
    for path in files:
        stem = path.stem.removesuffix("_keypoints")
        try:
            rows[stem + suffix] = to_patn(read_openpose_json(path))
        except (OSError, ValueError) as error:
            errors.append(str(error))
    return rows, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", type=Path, nargs="*", help="JPEG/PNG photos")
    parser.add_argument(
        "--openpose",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="OpenPose JSON files to convert instead of photos",
    )
    parser.add_argument("--csv", type=Path, help="write the annotation CSV here (default: stdout)")
    parser.add_argument(
        "--frame",
        type=image_size,
        metavar="HxW",
        help="fit each photo to this annotation size (needs --images-out)",
    )
    parser.add_argument("--images-out", type=Path, help="folder for the framed photos")
    parser.add_argument("--overlay", type=Path, metavar="DIR", help="draw skeletons into DIR")
    parser.add_argument(
        "--visibility",
        type=float,
        help="a joint less visible is missing (default: BlazePose's "
        "VISIBILITY_THRESHOLD, dptn_tf/pose/blazepose.py)",
    )
    parser.add_argument(
        "--image-suffix",
        default=".jpg",
        help="with --openpose: the images' file suffix (default .jpg)",
    )
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    parser.add_argument("--runtime", default="auto", choices=("auto", "litert", "tflite"))
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if bool(args.photos) == bool(args.openpose):
        parser.error("give photos, or --openpose JSON files")
    if bool(args.frame) != bool(args.images_out):
        parser.error("--frame and --images-out go together (the rows describe the framed images)")
    if args.openpose and (args.frame or args.overlay):
        parser.error("--frame and --overlay need photos, not OpenPose files")
    names = [p.name for p in args.photos]
    if len(set(names)) != len(names):
        parser.error("two photos have the same file name; rows are named by it")
    quiet_tensorflow(args.verbose)
    from dptn_tf.data import format_keypoints, write_annotations
    from dptn_tf.data.patn import ANNOTATION_COLUMNS
    from dptn_tf.pose import BlazePose
    from dptn_tf.pose.blazepose import VISIBILITY_THRESHOLD

    if args.visibility is None:
        args.visibility = VISIBILITY_THRESHOLD
    if args.openpose:
        rows, errors = openpose_rows(args.openpose, args.image_suffix)
    else:
        try:
            extractor = BlazePose(args.weights_dir, args.runtime)
        except (OSError, ValueError, ImportError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        rows, errors = photo_rows(args.photos, args, extractor)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if args.csv:
        write_annotations(args.csv, rows)
        print(f"wrote {len(rows)} rows to {args.csv}", file=sys.stderr)
    else:
        print(":".join(ANNOTATION_COLUMNS))
        for name, keypoints in rows.items():
            print(":".join((name, *format_keypoints(keypoints))))
    if errors:
        print(f"{len(errors)} of {len(errors) + len(rows)} inputs left out", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
