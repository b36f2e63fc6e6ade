"""The inputs of `make_dataset`: videos (every frame) and folders of photos (one folder a person).

A video is read with OpenCV's headless wheel (`pip install -e ".[video]"`): on `vtest.avi` it
decodes the same pixels as PyAV, in half the time, and the person detector needs OpenCV anyway.
A photo is read with `dptn_tf.pose.read_photo` (upright as its EXIF says). Every error names the
file and, for a video, the frame.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dptn_tf.pose import read_photo

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DECLARED_SHARE = 0.9  # of the frames a video's header declares, the least read for it to be whole


class FootageError(ValueError):
    """An input that cannot be read as a video or a folder of photos; the message names it."""


def import_opencv():
    """OpenCV, or an error saying how to install it."""
    try:
        import cv2
    except ImportError:
        raise ImportError(
            'reading videos and finding people in them needs OpenCV: pip install -e ".[video]"'
        ) from None
    return cv2


@dataclass(frozen=True)
class Source:
    """One input: a video, or one person's folder of photos.

    `key` names its images and its identities in the root: a photo folder's one identity, or
    the prefix of a video's (`<key>-p<track>`).
    """

    path: Path
    kind: str  # "video" or "photos"
    key: str

    def frames(self, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """`(index, uint8 RGB [H, W, 3])` from frame (or sorted photo) `start` on."""
        if self.kind == "video":
            yield from _video_frames(self.path, start)
        else:
            for index, photo in enumerate(self.photos[start:], start):
                yield index, read_photo(photo)

    @functools.cached_property
    def photos(self) -> list[Path]:
        """A photo folder's photos, in name order (the order of their indices)."""
        return sorted(p for p in self.path.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)

    def length(self) -> int:
        """The number of frames (as the video's header declares) or photos."""
        if self.kind == "photos":
            return len(self.photos)
        cv2 = import_opencv()
        capture = cv2.VideoCapture(str(self.path))
        try:
            return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            capture.release()


def _video_frames(path: Path, start: int) -> Iterator[tuple[int, np.ndarray]]:
    cv2 = import_opencv()
    capture = cv2.VideoCapture(str(path))
    try:
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        index = 0
        while index < start and capture.grab():
            index += 1
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield index, np.ascontiguousarray(frame[..., ::-1])
            index += 1
        # A header's frame count may be an estimate (phones' variable frame rates): a video is
        # damaged where frames follow the one that failed, or where a tenth or more is missing.
        if capture.grab() or index < DECLARED_SHARE * declared:
            raise FootageError(
                f"{path}: frame {index} cannot be read (the video declares {declared} frames); "
                "the file is damaged or truncated"
            )
    finally:
        capture.release()


def find_sources(inputs) -> list[Source]:
    """Paths as a person gives them -> sources, checked before any frame is read.

    A file must be a video OpenCV opens and reads a first frame of. A folder is a person's
    photos when it holds photos itself, else each subfolder holding photos is one person. Two
    sources whose names would clash are refused.
    """
    sources: list[Source] = []
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise FootageError(f"{path}: no such file or folder")
        if path.is_dir():
            sources += _photo_folders(path)
        else:
            _check_video(path)
            sources.append(Source(path, "video", _key(path.stem)))
    keys = [s.key for s in sources]
    clashes = sorted({k for k in keys if keys.count(k) > 1})
    videos = [s.key for s in sources if s.kind == "video"]
    clashes += [k for k in keys for v in videos if re.fullmatch(rf"{re.escape(v)}-p\d+", k)]
    if clashes:
        raise FootageError(
            f"two inputs would both name identities {clashes[0]!r} in the root: rename one"
        )
    return sources


def _key(name: str) -> str:
    """A file-name-safe version of `name` (letters, digits, '-'; '_' separates fields later)."""
    key = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
    return key or "input"


def _photo_folders(folder: Path) -> list[Source]:
    def photos_in(directory):
        return [p for p in directory.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES]

    if photos_in(folder):
        return [Source(folder, "photos", _key(folder.name))]
    people = sorted(d for d in folder.iterdir() if d.is_dir() and photos_in(d))
    if not people:
        raise FootageError(
            f"{folder}: no photos ({', '.join(PHOTO_SUFFIXES)}) in it or in its subfolders "
            "(give one folder per person)"
        )
    return [Source(d, "photos", f"{_key(folder.name)}-{_key(d.name)}") for d in people]


def _check_video(path: Path) -> None:
    if path.suffix.lower() in PHOTO_SUFFIXES:
        raise FootageError(
            f"{path}: a photo; give photos in a folder, one folder per person (or a folder of "
            "such folders)"
        )
    cv2 = import_opencv()
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened() or not capture.read()[0]:
            raise FootageError(f"{path}: not a video (OpenCV cannot read a frame of it)")
    finally:
        capture.release()
