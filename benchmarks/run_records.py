"""What the multi-seed training benchmarks share: seed bands, their tables and their figures.

A curve is an array `[seeds, points]`; a side (the official code, a variant) is a dict of
curves by name. The band of a side is its mean over the seeds +/- 2 sample standard deviations.
Figures need matplotlib (`pip install -e ".[benchmarks]"`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def mean_sd(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over the seeds (axis 0); sd 0 for one seed."""
    curve = np.asarray(curve, np.float64)
    sd = curve.std(axis=0, ddof=1) if len(curve) > 1 else np.zeros(curve.shape[1:])
    return curve.mean(axis=0), sd


def within_band(reference: dict, other: dict, width: float = 2.0) -> dict | None:
    """Per curve name, at each point: is `other`'s mean within `reference`'s mean +/- width sd?
    None when `reference` has a single seed (no spread to compare with)."""
    if len(next(iter(reference.values()))) < 2:
        return None
    inside = {}
    for name, curve in reference.items():
        mean, sd = mean_sd(curve)
        inside[name] = np.abs(mean_sd(other[name])[0] - mean) <= width * sd
    return inside


def format_mean_sd(mean: float, sd: float) -> str:
    digits = 2 if max(abs(mean), sd) >= 10 else 4
    return f"{mean:.{digits}f} +/- {sd:.{digits}f}"


def band_table(
    title: str, steps, reference: dict, other: dict, every: int = 1, names=("official", "dptn-tf")
) -> str:
    """Rows of `reference` (mean +/- sd) against `other` (mean +/- sd) at every `every`-th point
    and the last, with whether `other`'s mean is inside the band."""
    inside = within_band(reference, other)
    points = sorted({*range(0, len(steps), every), len(steps) - 1})
    lines = [title, f"  {'step':>6}  {'figure':<16}{names[0]:>24}{names[1]:>24}  inside"]
    for i in points:
        for name, curve in reference.items():
            ref, oth = mean_sd(curve), mean_sd(other[name])
            lines.append(
                f"  {steps[i]:>6}  {name:<16}{format_mean_sd(ref[0][i], ref[1][i]):>24}"
                f"{format_mean_sd(oth[0][i], oth[1][i]):>24}  "
                f"{'n/a' if inside is None else 'yes' if inside[name][i] else 'NO'}"
            )
    return "\n".join(lines)


def smooth(curve: np.ndarray, window: int) -> np.ndarray:
    """Running mean over `window` points along the last axis (shorter at the start)."""
    cumulative = np.cumsum(np.asarray(curve, np.float64), axis=-1)
    shifted = np.concatenate(
        [np.zeros_like(cumulative[..., :window]), cumulative[..., :-window]], axis=-1
    )[..., : cumulative.shape[-1]]
    counts = np.minimum(np.arange(1, cumulative.shape[-1] + 1), window)
    return (cumulative - shifted) / counts


def plot_bands(curves: dict, path: Path, title: str, columns: int = 4) -> None:
    """One panel per curve name: each side's mean and its +/- 2 sd band. `curves` maps a name
    to `(x, {side: [seeds, points]})`; curves of more than 200 points are smoothed (window of
    a 50th of their length) before the seed statistics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = -(-len(curves) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for axis, (name, (x, sides)) in zip(axes.flat, curves.items()):
        for side, curve in sides.items():
            curve = np.asarray(curve, np.float64)
            if curve.shape[-1] > 200:
                curve = smooth(curve, curve.shape[-1] // 50)
            mean, sd = mean_sd(curve)
            (line,) = axis.plot(x, mean, label=side, linewidth=1)
            axis.fill_between(x, mean - 2 * sd, mean + 2 * sd, color=line.get_color(), alpha=0.25)
        axis.set_title(name, fontsize=9)
        axis.tick_params(labelsize=7)
    for axis in axes.flat[len(curves) :]:
        axis.axis("off")
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    _save(figure, path)


def plot_sample_grids(samples: dict, sides, path: Path, title: str) -> None:
    """Rows of test pairs: source, target and each side's generated target ([-1, 1] images)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ("source_image", "target_image", *sides)
    pairs = len(samples["source_image"])
    figure, axes = plt.subplots(
        1, len(columns), figsize=(1.2 * len(columns), 0.6 * pairs + 0.6), squeeze=False
    )
    for axis, column in zip(axes[0], columns):
        image = np.concatenate(list(np.asarray(samples[column])), axis=0)
        axis.imshow(np.clip((image + 1) / 2, 0, 1))
        axis.set_title(column.replace("_image", ""), fontsize=8)
        axis.axis("off")
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    _save(figure, path)


def _save(figure, path: Path) -> None:
    """PNG written under a temporary name, then renamed: no half-written figure."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)
    temporary.replace(path)
