"""Line charts as numbers for an SVG template (templates/chart_macros.html): every point's place
and value, the polylines between them, the axis ticks, and a sentence that describes the chart
for a screen reader. No JavaScript, no chart library: the server computes, the template draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 26
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Point:
    """One data point: where it is drawn and what it is."""

    x: float
    y: float
    value: float
    label: str
    text: str


@dataclass(frozen=True)
class Line:
    """One series: its points and the polylines through them (a gap where a bucket has no value)."""

    name: str
    index: int
    points: list[Point]
    segments: list[str]


@dataclass(frozen=True)
class Tick:
    """An axis label and where it goes (x or y in SVG units)."""

    at: float
    text: str


@dataclass(frozen=True)
class LineChart:
    """A chart ready to draw."""

    chart_id: str
    title: str
    description: str
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    labels: list[str]
    table: list[list[str]]  # per bucket: its label, then each line's value as text ("" for none)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = PLOT_WIDTH
    plot_height: int = PLOT_HEIGHT


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10 * power


def x_position(index: int, count: int) -> float:
    """The x of bucket ``index`` of ``count``: spread over the plot, one bucket in the middle."""
    if count <= 1:
        return LEFT + PLOT_WIDTH / 2
    return LEFT + PLOT_WIDTH * index / (count - 1)


def y_position(value: float, top_value: float) -> float:
    """The y of ``value`` on an axis from 0 (bottom) to ``top_value`` (top)."""
    return TOP + PLOT_HEIGHT * (1 - value / top_value)


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    formatter: Callable[[float], str],
    top_value: float | None = None,
) -> LineChart:
    """A chart of ``series`` (name -> one value or None per label) with a y axis from 0 to
    ``top_value`` (default: a round number at or above the largest value)."""
    values = [value for line in series.values() for value in line if value is not None]
    top = top_value if top_value is not None else nice_ceiling(max(values, default=0.0))
    count = len(labels)
    lines = []
    for index, (name, line_values) in enumerate(series.items()):
        points: list[Point] = []
        segments: list[str] = []
        current: list[str] = []
        for position, value in enumerate(line_values):
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            point = Point(
                round(x_position(position, count), 2), round(y_position(value, top), 2), value,
                labels[position], formatter(value),
            )
            points.append(point)
            current.append(f"{point.x},{point.y}")
        if current:
            segments.append(" ".join(current))
        lines.append(Line(name, index, points, segments))
    tick_indexes = sorted({0, count // 2, count - 1}) if count else []
    x_ticks = [Tick(round(x_position(i, count), 2), labels[i]) for i in tick_indexes]
    y_ticks = [Tick(round(y_position(top * share, top), 2), formatter(top * share)) for share in (0, 0.5, 1)]
    table = [
        [label, *("" if line_values[i] is None else formatter(line_values[i]) for line_values in series.values())]
        for i, label in enumerate(labels)
    ]
    return LineChart(chart_id, title, _describe(title, labels, lines), lines, x_ticks, y_ticks, list(labels), table)


def _describe(title: str, labels: Sequence[str], lines: Sequence[Line]) -> str:
    """A sentence a screen reader can say instead of the picture."""
    if not labels:
        return f"{title}: no data."
    parts = [f"{title}, {len(labels)} points from {labels[0]} to {labels[-1]}."]
    for line in lines:
        if not line.points:
            parts.append(f"{line.name}: no values.")
            continue
        highest = max(line.points, key=lambda point: point.value)
        parts.append(f"{line.name}: highest {highest.text} at {highest.label}, last {line.points[-1].text}.")
    return " ".join(parts)
