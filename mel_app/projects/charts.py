"""Indicator progress charts: the geometry is computed here, the SVG is drawn by the template
`projects/_chart.html` (so that Jinja escapes every label).

Colours and sizes come from the app's stylesheet (no inline styles or scripts), so the charts
keep working under a strict Content-Security-Policy. Every number drawn is also in the table next
to the chart: the chart is never the only way to read a value, and its description in words
names the baseline, the latest actual, the target and the progress rather than repeating every
row of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext

from mel_app.figures import Progress
from mel_app.models.base import Measure
from mel_app.projects.framework import display_value

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 60, 28, 16, 34


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    is_baseline: bool
    show_label: bool
    anchor: str
    lines: tuple[str, ...] = ()  # the label wrapped to fit under its point (at most two lines)


@dataclass(frozen=True)
class AxisLabel:
    y: float
    text: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - 20  # the first line of a point's label; a second one goes 11 below
    axis_labels: list[AxisLabel] = field(default_factory=list)
    target_y: float | None = None
    target_text: str = ""
    points: list[Point] = field(default_factory=list)
    description: str = ""

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def _short(text: str, limit: int = 9) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrap(text: str, width: int = 10, max_lines: int = 2) -> tuple[str, ...]:
    """The label on at most two lines of `width` characters, cut between words: "Valeur de
    référence" (French for Baseline) fits whole instead of being cut to "Valeur d…"."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    return tuple(_short(line, width) for line in lines) or ("",)


def progress_chart(progress: Progress) -> Chart | None:
    """Baseline, each approved actual and the target of one indicator, as a line over time."""
    measure = progress.measure
    if measure is Measure.qualitative:
        return None
    series: list[tuple[str, Decimal, bool]] = []
    if progress.baseline is not None:
        series.append((_("Baseline"), progress.baseline, True))
    series.extend((a.label, a.value, False) for a in progress.actuals)
    values = [v for _label, v, _b in series]
    if progress.target is not None:
        values.append(progress.target)
    if not values:
        return None

    if measure is Measure.percentage:
        low, high = Decimal(0), Decimal(100)
    elif measure is Measure.yes_no:
        low, high = Decimal(0), Decimal(1)
    else:
        low, high = min([*values, Decimal(0)]), max(values)
        if high == low:
            high = low + 1
    chart = Chart()
    plot_w, plot_h = chart.right_edge - LEFT, chart.bottom_edge - TOP

    def y(value: Decimal) -> float:
        return round(TOP + plot_h - float((value - low) / (high - low)) * plot_h, 1)

    def x(index: int) -> float:
        if len(series) <= 1:
            return LEFT + plot_w / 2
        return round(LEFT + index * plot_w / (len(series) - 1), 1)

    chart.axis_labels = [AxisLabel(y(v) + 4, display_value(v, measure)) for v in (low, high)]
    if progress.target is not None:
        chart.target_y = y(progress.target)
        chart.target_text = _("Target %(v)s", v=display_value(progress.target, measure))
    every = 1 if len(series) <= 6 else (len(series) + 5) // 6
    last = len(series) - 1
    chart.points = [
        Point(
            x=x(i),
            y=y(value),
            label=label,
            lines=_wrap(label),
            is_baseline=is_baseline,
            show_label=i % every == 0 or i == last,
            anchor="end" if i == last and last > 0 else "middle",
        )
        for i, (label, value, is_baseline) in enumerate(series)
    ]
    chart.description = describe(progress)
    return chart


def describe(progress: Progress) -> str:
    """The chart in words, for screen readers: where it starts, where it is and where it goes."""
    measure = progress.measure
    bits = []
    if progress.baseline is not None:
        bits.append(_("Baseline %(v)s.", v=display_value(progress.baseline, measure)))
    if progress.actuals:
        latest = progress.actuals[-1]
        bits.append(
            ngettext(
                "%(num)d approved period; the latest, %(period)s: %(v)s.",
                "%(num)d approved periods; the latest, %(period)s: %(v)s.",
                len(progress.actuals),
                period=latest.label,
                v=display_value(latest.value, measure),
            )
        )
    if progress.target is not None:
        bits.append(_("Target %(v)s.", v=display_value(progress.target, measure)))
    if progress.share is not None:
        bits.append(_("%(pct)s%% of the way from baseline to target.", pct=progress.percent))
    return " ".join(bits)
