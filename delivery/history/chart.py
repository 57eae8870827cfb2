"""The per-day history chart: `history_chart` turns an `AppStats` into the geometry of a
server-rendered SVG bar chart, so the chart needs no JavaScript and reads the same in the
dashboard and in the admin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from delivery.history.stats import AppStats, DayCounts

# What each stacked segment shows, bottom up, with its colour. The colours are SVG `fill`
# attributes, which the Content-Security-Policy allows (unlike `style=`) and which need no stylesheet.
CHART_SERIES: list[tuple[str, str, str]] = [
    ("delivered", "Delivered", "#1d7a45"),
    ("failed", "Failed", "#b42318"),
    ("pending", "Pending", "#d99a00"),
    ("suppressed", "Suppressed", "#98a2b3"),
    ("blocked", "Blocked", "#475467"),
]


@dataclass(frozen=True)
class Segment:
    name: str
    label: str
    color: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    day: date
    counts: DayCounts
    x: float
    width: float
    segments: list[Segment]
    show_label: bool

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def title(self) -> str:
        parts = ", ".join(f"{segment.count} {segment.name}" for segment in self.segments)
        return f"{self.day:%a %d %b}: {self.counts.received} received" + (f" ({parts})" if parts else "")


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: float
    right: int
    bars: list[Bar]
    ticks: list[Tick]
    series: list[tuple[str, str, str]]
    empty: bool


CHART_WIDTH = 1040
CHART_HEIGHT = 240
CHART_LEFT = 44
CHART_RIGHT = 8
CHART_TOP = 10
CHART_BOTTOM_MARGIN = 26


def nice_step(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def axis_ticks(highest: int) -> list[int]:
    """Round gridline values from 0 to at or above `highest`: at most five, evenly spaced."""
    if highest <= 0:
        return [0, 1, 2, 3, 4]
    step = nice_step(math.ceil(highest / 4))
    return [step * n for n in range(math.ceil(highest / step) + 1)]


def history_chart(stats: AppStats) -> Chart:
    """Stacked bars, one per day: delivered, failed, pending, suppressed and blocked."""
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM_MARGIN
    bottom = CHART_TOP + plot_height
    values = axis_ticks(max((counts.received for _, counts in stats.days), default=0))
    scale = plot_height / values[-1]
    slot = (CHART_WIDTH - CHART_LEFT - CHART_RIGHT) / max(len(stats.days), 1)
    # Every day is labelled up to two weeks; beyond that every n-th, so labels never overlap.
    label_every = max(1, round(len(stats.days) / 14))
    bars = []
    for index, (day, counts) in enumerate(stats.days):
        segments, y = [], float(bottom)
        for name, label, color in CHART_SERIES:
            count = getattr(counts, name)
            if count:
                height = count * scale
                y -= height
                segments.append(Segment(name, label, color, count, round(y, 2), round(height, 2)))
        # Counted from the last day, so today is always labelled.
        bars.append(Bar(day, counts, round(CHART_LEFT + index * slot + slot * 0.18, 2), round(slot * 0.64, 2),
                        segments, show_label=(len(stats.days) - 1 - index) % label_every == 0))
    ticks = [Tick(value, round(bottom - value * scale, 2)) for value in values]
    return Chart(CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_TOP, bottom, CHART_WIDTH - CHART_RIGHT, bars, ticks,
                 CHART_SERIES, empty=not any(counts.received for _, counts in stats.days))
