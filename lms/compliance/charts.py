"""Server-rendered SVG charts: plain shapes computed here, drawn by templates/compliance/_charts.html.

No JavaScript and no chart library: the page works offline, prints, and each chart carries a
text table for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PALETTE = ["#a3221b", "#0b4f9c", "#1d6b34", "#8a5300", "#5b2a86", "#00727a", "#6b6b75", "#b0417a"]


@dataclass
class Series:
    label: str
    colour: str
    points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass
class LineChart:
    width: int
    height: int
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    series: list[Series]


def line_chart(
    x_labels: list[str], series: dict[str, list[float]], width: int = 720, height: int = 280
) -> LineChart:
    """Values are shares 0..1 on a fixed 0-100 % axis."""
    left, right, top, bottom = 48, 16, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(x_labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / n, top + plot_h * (1 - max(0.0, min(1.0, v)))

    out = []
    for idx, (label, values) in enumerate(series.items()):
        out.append(
            Series(label, PALETTE[idx % len(PALETTE)], [xy(i, v) for i, v in enumerate(values)])
        )
    xl = [(xy(i, 0)[0], lab) for i, lab in enumerate(x_labels)]
    yt = [(xy(0, v / 100)[1], f"{v} %") for v in (0, 25, 50, 75, 100)]
    return LineChart(width, height, xl, yt, out)


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: int


def bar_chart(items: list[tuple[str, int]], width: int = 720, height: int = 240) -> dict:
    left, bottom, top = 40, 40, 16
    plot_w, plot_h = width - left - 16, height - top - bottom
    peak = max([v for _l, v in items] + [1])
    slot = plot_w / max(1, len(items))
    bars = []
    for i, (label, value) in enumerate(items):
        h = plot_h * value / peak
        bars.append(
            Bar(left + i * slot + slot * 0.15, top + plot_h - h, slot * 0.7, h, label, value)
        )
    return {"width": width, "height": height, "bars": bars, "base": top + plot_h, "peak": peak}


def heat_colour(share: float | None) -> str:
    """Red (0 %) through amber to green (100 %); grey when nobody is required."""
    if share is None:
        return "#e8e6e1"
    if share >= 0.95:
        return "#1d6b34"
    if share >= 0.8:
        return "#5d8c2e"
    if share >= 0.6:
        return "#c98a00"
    if share >= 0.4:
        return "#d0601a"
    return "#a3221b"


def heat_class(share: float | None) -> str:
    """The CSS class of heat_colour's band (static/css: .heat-0 ... .heat-5), for pages that
    draw thousands of cells: a class is shorter than an inline SVG swatch."""
    if share is None:
        return "heat-none"
    if share >= 0.95:
        return "heat-5"
    if share >= 0.8:
        return "heat-4"
    if share >= 0.6:
        return "heat-3"
    if share >= 0.4:
        return "heat-2"
    return "heat-1"
