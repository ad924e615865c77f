"""Indicator progress charts as small inline SVG, drawn on the server.

Colours and sizes are SVG presentation attributes (no inline styles or scripts), so the charts
keep working under a strict Content-Security-Policy. Every number drawn is also in the table next
to the chart: the chart is never the only way to read a value.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from markupsafe import Markup, escape

from mel_app.models.base import Measure
from mel_app.projects.framework import display_value
from mel_app.projects.progress import Progress

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 60, 28, 16, 34
ACTUAL, TARGET, BASELINE, GRID = "#1a5fb4", "#1b7f3b", "#6b6b6b", "#d0d0d0"


def _fmt(value: Decimal | None, measure: Measure) -> str:
    return display_value(value, measure)


def _short(text: str, limit: int = 9) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress_chart(progress: Progress, *, chart_id: str, title: str) -> Markup:
    """Baseline, each approved actual and the target of one indicator, as a line over time."""
    measure = progress.measure
    if measure is Measure.qualitative:
        return Markup("")
    points: list[tuple[str, Decimal]] = []
    if progress.baseline is not None:
        points.append((_("Baseline"), progress.baseline))
    points.extend((a.label, a.value) for a in progress.actuals)
    values = [v for _label, v in points]
    if progress.target is not None:
        values.append(progress.target)
    if not values:
        return Markup("")

    if measure is Measure.percentage:
        low, high = Decimal(0), Decimal(100)
    elif measure is Measure.yes_no:
        low, high = Decimal(0), Decimal(1)
    else:
        low, high = min(values + [Decimal(0)]), max(values)
        if high == low:
            high = low + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: Decimal) -> float:
        return round(TOP + plot_h - float((value - low) / (high - low)) * plot_h, 1)

    slots = max(len(points), 1)

    def x(index: int) -> float:
        if slots == 1:
            return LEFT + plot_w / 2
        return round(LEFT + index * plot_w / (slots - 1), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="progress-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'focusable="false">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(_describe(progress))}</desc>',
    ]
    # Axis and its two labels.
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{GRID}" stroke-width="1"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        f'stroke="{GRID}" stroke-width="1"/>'
    )
    for value in (low, high):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4}" text-anchor="end" font-size="11" fill="{BASELINE}">'
            f"{escape(_fmt(value, measure))}</text>"
        )
    if progress.target is not None:
        ty = y(progress.target)
        parts.append(
            f'<line x1="{LEFT}" y1="{ty}" x2="{LEFT + plot_w}" y2="{ty}" stroke="{TARGET}" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{LEFT + plot_w}" y="{ty - 4}" text-anchor="end" font-size="11" fill="{TARGET}">'
            f"{escape(_('Target'))} {escape(_fmt(progress.target, measure))}</text>"
        )
    if points:
        coords = " ".join(f"{x(i)},{y(v)}" for i, (_label, v) in enumerate(points))
        if len(points) > 1:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{ACTUAL}" stroke-width="2"/>')
        label_every = 1 if len(points) <= 6 else (len(points) + 5) // 6
        for i, (label, value) in enumerate(points):
            is_baseline = i == 0 and progress.baseline is not None
            colour = BASELINE if is_baseline else ACTUAL
            parts.append(f'<circle cx="{x(i)}" cy="{y(value)}" r="4" fill="{colour}"/>')
            if i % label_every == 0 or i == len(points) - 1:
                anchor = "end" if i == len(points) - 1 and len(points) > 1 else "middle"
                parts.append(
                    f'<text x="{x(i)}" y="{HEIGHT - 12}" text-anchor="{anchor}" font-size="10" '
                    f'fill="{BASELINE}">{escape(_short(label))}</text>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value and label above is escaped


def _describe(progress: Progress) -> str:
    measure = progress.measure
    bits = []
    if progress.baseline is not None:
        bits.append(_("Baseline %(v)s.", v=_fmt(progress.baseline, measure)))
    for actual in progress.actuals:
        bits.append(_("%(period)s: %(v)s.", period=actual.label, v=_fmt(actual.value, measure)))
    if progress.target is not None:
        bits.append(_("Target %(v)s.", v=_fmt(progress.target, measure)))
    if progress.share is not None:
        bits.append(_("%(pct)s%% of the way from baseline to target.", pct=round(progress.share * 100)))
    return " ".join(bits)
