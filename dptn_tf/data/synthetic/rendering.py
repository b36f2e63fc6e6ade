"""Painting one identity in one pose: a 3-D stick figure dressed with capsules, cylinders and a
sphere, projected orthographically and painted back to front; visible keypoints read off the result.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import numpy as np

from dptn_tf.data.synthetic.people import Garment, Identity, Pose, skeleton_3d
from dptn_tf.pose import MISSING, NUM_JOINTS

# ---------------------------------------------------------------------------------------------
# Painting.


class _Canvas:
    """An RGB float image plus the name of the top-most part at each pixel."""

    def __init__(self, size, background):
        self.height, self.width = size
        self.rgb = np.empty((*size, 3), np.float32)
        self.rgb[:] = background
        self.top = np.full(size, -1, np.int16)
        self.part_names: list[str] = []

    def window(self, centre_lo, centre_hi, pad):
        """Pixel-centre coordinate grids of a padded bounding box, clipped to the image."""
        lo, hi = np.minimum(centre_lo, centre_hi) - pad, np.maximum(centre_lo, centre_hi) + pad
        r0, c0 = max(0, math.floor(lo[0])), max(0, math.floor(lo[1]))
        r1, c1 = min(self.height, math.ceil(hi[0]) + 1), min(self.width, math.ceil(hi[1]) + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        rows, cols = np.mgrid[r0:r1, c0:c1].astype(np.float32) + 0.5
        return (slice(r0, r1), slice(c0, c1)), rows, cols

    def paint(self, box, alpha, rgb, name):
        self.rgb[box] += (rgb - self.rgb[box]) * alpha[..., None]
        self.part_names.append(name)
        self.top[box][alpha > 0.5] = len(self.part_names) - 1

    def name_at(self, row, col) -> str:
        index = self.top[row, col]
        return self.part_names[index] if index >= 0 else "background"


def _mix(rgb, other, weight):
    return rgb + (np.asarray(other, np.float32) - rgb) * weight[..., None]


def _shade(rgb, facing):
    """Darken towards the silhouette (`facing` is the normal's component towards the camera)."""
    return rgb * (0.75 + 0.25 * facing)[..., None]


def _cloth(garment: Garment, along, around, px_per_unit) -> np.ndarray:
    """Garment colours at surface coordinates (pixels), edges anti-aliased over about a pixel."""
    period = garment.period * px_per_unit
    wave = 2 * math.pi / period
    sharp = period / (2 * math.pi)
    if garment.pattern == "stripes":
        weight = 0.5 + sharp * np.sin(along * wave)
    elif garment.pattern == "checks":
        weight = 0.5 + sharp * np.sin(along * wave) * np.sin(around * wave)
    elif garment.pattern == "dots":
        du, dv = (along / period) % 1 - 0.5, (around / period) % 1 - 0.5
        weight = (0.3 - np.hypot(du, dv)) * period + 0.5
    else:
        weight = np.zeros_like(along)
    rgb = np.broadcast_to(garment.color, (*along.shape, 3))
    return _mix(rgb, garment.color2, np.clip(weight, 0, 1))


def _solid(garment: Garment, color) -> Garment:
    return dataclasses.replace(garment, color=color, color2=color, pattern="solid")


class _Renderer:
    """Paints one identity in one pose and reads off its visible keypoints."""

    def __init__(self, ident: Identity, pose: Pose, size):
        self.ident, self.pose = ident, pose
        self.canvas = _Canvas(size, ident.background)
        height, width = size
        self.px = pose.scale * ident.height_frac * height  # pixels per body height
        legs = ident.thigh + ident.shin + 0.03
        self.origin = np.array(
            [height * (0.97 + pose.shift[0]) - legs * self.px, width * (0.5 + pose.shift[1])]
        )
        self.cos, self.sin = math.cos(pose.yaw), math.sin(pose.yaw)
        self.joints = skeleton_3d(ident, pose)

    def camera(self, p) -> tuple[np.ndarray, float]:
        """Body point -> (image (row, col), depth towards the camera in body heights)."""
        x = p[0] * self.cos + p[2] * self.sin
        z = -p[0] * self.sin + p[2] * self.cos
        return self.origin + self.px * np.array([p[1], x]), z

    def depth(self, *joints) -> float:
        return float(np.mean([self.camera(self.joints[j])[1] for j in joints]))

    def limb(self, name, a, b, r0, r1, garment=None, start=0.0, color=None):
        """A tapered capsule from joint `a` to joint `b` (radii in body heights). A garment
        covers it up to `garment.length` segments, counted from `start` (1 for forearm, shin)."""
        (p0, _), (p1, _) = self.camera(self.joints[a]), self.camera(self.joints[b])
        r0, r1 = r0 * self.px, r1 * self.px
        window = self.canvas.window(p0, p1, max(r0, r1) + 1)
        if window is None:
            return
        box, rows, cols = window
        d = p1 - p0
        length = max(math.hypot(*d), 1e-3)
        t = np.clip(((rows - p0[0]) * d[0] + (cols - p0[1]) * d[1]) / length**2, 0, 1)
        dr, dc = rows - p0[0] - t * d[0], cols - p0[1] - t * d[1]
        radius = r0 + (r1 - r0) * t
        alpha = np.clip(radius - np.hypot(dr, dc) + 0.5, 0, 1)
        sine = np.clip((dc * d[0] - dr * d[1]) / length / radius, -1, 1)
        rgb = np.broadcast_to(self.ident.skin if color is None else color, (*t.shape, 3))
        if garment is not None and garment.length > 0:
            along = (start + t) * length  # runs on across the joint
            cloth = _cloth(garment, along, np.arcsin(sine) * radius, self.px)
            rgb = _mix(rgb, cloth, np.clip((garment.length - start - t) * length + 0.5, 0, 1))
        self.canvas.paint(box, alpha, _shade(rgb, np.sqrt(1 - sine**2)), name)

    def trunk(self, name, top, bottom, a, b, garment, neckline=0.0, corner=0.35):
        """An elliptic cylinder from body point `top` to `bottom` with semi-axes `a` (sideways)
        and `b` (front to back), each a (top, bottom) pair in body heights."""
        (p0, _), (p1, _) = self.camera(top), self.camera(bottom)
        half_widths = [math.hypot(a[i] * self.cos, b[i] * self.sin) * self.px for i in (0, 1)]
        window = self.canvas.window(p0, p1, max(half_widths) + 1)
        if window is None:
            return
        box, rows, cols = window
        d = p1 - p0
        length = max(math.hypot(*d), 1e-3)
        along = ((rows - p0[0]) * d[0] + (cols - p0[1]) * d[1]) / length
        across = ((cols - p0[1]) * d[0] - (rows - p0[0]) * d[1]) / length
        t = np.clip(along / length, 0, 1)
        half = half_widths[0] + (half_widths[1] - half_widths[0]) * t
        # Rounded-box distance with a half width that changes along the axis.
        rounding = corner * half_widths[0]
        qx = np.abs(across) - half + rounding
        qy = np.abs(along - length / 2) - length / 2 + rounding
        outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
        alpha = np.clip(rounding - outside + 0.5, 0, 1)

        # The visible surface point: angle theta on the ellipse (a cos, b sin) in body (x, z).
        sa, sb = a[0] + (a[1] - a[0]) * t, b[0] + (b[1] - b[0]) * t
        u = np.clip(across / np.maximum(half, 1e-3), -1, 1)
        delta = np.arctan2(sb * self.sin, sa * self.cos)
        candidates = delta + np.stack([np.arccos(u), -np.arccos(u)])
        toward = -sa * np.cos(candidates) * self.sin + sb * np.sin(candidates) * self.cos
        theta = np.where(toward[0] >= toward[1], candidates[0], candidates[1])

        if garment.pattern == "two_tone":  # a yoke over the top 40 %
            rgb = np.broadcast_to(garment.color, (*along.shape, 3))
            rgb = _mix(rgb, garment.color2, np.clip(0.4 * length - along + 0.5, 0, 1))
        else:
            rgb = _cloth(garment, along, theta * (sa + sb) / 2 * self.px, self.px)
        if neckline > 0:  # a V-neck on the front shows skin
            off_front = np.abs(np.angle(np.exp(1j * (theta - math.pi / 2))))
            v = neckline * self.px * (1 - off_front / 0.45) - along
            rgb = _mix(rgb, self.ident.skin, np.clip(v + 0.5, 0, 1))
        self.canvas.paint(box, alpha, _shade(rgb, np.sqrt(1 - u**2)), name)

    def head(self):
        """A sphere with eyes and a mouth on its front; hair covers its top and back."""
        ident = self.ident
        centre, _ = self.camera(self.joints["head"])
        radius = ident.head_r * self.px
        window = self.canvas.window(centre, centre, radius + 1)
        if window is None:
            return
        box, rows, cols = window
        dy, dx = (rows - centre[0]) / radius, (cols - centre[1]) / radius
        alpha = np.clip((1 - np.hypot(dx, dy)) * radius + 0.5, 0, 1)
        dz = np.sqrt(np.clip(1 - dx**2 - dy**2, 0, 1))
        yaw = self.pose.yaw + self.pose.head_turn
        x, z = dx * math.cos(yaw) - dz * math.sin(yaw), dx * math.sin(yaw) + dz * math.cos(yaw)
        front = z > 0

        def spot(x0, y0, r, squash=1.0):
            return np.clip((r - np.hypot(squash * (x - x0), dy - y0)) * radius, 0, 1) * front

        rgb = np.broadcast_to(ident.skin, (*dx.shape, 3))
        rgb = _mix(rgb, (0.1, 0.1, 0.1), spot(-0.36, -0.1, 0.14) + spot(0.36, -0.1, 0.14))
        rgb = _mix(rgb, (0.6, 0.25, 0.25), spot(0.0, 0.45, 0.12, squash=0.5))
        top, back = _HAIRLINES[ident.hair_style]  # hair above `top`, and behind above `back`
        behind = np.clip(-z * radius, 0, 1)
        hair = np.clip((top - dy) * radius, 0, 1) + behind * np.clip((back - dy) * radius, 0, 1)
        rgb = _mix(rgb, ident.hair, np.clip(hair, 0, 1))
        self.canvas.paint(box, alpha, _shade(rgb, dz), "head")

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """Paint every part from the back to the front; -> (uint8 image, keypoints)."""
        for _, paint in sorted(self.parts(), key=lambda part: part[0]):
            paint()
        image = np.clip(self.canvas.rgb * 255 + 0.5, 0, 255).astype(np.uint8)
        return image, self.keypoints()

    def parts(self) -> list:
        """(depth key, paint) of every body part; higher keys are painted later, over lower ones.

        Keys are depths towards the camera, nudged so that arms lie on the torso when level with
        it and legs always go under the pelvis and the torso (a shirt's hem covers the thighs).
        """
        ident, g = self.ident, self.ident.girth
        top, bottom = ident.top, ident.bottom
        parts = []

        def add(key, paint, *args, **kwargs):
            parts.append((key, partial(paint, *args, **kwargs)))

        sleeve = _solid(top, top.color2) if top.pattern == "two_tone" else top
        for side in "RL":
            if ident.skirt_length:
                trousers = None
            elif bottom.pattern == "two_tone":  # one leg in each colour
                trousers = _solid(bottom, bottom.color2 if side == "R" else bottom.color)
            else:
                trousers = bottom
            for part, (a, b, r0, r1, start) in _LIMBS.items():
                a, b = side + a, side + b
                if part in ("arm", "fore"):
                    key, garment = self.depth(a, b) + 0.02 + 0.001 * start, sleeve
                else:
                    key, garment = -0.1 + 0.1 * self.depth(a, b) + 0.001 * start, trousers
                add(key, self.limb, side + part, a, b, r0 * g, r1 * g, garment, start)
            wrist, hand, ankle = side + "wri", side + "hand", side + "ank"
            add(self.depth(wrist) + 0.022, self.limb, hand, wrist, hand, 0.024, 0.022)
            key = -0.1 + 0.1 * self.depth(ankle) + 0.002
            add(key, self.limb, side + "foot", ankle, side + "toe", 0.026, 0.022, color=ident.shoes)

        waist, crotch, hem = [0.0, -0.04, 0.0], [0.0, 0.07, 0.0], [0.0, 0.01, 0.0]
        hip, depth, shoulder = ident.hip_w / 2 * g, ident.depth * g, ident.shoulder_w / 2 * g**0.5
        add(-0.01, self.trunk, "pelvis", waist, crotch, (hip, hip), (depth, depth), bottom)
        add(0.0, self.trunk, "torso", self.joints["neck"], hem, (shoulder, hip),
            (depth, 0.9 * depth), top, ident.neckline)  # fmt: skip
        if ident.skirt_length:  # over the legs and pelvis, under the shirt's hem
            spread = abs(self.joints["Lkne"][0] - self.joints["Rkne"][0]) / 2
            flare = max(0.02, spread * ident.skirt_length / ident.thigh)
            add(-0.005, self.trunk, "skirt", waist, [0.0, ident.skirt_length, 0.0],
                (hip, hip + flare), (depth, depth + flare), bottom, corner=0.1)  # fmt: skip
        head = self.depth("head")
        add(head + 0.04, self.limb, "neck", "neck", "head", 0.028 * g, 0.028 * g)
        add(head + 0.05, self.head)
        if ident.hair_style == "long":  # hangs behind the head: under the torso seen from the front
            key = self.depth("head", "neck") - 0.6 * ident.head_r * self.cos
            add(key, self.limb, "hair", "hair_top", "hair_end", 0.95 * ident.head_r,
                0.8 * ident.head_r, color=ident.hair)  # fmt: skip
        return parts

    def face_point(self, local) -> tuple[np.ndarray, float]:
        """A point on the unit head sphere (head frame) -> (image position, depth in radii)."""
        c, s = math.cos(self.pose.head_turn), math.sin(self.pose.head_turn)
        x, y, z = local
        centre = self.joints["head"]
        point, depth = self.camera(
            centre + self.ident.head_r * np.array([x * c + z * s, y, -x * s + z * c])
        )
        return point, (depth - self.camera(centre)[1]) / self.ident.head_r

    def keypoints(self) -> np.ndarray:
        """The 18 joints, (y, x) integer pixels, -1 where hidden or outside the image."""
        result = np.full((NUM_JOINTS, 2), MISSING, np.int32)
        for i in range(NUM_JOINTS):
            if i in _BODY_JOINTS:
                joint, seen_on = _BODY_JOINTS[i]
                position, _ = self.camera(self.joints[joint])
            else:
                local, min_depth = _FACE_POINTS[i]
                position, depth = self.face_point(local)
                seen_on = {"head", "hair", "background"} if depth >= min_depth else set()
            row, col = math.floor(position[0]), math.floor(position[1])
            inside = 0 <= row < self.canvas.height and 0 <= col < self.canvas.width
            if inside and self.canvas.name_at(row, col) in seen_on:
                result[i] = (row, col)
        return result


# Hair style -> (hairline height, lowest hair at the back), in head radii below the centre.
_HAIRLINES = {"short": (-0.35, 0.25), "long": (-0.4, 1.0), "buzz": (-0.6, -0.1)}
# Limb -> (from joint, to joint, radii at both ends in body heights before girth, segment index).
_LIMBS = {
    "arm": ("sho", "elb", 0.032, 0.026, 0.0),
    "fore": ("elb", "wri", 0.026, 0.02, 1.0),
    "thigh": ("hip", "kne", 0.055, 0.038, 0.0),
    "shin": ("kne", "ank", 0.038, 0.027, 1.0),
}
# Keypoint index -> (skeleton joint, the parts it may be seen on: another part on top hides it).
_BODY_JOINTS = {
    1: ("neck", {"neck", "torso", "head", "hair", "Rarm", "Larm"}),  # shoulders touch it
    2: ("Rsho", {"torso", "Rarm", "hair"}),
    3: ("Relb", {"Rarm", "Rfore"}),
    4: ("Rwri", {"Rfore", "Rhand"}),
    5: ("Lsho", {"torso", "Larm", "hair"}),
    6: ("Lelb", {"Larm", "Lfore"}),
    7: ("Lwri", {"Lfore", "Lhand"}),
    8: ("Rhip", {"pelvis", "torso", "Rthigh", "skirt"}),
    9: ("Rkne", {"Rthigh", "Rshin", "skirt"}),
    10: ("Rank", {"Rshin", "Rfoot"}),
    11: ("Lhip", {"pelvis", "torso", "Lthigh", "skirt"}),
    12: ("Lkne", {"Lthigh", "Lshin", "skirt"}),
    13: ("Lank", {"Lshin", "Lfoot"}),
}
# Keypoint index -> (point on the unit head sphere, how far it must face the camera to be seen).
_FACE_POINTS = {
    0: ((0.0, 0.2, 1.0), -0.1),  # nose, seen in profile too
    14: ((0.36, -0.1, 0.93), 0.3),  # left eye
    15: ((-0.36, -0.1, 0.93), 0.3),
    16: ((0.98, 0.0, -0.1), -0.45),  # left ear
    17: ((-0.98, 0.0, -0.1), -0.45),
}


def render_person(ident: Identity, pose: Pose, size=(128, 64)) -> tuple[np.ndarray, np.ndarray]:
    """-> (uint8 `[H, W, 3]` image, int32 `[18, 2]` keypoints `(y, x)`, -1 missing)."""
    return _Renderer(ident, pose, tuple(size)).render()
