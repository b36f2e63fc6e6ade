"""Who and how: random identities (body proportions, skin, hair, clothes) and poses (joint angles,
view, framing), and the 3-D stick figure an identity makes in a pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PATTERNS = ("solid", "stripes", "checks", "dots", "two_tone")
# Most clothes are plain and prints are coarse, as a real photo shows them at 128x64: a print's
# period is 7-14 % of the body height (7-15 pixels here). Finer ones would alias to noise that no
# generator can place (`configs/synthetic.yaml` has the measurements).
PATTERN_PROBABILITIES = (0.6, 0.1, 0.1, 0.1, 0.1)
PATTERN_PERIODS = (0.07, 0.14)  # body heights
# Everyone stands before the same light-grey backdrop, as in a studio (DeepFashion's photos
# share a white one): the generator's instance norms discard each image's mean, so a backdrop
# brightness that changed from person to person would be guessed, not copied.
BACKGROUND = (0.93, 0.93, 0.93)
HAIR_STYLES = ("short", "long", "buzz")
SKIN_TONES = ((0.98, 0.84, 0.72), (0.93, 0.76, 0.62), (0.85, 0.65, 0.5), (0.72, 0.52, 0.38),
              (0.55, 0.38, 0.27), (0.4, 0.27, 0.19))  # fmt: skip
HAIR_COLORS = ((0.08, 0.07, 0.07), (0.25, 0.16, 0.1), (0.45, 0.3, 0.17), (0.8, 0.65, 0.38),
               (0.6, 0.25, 0.12), (0.7, 0.7, 0.7))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Who and how: identities and poses.


@dataclass(frozen=True)
class Garment:
    """A top or a bottom. `length` counts the limb segments it covers from the body (0 for a
    sleeveless top, 1 to the elbow or knee, 2 to the wrist or ankle)."""

    color: np.ndarray
    color2: np.ndarray
    pattern: str
    period: float  # of the pattern, in body heights
    length: float


@dataclass(frozen=True)
class Identity:
    """Everything that stays the same across one person's images (lengths in body heights)."""

    head_r: float
    torso_len: float
    shoulder_w: float
    hip_w: float
    depth: float  # half the torso's front-to-back thickness
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    girth: float  # scales limb and torso thickness
    height_frac: float  # standing height as a fraction of the image height
    skin: np.ndarray
    hair: np.ndarray
    hair_style: str
    top: Garment
    bottom: Garment
    skirt_length: float  # 0: the bottom is trousers or shorts
    neckline: float  # depth of the V-neck
    shoes: np.ndarray
    background: np.ndarray


@dataclass(frozen=True)
class Pose:
    """Joint angles in radians ((right, left) pairs), the view and the framing of one image."""

    yaw: float  # 0 faces the camera, pi shows the back
    head_turn: float
    lean: float
    arm_abduct: tuple[float, float]  # away from the body, sideways
    arm_flex: tuple[float, float]  # forward swing
    elbow_flex: tuple[float, float]
    elbow_in: tuple[float, float]  # forearm turned towards the body (hands on hips)
    hip_abduct: tuple[float, float]
    hip_flex: tuple[float, float]
    knee: tuple[float, float]
    scale: float
    shift: tuple[float, float]  # (rows, cols) as fractions of the image size


def _color(rng, light=False) -> np.ndarray:
    """A saturated colour that stands out from the light backdrop."""
    hue, sat = rng.random(), rng.uniform(0.35, 0.95)
    val = rng.uniform(0.75, 0.95) if light else rng.uniform(0.2, 0.8)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6
    return (val - val * sat * np.clip(np.minimum(k, 4 - k), 0, 1)).astype(np.float32)


def _garment(rng, length: float) -> Garment:
    pattern = PATTERNS[rng.choice(len(PATTERNS), p=PATTERN_PROBABILITIES)]
    color = _color(rng)
    if pattern == "two_tone" or rng.random() < 0.5:
        color2 = _color(rng, light=rng.random() < 0.5)
    else:  # white or near-black details
        color2 = np.full(3, 0.95 if color.mean() < 0.5 else 0.1, np.float32)
    return Garment(color, color2, pattern, rng.uniform(*PATTERN_PERIODS), length)


def sample_identity(rng: np.random.Generator) -> Identity:
    """A random person: body, colours and clothes."""
    broad = rng.random()  # 0: narrow shoulders and wide hips .. 1: the opposite
    skin = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))]) + rng.normal(0, 0.02, 3)
    skirt = rng.random() < 0.3
    return Identity(
        head_r=rng.uniform(0.062, 0.072),
        torso_len=rng.uniform(0.29, 0.33),
        shoulder_w=0.2 + 0.06 * broad + rng.uniform(-0.01, 0.01),
        hip_w=0.19 - 0.035 * broad + rng.uniform(-0.01, 0.01),
        depth=rng.uniform(0.055, 0.075),
        upper_arm=rng.uniform(0.16, 0.18),
        forearm=rng.uniform(0.14, 0.16),
        thigh=rng.uniform(0.23, 0.26),
        shin=rng.uniform(0.22, 0.25),
        girth=rng.uniform(0.85, 1.25),
        height_frac=rng.uniform(0.8, 0.9),
        skin=np.clip(skin, 0, 1).astype(np.float32),
        hair=np.array(HAIR_COLORS[rng.integers(len(HAIR_COLORS))], np.float32),
        hair_style=HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
        top=_garment(rng, length=rng.choice([0.0, 0.55, 1.4, 1.95])),
        bottom=_garment(rng, length=rng.choice([0.6, 1.5, 1.95])),
        skirt_length=rng.uniform(0.17, 0.3) if skirt else 0.0,
        neckline=rng.uniform(0.015, 0.06),
        shoes=(rng.uniform(0.05, 0.35) * rng.uniform(0.8, 1.2, 3)).astype(np.float32),
        background=np.array(BACKGROUND, np.float32),
    )


