"""Which files are evaluated.

The official script globs `*.jpg` and `*.png` and reads them with imageio (Pillow), which
`dptn_tf.data.read_rgb` matches pixel for pixel. Generated images are named
`<from stem>_2_<to stem>_vis.jpg` and each is compared with `<to stem>.jpg` of the ground-truth
folder. Lists are sorted so every run (and the images the FID batching leaves out) is the same.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".png")  # what the script globs
_PAIR_SEPARATOR = "_2_"
_GENERATED_SUFFIX = "_vis"


def list_images(folder: str | Path) -> list[Path]:
    """The JPEG and PNG files of `folder`, sorted by name; an error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images")
    return files


def ground_truth_name(generated: str | Path) -> str:
    """`<from>_2_<to>_vis.jpg` -> `<to>`: the stem of the target image it should reproduce."""
    stem = Path(generated).stem
    if _PAIR_SEPARATOR not in stem or not stem.endswith(_GENERATED_SUFFIX):
        raise ValueError(
            f"{generated}: generated images must be named <from>{_PAIR_SEPARATOR}<to>"
            f"{_GENERATED_SUFFIX}.jpg (the official test naming)"
        )
    return stem.rsplit(_PAIR_SEPARATOR, 1)[1][: -len(_GENERATED_SUFFIX)]


def pair_with_ground_truth(generated_dir: str | Path, ground_truth_dir: str | Path):
    """[(generated file, its ground-truth file)] in generated-name order.

    Every generated image must have its target, `<to>.jpg` (or `.png`) in `ground_truth_dir`:
    the official script silently skips missing ones, which would change the figures unnoticed.
    """
    ground_truth_dir = Path(ground_truth_dir)
    if not ground_truth_dir.is_dir():
        raise FileNotFoundError(f"ground-truth folder not found: {ground_truth_dir}")
    available = {p.name for p in ground_truth_dir.iterdir()}
    pairs, missing = [], []
    for generated in list_images(generated_dir):
        stem = ground_truth_name(generated)
        match = next((f"{stem}{s}" for s in (".jpg", ".png") if f"{stem}{s}" in available), None)
        if match is None:
            missing.append(f"{generated.name} -> {stem}.jpg")
        else:
            pairs.append((generated, ground_truth_dir / match))
    if missing:
        shown = "\n  ".join(missing[:5]) + ("\n  ..." if len(missing) > 5 else "")
        raise FileNotFoundError(
            f"{len(missing)} of {len(missing) + len(pairs)} generated images have no ground truth "
            f"in {ground_truth_dir}:\n  {shown}"
        )
    return pairs
