"""A small line plot drawn with Pillow: curves over named steps (such as layers), with a legend."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convscope.io.picture import Picture

BACKGROUND, AXIS, TEXT = (17, 17, 17), (90, 90, 90), (210, 210, 210)
COLOURS = ((255, 170, 60), (110, 200, 255), (150, 150, 150), (160, 230, 120))


def line_plot(curves: dict[str, Sequence[float]], steps: Sequence[str], *, title: str = "",
              low: float = -1.0, high: float = 1.0, size: tuple[int, int] = (360, 220)) -> Picture:
    """Curves of one value per step, drawn over the steps.

    Args:
        curves: each curve's name (its legend) and values, one per step.
        steps: the steps' names; the first and the last are written under the axis (a single
            step is drawn, and named, in the middle).
        title: written at the top.
        low: the value at the bottom of the axis (lower values are clipped).
        high: the value at the top.
        size: (width, height) in pixels.
    Returns:
        The plot.
    """
    width, height = size
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, right, top, bottom = 34, width - 10, 22, height - 34

    def y_of(value: float) -> float:
        return bottom - (min(max(value, low), high) - low) / (high - low) * (bottom - top)

    def x_of(i: int) -> float:
        return left + (right - left) * (i / (len(steps) - 1) if len(steps) > 1 else 0.5)

    draw.text((left, 4), title, fill=TEXT, font=font)
    for value in (low, 0.0, high):
        if low <= value <= high:
            y = y_of(value)
            draw.line([(left, y), (right, y)], fill=AXIS if value != 0.0 else (60, 60, 60))
            draw.text((2, y - 6), f"{value:g}", fill=TEXT, font=font)
    if len(steps) == 1:
        only = str(steps[0])
        draw.text((x_of(0) - draw.textlength(only, font=font) / 2, bottom + 4), only, fill=TEXT, font=font)
    elif steps:
        draw.text((left, bottom + 4), str(steps[0]), fill=TEXT, font=font)
        last = str(steps[-1])
        draw.text((right - draw.textlength(last, font=font), bottom + 4), last, fill=TEXT, font=font)
    legend_x = left
    for (name, values), colour in zip(curves.items(), COLOURS):
        points = [(x_of(i), y_of(float(v))) for i, v in enumerate(values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.line([(legend_x, height - 9), (legend_x + 12, height - 9)], fill=colour, width=2)
        draw.text((legend_x + 15, height - 15), name, fill=TEXT, font=font)
        legend_x += 22 + int(draw.textlength(name, font=font))
    return Picture(np.asarray(image))
