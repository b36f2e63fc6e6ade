"""Where pretrained weight files (VGG19, InceptionV3, AlexNet, LPIPS, BlazePose) are looked for.

Nothing is downloaded at run time: the perceptual losses, the published FID and LPIPS figures
and the keypoints depend on exact weight files, so they are fetched once (on a machine with
internet access, or with `tools/fetch_pose_models.py`) and copied to a local folder.
Each file is looked for in the weights folder (`--weights-dir`, else `$DPTN_WEIGHTS_DIR`, else
`~/.keras/dptn_tf/`) and then in torch hub's cache, where torchvision leaves the files it downloads.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_DIR_ENV = "DPTN_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("~/.keras/dptn_tf")


@dataclass(frozen=True)
class WeightFile:
    """A weight file: a glob for its name (release hashes vary), its origin and what it holds.

    `fetch` is the command that puts the file in place, where there is one; `sha256` pins the
    exact bytes where the name alone does not (the name has no release hash in it).
    """

    pattern: str
    url: str
    description: str
    fetch: str | None = None
    sha256: str | None = None


VGG19_TORCHVISION = WeightFile(
    "vgg19-dcbb9e9d.pth",
    "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "torchvision ImageNet VGG19 (the reference's perceptual losses)",
)
INCEPTION_TORCHVISION = WeightFile(
    "inception_v3_google-*.pth",
    "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
    "torchvision ImageNet InceptionV3 (the FID of DPTN, GFLA, PIDM and CFLD)",
)
INCEPTION_PYTORCH_FID = WeightFile(
    "pt_inception-2015-12-05-*.pth",
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth",
    "pytorch-fid FID-Inception (the standard FID)",
)
ALEXNET = WeightFile(
    "alexnet-owt-*.pth",
    "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "torchvision ImageNet AlexNet (the LPIPS trunk)",
)
LPIPS_ALEX_LINEAR = WeightFile(
    "lpips_v0.1_alex.pth",
    "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth "
    "(saved under the name lpips_v0.1_alex.pth)",
    "LPIPS v0.1 linear layers for AlexNet",
)

# MediaPipe's BlazePose (Apache-2.0), as shipped in the mediapipe==0.10.21 wheel.
FETCH_POSE_MODELS = "python tools/fetch_pose_models.py"
MEDIAPIPE_WHEEL = "mediapipe==0.10.21"
BLAZEPOSE_DETECTOR = WeightFile(
    "pose_detection.tflite",
    f"mediapipe/modules/pose_detection/ in the {MEDIAPIPE_WHEEL} wheel",
    "MediaPipe BlazePose person detector",
    fetch=FETCH_POSE_MODELS,
    sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
)
BLAZEPOSE_LANDMARKS = WeightFile(
    "pose_landmark_full.tflite",
    f"mediapipe/modules/pose_landmark/ in the {MEDIAPIPE_WHEEL} wheel",
    "MediaPipe BlazePose landmark model (full)",
    fetch=FETCH_POSE_MODELS,
    sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
)


def weights_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The weights folder: the explicit one, else `$DPTN_WEIGHTS_DIR`, else the default."""
    chosen = explicit or os.environ.get(WEIGHTS_DIR_ENV) or DEFAULT_WEIGHTS_DIR
    return Path(chosen).expanduser()


def torch_hub_checkpoints_dir() -> Path:
    """torch hub's download cache, located by the same environment variables torch reads."""
    cache = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    torch_home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def search_folders(explicit_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where weight files are looked for, in order: the weights folder, then torch hub's cache."""
    return [weights_dir(explicit_dir), torch_hub_checkpoints_dir()]


def find_weight_file(file: WeightFile, explicit_dir: str | os.PathLike | None = None) -> Path:
    """The first file matching `file.pattern` in the search folders, or an error naming them all."""
    folders = search_folders(explicit_dir)
    for folder in folders:
        matches = sorted(folder.glob(file.pattern))
        if matches:
            return matches[0]
    looked = "\n".join(f"  {folder}" for folder in folders)
    how = (
        f"Run `{file.fetch}` to put it in the first folder"
        if file.fetch
        else f"Download it from {file.url} (on a machine with internet access) and copy it into "
        "the first folder"
    )
    raise FileNotFoundError(
        f"{file.description}: no file matching '{file.pattern}' in\n{looked}\n"
        f"{how} (choose it with --weights-dir or ${WEIGHTS_DIR_ENV})."
    )


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in blocks (weights files run to hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(file: WeightFile, data: bytes, source) -> None:
    """Raise, naming `source`, unless `data` are the bytes `file.sha256` pins (if it pins any)."""
    actual = hashlib.sha256(data).hexdigest()
    if file.sha256 is not None and actual != file.sha256:
        cure = f"run `{file.fetch}` again" if file.fetch else f"download it again from {file.url}"
        raise ValueError(
            f"{source}: SHA-256 {actual}, expected {file.sha256} "
            f"({file.description}); the file is damaged or another release: {cure}"
        )


def check_weight_file(file: WeightFile, path: str | os.PathLike) -> Path:
    """`path`, once its bytes are checked against `file.sha256`."""
    check_sha256(file, Path(path).read_bytes(), path)
    return Path(path)
