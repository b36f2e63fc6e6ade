"""Identities across a video's frames: one track, one person.

Each track predicts where its box will be (its last box moved by its smoothed velocity, for as
many frames as it has been unseen) and remembers the colours of its person (a running mean of
their histograms). Detections are matched to tracks by the Hungarian algorithm on
`1 - IoU + COLOR_COST * colour distance`; a pair below `MIN_IOU`, or further apart in colour than
`MAX_COLOR_DISTANCE`, never matches. The velocity and the colours are what keep two people who
cross apart: while the detector sees them as one box, or one of them not at all, each track goes
on its own way and meets its person, in their own clothes, on the far side. Where a match is
ambiguous (another detection, or another track, costs less than `AMBIGUITY` more) the
detection joins no track (it stays a track of its own, one image long) and the track goes on
unseen: two people walking side by side become shorter tracks rather than one that mixes them,
since a pair of two people would teach the wrong thing. A detection left unmatched starts a
track; a track unseen for more than `MAX_GAP` frames ends.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

MIN_IOU = 0.2
MAX_GAP = 8  # frames a track may go unseen (0.8 s at vtest's 10 frames a second)
MAX_COLOR_DISTANCE = 12.0  # delta E; one walker from frame to frame: mostly 1-10 (vtest.avi)
COLOR_COST = 1 / 40  # cost of a unit of delta E, beside IoU's 0-1
AMBIGUITY = 0.25  # a match whose runner-up costs less more than this is no match
SMOOTHING = 0.5  # weight of the newest step in the velocity, and of the newest colours


def box_intersection(a, b) -> float:
    """The area two `(top, left, height, width)` boxes share."""
    height = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    width = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return height * width


def box_iou(a, b) -> float:
    """IoU of two `(top, left, height, width)` boxes."""
    intersection = box_intersection(a, b)
    return intersection / max(a[2] * a[3] + b[2] * b[3] - intersection, 1e-12)


def covered_share(a, b) -> float:
    """How much of the smaller of two `(top, left, height, width)` boxes the other covers."""
    return box_intersection(a, b) / max(min(a[2] * a[3], b[2] * b[3]), 1e-12)


def color_distance(a, b) -> float:
    """The larger CIELAB distance (delta E) of two people's torso and thigh colours
    `[L, a, b, L, a, b]`; 0 where either is unknown."""
    if a is None or b is None:
        return 0.0
    parts = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(2, 3)
    return float(np.linalg.norm(parts, axis=-1).max())


class _Track:
    def __init__(self, number: int, frame: int, person):
        self.number = number
        self.members = [(frame, tuple(person.box))]
        self.velocity = np.zeros(2)
        self.colors = person.colors

    @property
    def last_frame(self) -> int:
        return self.members[-1][0]

    def predicted(self, frame: int):
        last_frame, (top, left, height, width) = self.members[-1]
        dy, dx = self.velocity * (frame - last_frame)
        return (top + dy, left + dx, height, width)

    def add(self, frame: int, person) -> None:
        last_frame, last_box = self.members[-1]
        step = (np.asarray(person.box[:2]) - last_box[:2]) / (frame - last_frame)
        seen_once = len(self.members) == 1
        self.velocity = step if seen_once else SMOOTHING * step + (1 - SMOOTHING) * self.velocity
        if self.colors is None or person.colors is None:
            self.colors = person.colors if self.colors is None else self.colors
        else:
            self.colors = SMOOTHING * person.colors + (1 - SMOOTHING) * self.colors
        self.members.append((frame, tuple(person.box)))


def track_people(
    frames, min_iou: float = MIN_IOU, max_gap: int = MAX_GAP
) -> list[list[tuple[int, int]]]:
    """`[(frame index, [person, ...]), ...]` in frame order, each person with a `box`
    `(top, left, height, width)` and `colors` (a histogram, or None) -> tracks, each a list of
    `(frame index, index of the person in that frame)` in frame order, numbered by first sight."""
    live: list[_Track] = []
    done: list[_Track] = []
    where: dict[tuple[int, int], int] = {}  # (frame, box index) -> track number
    for frame, people in frames:
        ended = [t for t in live if frame - t.last_frame > max_gap]
        done += ended
        live = [t for t in live if t not in ended]
        impossible = 3.0
        cost = np.full((len(live), len(people)), impossible)
        for i, track in enumerate(live):
            prediction = track.predicted(frame)
            for j, person in enumerate(people):
                iou = box_iou(prediction, person.box)
                colors = color_distance(track.colors, person.colors)
                if iou >= min_iou and colors <= MAX_COLOR_DISTANCE:
                    cost[i, j] = 1.0 - iou + COLOR_COST * colors
        matched, ambiguous = set(), set()
        for i, j in zip(*linear_sum_assignment(cost)) if cost.size else ():
            if cost[i, j] >= impossible:
                continue
            rivals = np.concatenate([np.delete(cost[i], j), np.delete(cost[:, j], i)])
            if (rivals < cost[i, j] + AMBIGUITY).any():
                ambiguous.add(j)  # it could be either of two people: it joins neither
                continue
            live[i].add(frame, people[j])
            where[frame, j] = live[i].number
            matched.add(j)
        for j, person in enumerate(people):
            if j not in matched:
                track = _Track(len(live) + len(done), frame, person)
                (done if j in ambiguous else live).append(track)
                where[frame, j] = track.number
    tracks: list[list[tuple]] = [[] for _ in range(len(live) + len(done))]
    for (frame, index), number in sorted(where.items()):
        tracks[number].append((frame, index))
    return tracks
