"""Turn the raw DeepFashion In-shop and Market-1501 downloads into PATN roots.

The PATN annotation and pair CSVs name images in their own way; these functions lay the raw images
out under `<root>/train` and `<root>/test` with exactly those names, as the official
instructions do. Each split folder is built under a temporary name and renamed when complete.

DeepFashion: the In-shop `img/` tree, `img/<GENDER>/<Category>/id_<8 digits>/<NN>_<k>_<view>.jpg`
(256x256), becomes `fashion<GENDER><Category>id<8 digits><NN>_<k><view>.jpg`, cropped to the
central 176 columns (256x176, the frame of the keypoints) and saved as the official script saves
it (PIL, default JPEG quality), split by the published `train.lst` / `test.lst`.

Market-1501: `bounding_box_train/` and `bounding_box_test/` become `train/` and `test/`, file
names unchanged (the PATN market CSVs use the original names).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dptn_tf.data.patn import DatasetError, annotation_path, load_split, pairs_path

DEEPFASHION_PREFIX = "fasion-resize"
MARKET_PREFIX = "market"
DEEPFASHION_CROP = (40, 0, 216, 256)  # PIL box (left, top, right, bottom) of a 256x256 image


def deepfashion_name(path) -> str:
    """The PATN name of an In-shop image from its last four path parts.

    `img/WOMEN/Blouses_Shirts/id_00000637/03_1_front.jpg` ->
    `fashionWOMENBlouses_Shirtsid0000063703_1front.jpg`: the id loses its underscore and the
    file name keeps only its first one.
    """
    parts = Path(path).parts[-4:]
    if len(parts) != 4 or not parts[2].startswith("id_"):
        raise DatasetError(f"{path}: expected <GENDER>/<Category>/id_<digits>/<file> at its end")
    gender, category, identity, file = parts
    first, _, rest = file.partition("_")
    return f"fashion{gender}{category}{identity.replace('_', '')}{first}_{rest.replace('_', '')}"


def read_list(path) -> list[str]:
    """A `train.lst` / `test.lst`: one image name per line (blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def prepare_deepfashion(images_dir, root, *, train_list=None, test_list=None) -> dict[str, int]:
    """Crop and rename the In-shop images into `<root>/train` and `<root>/test`.

    Args:
      images_dir: the In-shop `img/` folder (its subfolders are WOMEN and MEN).
      root: the PATN root; `train.lst` and `test.lst` are read from it unless given.
    Returns the number of images written per split.
    """
    from PIL import Image  # tools only: the training pipeline decodes with TensorFlow

    root, images_dir = Path(root), Path(images_dir)
    if not images_dir.is_dir():
        raise DatasetError(f"{images_dir}: In-shop image folder not found")
    wanted = {
        "train": set(read_list(train_list or root / "train.lst")),
        "test": set(read_list(test_list or root / "test.lst")),
    }
    sources = {}
    for path in sorted(images_dir.rglob("*.jpg")):
        if len(path.relative_to(images_dir).parts) == 4:
            sources[deepfashion_name(path)] = path

    def write(split, folder):
        missing = sorted(wanted[split] - sources.keys())
        if missing:
            raise DatasetError(
                f"{len(missing)} images of the {split} list are not under {images_dir}, "
                f"e.g. {missing[0]!r}"
            )
        for name in sorted(wanted[split]):
            with Image.open(sources[name]) as image:
                if image.size == (256, 256):
                    image = image.crop(DEEPFASHION_CROP)
                elif image.size != (176, 256):
                    raise DatasetError(
                        f"{sources[name]}: image is {image.height}x{image.width}, expected the "
                        "In-shop 256x256 (or an already cropped 256x176)"
                    )
                image.save(folder / name)

    return {split: _build_split(root, split, write, DEEPFASHION_PREFIX) for split in wanted}


def prepare_market(market_dir, root) -> dict[str, int]:
    """Copy Market-1501's `bounding_box_train` / `bounding_box_test` to `<root>/train` / `test`."""
    market_dir = Path(market_dir)

    def write(split, folder):
        source = market_dir / f"bounding_box_{split}"
        if not source.is_dir():
            raise DatasetError(f"{source}: folder not found (expected the Market-1501 download)")
        for path in sorted(source.glob("*.jpg")):
            shutil.copyfile(path, folder / path.name)

    return {
        split: _build_split(Path(root), split, write, MARKET_PREFIX) for split in ("train", "test")
    }


def _build_split(root: Path, split: str, write, prefix: str) -> int:
    """Run `write(split, folder)` into a temporary folder, rename it to `<root>/<split>`, then
    validate the split's CSVs against it when they are present."""
    target = root / split
    if target.exists():
        raise FileExistsError(f"{target} exists; remove it to prepare the split again")
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{split}.tmp-", dir=root))
    try:
        write(split, folder)
        os.rename(folder, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if os.path.isfile(annotation_path(root, split, prefix)) and os.path.isfile(
        pairs_path(root, split, prefix)
    ):
        load_split(root, split, prefix, check_images=False)
    return len(os.listdir(target))
