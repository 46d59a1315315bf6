"""A unit's path as a small plot: its picture's level, the top photos' and random photos', layer by layer."""
from __future__ import annotations

from convscope.io.line_plot import line_plot
from convscope.io.picture import Picture
from convscope.methods.trust.path import PathCurve


def path_plot(label: str, path: PathCurve) -> Picture:
    """The three levels of a unit's path over the earlier layers."""
    score = path.mean_score
    title = f"{label}: path score {'-' if score is None else f'{score:.2f}'}"
    return line_plot({"picture": path.picture, "top photos": path.natural, "random photos": path.chance},
                     path.layers, title=title)
