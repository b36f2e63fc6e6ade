"""Where pretrained weight files (VGG19, InceptionV3, AlexNet, LPIPS) are looked for.

Nothing is downloaded at run time: the perceptual losses and the published FID and LPIPS figures
depend on exact weight files, so they are fetched once (on a machine with internet access) and copied to a local folder.
Each file is looked for in the weights folder (`--weights-dir`, else `$DPTN_WEIGHTS_DIR`, else
`~/.keras/dptn_tf/`) and then in torch hub's cache, where torchvision leaves the files it downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_DIR_ENV = "DPTN_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("~/.keras/dptn_tf")


@dataclass(frozen=True)
class WeightFile:
    """A weight file: a glob for its name (release hashes vary), its origin and what it holds."""

    pattern: str
    url: str
    description: str


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


def weights_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The weights folder: the explicit one, else `$DPTN_WEIGHTS_DIR`, else the default."""
    chosen = explicit or os.environ.get(WEIGHTS_DIR_ENV) or DEFAULT_WEIGHTS_DIR
    return Path(chosen).expanduser()


def torch_hub_checkpoints_dir() -> Path:
    """torch hub's download cache, located by the same environment variables torch reads."""
    cache = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    torch_home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def find_weight_file(file: WeightFile, explicit_dir: str | os.PathLike | None = None) -> Path:
    """The first file matching `file.pattern` in the search folders, or an error naming them all."""
    folders = [weights_dir(explicit_dir), torch_hub_checkpoints_dir()]
    for folder in folders:
        matches = sorted(folder.glob(file.pattern))
        if matches:
            return matches[0]
    looked = "\n".join(f"  {folder}" for folder in folders)
    raise FileNotFoundError(
        f"{file.description}: no file matching '{file.pattern}' in\n{looked}\n"
        f"Download it from {file.url} (on a machine with internet access) and copy it into the "
        f"first folder (choose it with --weights-dir or ${WEIGHTS_DIR_ENV})."
    )
