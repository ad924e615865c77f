"""Geometry of the consolidated chart: each criterion, the groups' mean scores side by side.

The template `evaluations/_chart.svg.html` draws it as inline SVG with presentation attributes
only (no inline styles or scripts, so the strict CSP holds). The numbers are always in a table too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mel_app.models import ScorerGroup

# Okabe–Ito colours, distinguishable with the common colour-vision deficiencies; every bar also
# carries its group's name and its value as text, so colour is never the only cue.
GROUP_COLOURS = {
    ScorerGroup.workers: "#D55E00",
    ScorerGroup.employers: "#0072B2",
    ScorerGroup.government: "#009E73",
    ScorerGroup.ilo: "#CC79A7",
    ScorerGroup.independent: "#8F6A00",
}

# Narrow on purpose: on a phone the drawing is scaled down, and its text must stay readable.
WIDTH = 450
LABEL_X = 2
BAR_X = 150
BAR_WIDTH = 220
AXIS_HEIGHT = 28
HEADING_HEIGHT = 24
ROW_HEIGHT = 20
BAR_HEIGHT = 13
GAP = 12


@dataclass
class Bar:
    label: str
    colour: str
    y: float
    width: float | None  # None: no score in this group (only "cannot assess", or nobody)
    value: float | None
    n: int
    cannot_assess: int


@dataclass
class Block:
    code: str
    name: str
    divergent: bool
    y: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    bar_x: int
    bar_width: int
    label_x: int
    ticks: list[tuple[int, float]]  # (point, x)
    blocks: list[Block]
    grid_top: int
    grid_bottom: float

    @property
    def is_empty(self) -> bool:
        return not any(bar.width is not None for block in self.blocks for bar in block.bars)


def group_chart(results: Any, labels: dict[ScorerGroup, Any]) -> Chart:
    max_point = max((p.value for p in results.evaluation.scale.points), default=6)
    scale = BAR_WIDTH / max_point
    y = float(AXIS_HEIGHT)
    blocks = []
    for criterion in results.criteria:
        summary = results.summary(criterion.id)
        block = Block(criterion.code, criterion.name, summary.is_divergent, y + 16)
        y += HEADING_HEIGHT
        for group in results.groups:
            stats = summary.groups.get(group)
            mean = stats.mean if stats else None
            block.bars.append(
                Bar(
                    label=str(labels[group]),
                    colour=GROUP_COLOURS[group],
                    y=y,
                    width=None if mean is None else round(mean * scale, 1),
                    value=mean,
                    n=stats.n if stats else 0,
                    cannot_assess=stats.cannot_assess if stats else 0,
                )
            )
            y += ROW_HEIGHT
        blocks.append(block)
        y += GAP
    return Chart(
        width=WIDTH,
        height=int(y) + 4,
        bar_x=BAR_X,
        bar_width=BAR_WIDTH,
        label_x=LABEL_X,
        ticks=[(p, BAR_X + p * scale) for p in range(0, max_point + 1)],
        blocks=blocks,
        grid_top=AXIS_HEIGHT - 6,
        grid_bottom=y - GAP,
    )
