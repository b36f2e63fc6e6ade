"""Videos and folders of photos -> a PATN root of real people (`dptn-make-dataset`).

Three passes. Detection (`people.PeopleFinder`, the slow one, about 0.4 s a frame on a 2-core
CPU) runs once per input and is saved beside the root every `CHECKPOINT_EVERY` frames it uses, so
an interrupted run resumes where it stopped. Selection is pure bookkeeping over the saved
detections: tracks become identities, the quality filters count what each removes, the split
and the pairs are drawn with a fixed seed. Writing decodes the frames again (cheap), cuts each
kept person to the frame's aspect (`dptn_tf.pose.person_window`, the framing of every photo this
project reads) and builds the root under a temporary name, validated by `load_split` as
`train.py` will read it, then renamed into place: the root appears whole or not at all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dptn_tf.data.footage.people import PeopleFinder, Person
from dptn_tf.data.footage.sources import FootageError, Source, find_sources
from dptn_tf.data.footage.tracking import MAX_GAP, covered_share, track_people
from dptn_tf.data.patn import (
    annotation_path,
    load_split,
    ordered_pairs,
    pairs_path,
    read_annotations,
    read_pairs,
    write_annotations,
    write_pairs,
)
from dptn_tf.files.atomic import replace_directory, write_atomically
from dptn_tf.files.directory_lock import exclusive_directory
from dptn_tf.pose import MISSING, person_window, resize_uint8
from dptn_tf.visualization import draw_skeleton, image_grid

SPLITS = ("identities", "frames", "both")
CHECKPOINT_EVERY = 25  # frames between saves of a video's detections
SUMMARY_NAME = "summary.json"
EDGE_MARGIN = 0.02  # of the frame's height (width): a joint this near its edge is cut by it
DETECTIONS_NAME = "detections"  # the root keeps what was detected, for a remake and for audits
# The filters, in the order they are applied; the summary counts what each removed.
FILTERS = {
    "no_pose": "BlazePose found no pose in the detector's box",
    "few_joints": "fewer than min_joints of the 18 joints visible",
    "too_small": "the person shorter than min_height times the frame's height",
    "cut_by_edge": "a joint within EDGE_MARGIN of the frame's edge: the person is partly out",
    "overlapping": "another person's box overlaps this one's",
    "near_duplicate": "the pose differs from the identity's previous kept one by under "
    "min_pose_change",
    "lone_image": "the only image left of its identity (a pair needs two)",
}


@dataclass(frozen=True)
class DatasetSettings:
    """What the root is made with; `frame_size` is its images' (and annotations') `(H, W)`."""

    frame_size: tuple[int, int] = (128, 64)
    prefix: str = "footage"
    split: str = "identities"
    test_fraction: float = 0.2
    train_pairs: int | None = None  # per identity; None: every ordered pair
    test_pairs: int | None = 8
    min_joints: int = 13
    min_height: float = 0.5
    max_overlap: float = 0.1
    min_pose_change: float = 0.05
    every: int = 1  # use every n-th frame of a video
    seed: int = 0

    def __post_init__(self):
        checks = {
            "split": (self.split in SPLITS, f"one of {SPLITS}"),
            "test_fraction": (0 < self.test_fraction < 1, "between 0 and 1"),
            "min_joints": (2 <= self.min_joints <= 18, "from 2 to 18"),
            "every": (self.every >= 1, "at least 1"),
            "frame_size": (min(self.frame_size) >= 16, "at least 16x16"),
            "train_pairs": (self.train_pairs is None or self.train_pairs >= 1, "at least 1"),
            "test_pairs": (self.test_pairs is None or self.test_pairs >= 1, "at least 1"),
        }
        for field, (ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"{field}: expected {expected}, got {getattr(self, field)!r}")


@dataclass
class _Candidate:
    """One detected person, on its way through the filters."""

    source: int
    frame: int
    person: Person
    identity: str = ""
    removed_by: str | None = None


def make_footage_dataset(
    inputs,
    root,
    settings: DatasetSettings = DatasetSettings(),
    *,
    weights_dir=None,
    runtime: str = "auto",
    overwrite: bool = False,
    preview=None,
    progress: bool = True,
) -> dict:
    """Make the PATN root `root` from videos and photo folders; -> its summary (also written to
    `<root>/summary.json`). A finished root made from the same inputs and settings is left as
    it is; one made otherwise is refused unless `overwrite`. `preview`: a PNG path for a
    contact sheet, one row per identity."""
    root = Path(root)
    sources = find_sources(inputs)
    made_from = {"inputs": [_fingerprint(s) for s in sources], **dataclasses.asdict(settings)}
    made_from["frame_size"] = list(settings.frame_size)
    made_here = (root / SUMMARY_NAME).is_file()
    if root.exists() and not made_here:
        raise FileExistsError(f"{root} exists and is no root this command made (no {SUMMARY_NAME})")
    if made_here and not overwrite:
        summary = json.loads((root / SUMMARY_NAME).read_text())
        if summary.get("made_from") != made_from:
            raise FileExistsError(
                f"{root} was made from other inputs or settings (its {SUMMARY_NAME}); give "
                "another root, or --overwrite to replace it"
            )
        _say(f"{root}: already made from these inputs and settings; nothing to do")
        if preview:
            write_atomically(preview, contact_sheet(root, settings))
        return summary
    work = root.with_name(f".{root.name}.making")
    detection = {"inputs": made_from["inputs"], "every": settings.every}
    try:
        with exclusive_directory(work, "dptn-make-dataset"):
            _claim(work, detection, root / DETECTIONS_NAME)
            finder = PeopleFinder(weights_dir, runtime)
            detections = [_detect(s, work, finder, settings.every, progress) for s in sources]
            candidates, counts = _select(sources, detections, settings)
            summary = _write_root(sources, candidates, counts, root, settings, made_from, work)
    except FootageError:  # the inputs cannot make a root: nothing is left to resume
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    if preview:
        write_atomically(preview, contact_sheet(root, settings))
    return summary


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fingerprint(source: Source) -> dict:
    """What identifies an input's contents cheaply: its path, size and modification time (of
    each photo, for a folder)."""
    files = [source.path] if source.kind == "video" else source.photos
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return {"path": str(source.path.resolve()), "kind": source.kind, "files": digest.hexdigest()}


def _claim(work: Path, detection: dict, made: Path) -> None:
    """Record what `work`'s saved detections are of; refuse to mix them with other inputs'.
    The detections a finished root keeps (`made`) are taken up when they are of these inputs:
    a root made again with other filters or another split does not detect again."""
    record = work / "detection.json"
    if not record.is_file() and (made / "detection.json").is_file():
        if json.loads((made / "detection.json").read_text()) == detection:
            for saved in made.iterdir():
                shutil.copyfile(saved, work / saved.name)
    if record.is_file():
        if json.loads(record.read_text()) != detection:
            raise FileExistsError(
                f"{work} holds the detections of an interrupted run on other inputs (or "
                "--every); rerun that command to finish it, or delete the folder"
            )
        return
    write_atomically(record, json.dumps(detection, indent=1))


def _detect(source: Source, work: Path, finder: PeopleFinder, every: int, progress: bool):
    """-> `[(frame index, (H, W), [Person, ...]), ...]` of every used frame, resumed from
    `work`."""
    import keras

    saved = work / f"detections-{source.key}.json"
    state = json.loads(saved.read_text()) if saved.is_file() else {"frames": [], "done": False}
    frames = [
        (index, tuple(shape), [Person.from_json(p) for p in people])
        for index, shape, people in state["frames"]
    ]
    total = source.length()
    if not state["done"]:
        start = frames[-1][0] + 1 if frames else 0
        if start:
            _say(f"{source.path}: resuming at frame {start} of {total}")
        bar = keras.utils.Progbar(total, unit_name="frame", verbose=1 if progress else 0)
        bar.update(start)

        def save(done: bool) -> None:
            frames_json = [[i, list(shape), [p.to_json() for p in people]]
                           for i, shape, people in frames]  # fmt: skip
            write_atomically(saved, json.dumps({"frames": frames_json, "done": done}))

        for index, image in source.frames(start):
            if source.kind == "photos" or index % every == 0:
                if source.kind == "video":
                    people = finder.in_frame(image)
                else:
                    people = finder.in_photo(image, str(source.photos[index]))
                # As a resumed run reads them back: every run filters the same numbers.
                people = [Person.from_json(p.to_json()) for p in people]
                frames.append((index, image.shape[:2], people))
                if len(frames) % CHECKPOINT_EVERY == 0:
                    save(False)
            bar.update(index + 1)
        save(True)
    if not any(people for _, _, people in frames):
        what = "frames" if source.kind == "video" else "photos"
        raise FootageError(f"{source.path}: nobody found in its {total} {what}")
    return frames


def _height(keypoints) -> float:
    present = keypoints[np.all(keypoints != MISSING, axis=-1)]
    return float(np.ptp(present[:, 0])) if len(present) else 0.0


def _select(sources, detections, settings: DatasetSettings):
    """The filters over every detected person; -> (candidates, count removed by each filter)."""
    candidates = []
    for number, (source, frames) in enumerate(zip(sources, detections)):
        if source.kind == "video":
            gap = MAX_GAP * settings.every  # frames of the video, of which every n-th is seen
            tracks = track_people([(i, people) for i, _, people in frames], max_gap=gap)
            member = {m: t for t, track in enumerate(tracks) for m in track}
        for index, shape, people in frames:
            for j, person in enumerate(people):
                identity = (
                    f"{source.key}-p{member[index, j]:03d}" if source.kind == "video"
                    else source.key
                )  # fmt: skip
                candidate = _Candidate(number, index, person, identity)
                candidate.removed_by = _first_failed_filter(person, people, settings, shape)
                candidates.append(candidate)
    kept_last: dict[str, np.ndarray] = {}
    for candidate in candidates:  # in frame order within each identity
        if candidate.removed_by:
            continue
        keypoints = candidate.person.keypoints
        previous = kept_last.get(candidate.identity)
        if previous is not None and _pose_change(previous, keypoints) < settings.min_pose_change:
            candidate.removed_by = "near_duplicate"
            continue
        kept_last[candidate.identity] = keypoints
    kept_per_identity: dict[str, int] = {}
    for candidate in candidates:
        if not candidate.removed_by:
            kept_per_identity[candidate.identity] = kept_per_identity.get(candidate.identity, 0) + 1
    for candidate in candidates:
        if not candidate.removed_by and kept_per_identity[candidate.identity] < 2:
            candidate.removed_by = "lone_image"
    counts = {name: sum(c.removed_by == name for c in candidates) for name in FILTERS}
    return candidates, counts


def _first_failed_filter(person: Person, others, settings: DatasetSettings, frame_shape):
    keypoints = person.keypoints
    if keypoints is None:
        return "no_pose"
    present = np.all(keypoints != MISSING, axis=-1)
    if present.sum() < settings.min_joints:
        return "few_joints"
    if _height(keypoints) < settings.min_height * settings.frame_size[0]:
        return "too_small"
    joints = keypoints[present]
    border = EDGE_MARGIN * np.asarray(frame_shape)
    if (joints < border).any() or (joints > np.asarray(frame_shape) - 1 - border).any():
        return "cut_by_edge"
    for other in others:
        if other is not person and covered_share(person.box, other.box) > settings.max_overlap:
            return "overlapping"
    return None


def _pose_change(a, b) -> float:
    """Mean distance of the joints present in both poses, each centred on those joints' mean
    (walking across the frame is no change of pose), in heights of the person."""
    both = np.all(a != MISSING, axis=-1) & np.all(b != MISSING, axis=-1)
    if not both.any():
        return float("inf")
    a, b = a[both] - a[both].mean(axis=0), b[both] - b[both].mean(axis=0)
    distance = np.linalg.norm(a - b, axis=-1).mean()
    return float(distance / max(np.ptp(a[:, 0]), np.ptp(b[:, 0]), 1.0))


def _split(identities: dict[str, list[_Candidate]], settings: DatasetSettings):
    """-> ({identity: train candidates}, {identity: test candidates}, unseen test identities).

    "identities": a `test_fraction` of the identities, drawn with the seed, are test people
    (unseen in training). "frames": the last `test_fraction` of each identity's images (at least
    two, leaving two for training; else the identity is training-only) are its test images.
    "both": unseen identities as "identities" draws them, and held-out frames of the others.
    """
    names = sorted(identities)
    unseen: list[str] = []
    if settings.split in ("identities", "both"):
        count = max(1, round(settings.test_fraction * len(names)))
        if len(names) - count < 1:
            raise FootageError(
                f"{len(names)} identities found: an identity split needs at least two "
                "(--split frames holds out frames of each person instead)"
            )
        order = np.random.default_rng(settings.seed).permutation(len(names))
        unseen = sorted(names[i] for i in order[:count])
    train, test = {}, {}
    for name in names:
        images = identities[name]
        if name in unseen:
            test[name] = images
            continue
        held_out = max(2, round(settings.test_fraction * len(images)))
        if settings.split == "identities" or len(images) - held_out < 2:
            train[name] = images
        else:
            train[name], test[name] = images[:-held_out], images[-held_out:]
    return train, test, unseen


def _image_name(candidate: _Candidate) -> str:
    return f"{candidate.identity}_{candidate.frame:06d}.jpg"


def _write_root(sources, candidates, counts, root: Path, settings, made_from, work: Path) -> dict:
    kept = [c for c in candidates if not c.removed_by]
    identities: dict[str, list[_Candidate]] = {}
    for candidate in kept:
        identities.setdefault(candidate.identity, []).append(candidate)
    if not identities:
        raise FootageError(
            f"no person passed the filters ({_removed_text(counts)}); nothing written"
        )
    train, test, unseen = _split(identities, settings)
    if not test:
        raise FootageError(
            f"no test images: each of the {len(identities)} identities has under 4 images "
            "(two to train, two to test); give more footage or --split identities"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        for split, groups in (("train", train), ("test", test)):
            _write_split(building, split, groups, sources, settings)
        read = {  # as train.py reads them
            split: load_split(building, split, settings.prefix, old_size=settings.frame_size)
            for split in ("train", "test")
        }
        if settings.split == "both":
            _write_test_groups(building, settings.prefix, set(unseen))
        summary = {
            "made_from": made_from,
            "identities": {"train": len(train), "test": len(test), "unseen_in_test": len(unseen)},
            "images": {
                split: sum(map(len, groups.values()))
                for split, groups in (("train", train), ("test", test))
            },
            "pairs": {split: read[split].num_pairs for split in read},
            "people_detected": len(candidates),
            "removed": counts,
            "unseen_test_identities": unseen,
        }
        write_atomically(building / SUMMARY_NAME, json.dumps(summary, indent=1) + "\n")
        (building / DETECTIONS_NAME).mkdir()
        for saved in work.glob("detection*.json"):
            shutil.copyfile(saved, building / DETECTIONS_NAME / saved.name)
        replace_directory(building, root)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return summary


def _write_test_groups(building: Path, prefix: str, unseen: set[str]) -> None:
    """`<prefix>-pairs-test-unseen.csv` and `-seen.csv`: the test pairs of people the training
    never sees, and of held-out frames of people it does (`generate.py --pairs` takes either)."""
    pairs = [(a, b) for _, a, b in read_pairs(pairs_path(building, "test", prefix))]
    for group, wanted in (("unseen", True), ("seen", False)):
        chosen = [(a, b) for a, b in pairs if (a.rsplit("_", 1)[0] in unseen) == wanted]
        write_pairs(building / f"{prefix}-pairs-test-{group}.csv", chosen)


def _removed_text(counts) -> str:
    return ", ".join(f"{name}: {count}" for name, count in counts.items() if count) or "none"


def _write_split(building: Path, split: str, groups, sources, settings) -> None:
    """Cut every kept person of `groups` out of its frame into `<building>/<split>/`."""
    folder = building / split
    folder.mkdir()
    wanted: dict[tuple[int, int], list[_Candidate]] = {}
    for candidate in itertools.chain.from_iterable(groups.values()):
        wanted.setdefault((candidate.source, candidate.frame), []).append(candidate)
    annotations = {}
    for number, source in enumerate(sources):
        frames = sorted(frame for s, frame in wanted if s == number)
        if not frames:
            continue
        for index, image in source.frames(frames[0]):
            for candidate in wanted.get((number, index), ()):
                name = _image_name(candidate)
                keypoints = candidate.person.keypoints
                window = person_window(keypoints, settings.frame_size, image.shape[:2])
                framed = resize_uint8(window.crop(image), settings.frame_size)
                buffer = io.BytesIO()
                Image.fromarray(framed).save(buffer, format="JPEG", quality=95, subsampling=0)
                (folder / name).write_bytes(buffer.getvalue())
                moved = window.keypoints_in(keypoints, settings.frame_size)
                annotations[name] = np.where(moved < 0, MISSING, np.round(moved)).astype(np.int64)
            if index >= frames[-1]:
                break
    rng = np.random.default_rng([settings.seed, ("train", "test").index(split)])
    count = settings.train_pairs if split == "train" else settings.test_pairs
    pairs = []
    for identity in sorted(groups):
        pairs += ordered_pairs([_image_name(c) for c in groups[identity]], count, rng)
    write_annotations(annotation_path(building, split, settings.prefix), annotations)
    write_pairs(pairs_path(building, split, settings.prefix), pairs)


CONTACT_COLUMNS = 8


def contact_sheet(root: Path, settings: DatasetSettings) -> bytes:
    """A PNG of a made root: one row per identity, up to CONTACT_COLUMNS of its images spread
    over its footage, each with its skeleton."""
    images: dict[str, list[tuple[str, np.ndarray]]] = {}
    for split in ("train", "test"):
        annotations = read_annotations(annotation_path(root, split, settings.prefix))
        for name, keypoints in sorted(annotations.items()):
            identity = name.rsplit("_", 1)[0]
            images.setdefault(identity, []).append((root / split / name, keypoints))
    cells = []
    blank = np.full((*settings.frame_size, 3), 255, np.uint8)
    for identity in sorted(images):
        shots = sorted(images[identity], key=lambda shot: shot[0].name)
        picks = np.linspace(0, len(shots) - 1, min(CONTACT_COLUMNS, len(shots))).round()
        row = []
        for path, keypoints in (shots[i] for i in picks.astype(int)):
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            row.append(draw_skeleton(keypoints, settings.frame_size, pixels, fade=0.3))
        cells += row + [blank] * (CONTACT_COLUMNS - len(row))
    buffer = io.BytesIO()
    Image.fromarray(image_grid(cells, columns=CONTACT_COLUMNS)).save(buffer, format="PNG")
    return buffer.getvalue()