def _arm_angles(rng) -> tuple[float, float, float]:
    """(abduction, elbow flexion, elbow turn-in) of one arm: hanging, raised or on the hip."""
    kind = rng.random()
    if kind < 0.12:
        return rng.uniform(1.4, 2.8), rng.uniform(0, 0.8), 0.0
    if kind < 0.25:
        return rng.uniform(0.6, 0.9), 0.0, rng.uniform(1.4, 1.8)
    return rng.uniform(0.05, 0.45), rng.uniform(0, 1.6), 0.0


def sample_pose(rng: np.random.Generator) -> Pose:
    """A random pose: a walking phase, free arms, a view (mostly front, then side, then back)."""
    view = rng.random()
    if view < 0.45:
        yaw = rng.normal(0, 0.3)
    elif view < 0.75:
        yaw = rng.choice([-1, 1]) * math.pi / 2 + rng.normal(0, 0.3)
    else:
        yaw = math.pi + rng.normal(0, 0.3)
    stride = rng.uniform(0, 0.5) if rng.random() < 0.6 else 0.0
    swing = stride * math.sin(rng.uniform(0, 2 * math.pi))
    hip_flex = (-swing + rng.normal(0, 0.08), swing + rng.normal(0, 0.08))
    arms = [_arm_angles(rng) for _ in range(2)]
    return Pose(
        yaw=yaw,
        head_turn=float(np.clip(rng.normal(0, 0.2), -0.5, 0.5)),
        lean=rng.normal(0, 0.04),
        arm_abduct=(arms[0][0], arms[1][0]),
        arm_flex=tuple(-0.8 * f + rng.normal(0, 0.2) for f in hip_flex),  # arms swing opposite
        elbow_flex=(arms[0][1], arms[1][1]),
        elbow_in=(arms[0][2], arms[1][2]),
        hip_abduct=(rng.uniform(0, 0.15), rng.uniform(0, 0.15)),
        hip_flex=hip_flex,
        knee=tuple(max(0.0, -f) * rng.uniform(0.5, 1.2) + rng.uniform(0, 0.25) for f in hip_flex),
        scale=rng.uniform(0.96, 1.04),
        shift=(rng.uniform(-0.03, 0.02), rng.uniform(-0.06, 0.06)),
    )


# ---------------------------------------------------------------------------------------------
# Skeleton: body frame x = the person's left, y = down, z = forward; origin between the hips.


def _direction(side: int, abduct: float, flex: float) -> np.ndarray:
    """Straight down, swung forward by `flex`, then out to `side` (-1 right, +1 left)."""
    c, s = math.cos(flex), math.sin(flex)
    down = np.array([0.0, c, s])
    c, s = math.cos(side * abduct), math.sin(side * abduct)
    return np.array([c * down[0] + s * down[1], -s * down[0] + c * down[1], down[2]])


def skeleton_3d(ident: Identity, pose: Pose) -> dict[str, np.ndarray]:
    """3-D positions of the joints and of the few extra points the parts hang from."""
    c, s = math.cos(pose.lean), math.sin(pose.lean)

    def upper(x, y):  # a point of the upper body, which leans sideways about the pelvis
        return np.array([c * x + s * y, -s * x + c * y, 0.0])

    neck = upper(0.0, -ident.torso_len)
    j = {"neck": neck, "head": upper(0.0, -ident.torso_len - 0.035 - ident.head_r)}
    j["hair_top"] = j["head"] + [0.0, 0.0, -0.5 * ident.head_r]
    j["hair_end"] = neck + [0.0, 0.09, -ident.depth]
    for k, (side, sign) in enumerate((("R", -1), ("L", 1))):
        sho = upper(sign * 0.4 * ident.shoulder_w, 0.035 - ident.torso_len)
        elb = sho + ident.upper_arm * _direction(sign, pose.arm_abduct[k], pose.arm_flex[k])
        fore = _direction(
            sign, pose.arm_abduct[k] - pose.elbow_in[k], pose.arm_flex[k] + pose.elbow_flex[k]
        )
        wri = elb + ident.forearm * fore
        hip = np.array([sign * 0.3 * ident.hip_w, 0.0, 0.0])
        kne = hip + ident.thigh * _direction(sign, pose.hip_abduct[k], pose.hip_flex[k])
        shin = _direction(sign, pose.hip_abduct[k], pose.hip_flex[k] - pose.knee[k])
        ank = kne + ident.shin * shin
        j |= {
            f"{side}sho": sho,
            f"{side}elb": elb,
            f"{side}wri": wri,
            f"{side}hand": wri + 0.025 * fore,
            f"{side}hip": hip,
            f"{side}kne": kne,
            f"{side}ank": ank,
            f"{side}toe": ank + [sign * 0.01, 0.02, 0.06],
        }
    return j
