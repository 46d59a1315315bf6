"""A unit's path as a small plot: its picture's level, the starting noise's, the top photos' and
random photos', layer by layer."""
from __future__ import annotations

from typing import Sequence

from convscope.io.line_plot import line_plot
from convscope.io.picture import Picture
from convscope.methods.trust.path import PathCurve


def path_plot(label: str, path: PathCurve, noise: PathCurve | None = None) -> Picture:
    """The levels of a unit's path over the earlier layers, with its starting noise's when given."""
    score, interval = path.mean_score, path.interval
    title = f"{label}: path score {'-' if score is None else f'{score:.2f}'}"
    if interval is not None:
        title += f" ({interval[0]:.2f} to {interval[1]:.2f})"
    curves: dict[str, Sequence[float]] = {"picture": path.picture, "top photos": path.natural, "random photos": path.chance}
    if noise is not None:
        curves["starting noise"] = noise.picture
    return line_plot(curves, path.layers, title=title)
