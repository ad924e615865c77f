"""An indicator's figure for a period and its progress: the one definition, no database.

The project page, its charts, the portfolio, every export table and the IATI file compute their
figures here, so that a number read on screen and the same number in a download never differ.
docs/DESIGN.md ("Indicator figures") states the rules in plain words with a worked example.

Consolidating a period
----------------------
Every organisation's progress report gives the indicator's level at the end of the period as that
organisation sees it. Only approved reports count. The indicator's `aggregation` says how the
approved values of one period make the project's figure:

* ``sum`` — the organisations' values added up (each counts its own members, workers trained…);
* ``mean`` — their unweighted mean, to four decimals (a rate each organisation measures);
* ``responsible`` — the value of the indicator's responsible organisation alone; no figure for a
  period it did not report, whatever the others said;
* ``all_yes`` — yes only when every report says yes (a fact is reached once all partners confirm);
* ``any_yes`` — yes as soon as one report says yes;
* ``listed`` — qualitative answers: no figure, each organisation's answer is shown.

Women and men are consolidated like the total, and given only when every report counted gives
them. The values behind a figure stay attached to it (`Figure.reports`), so anyone can redo it.

Share of the way
----------------
``share = (actual - baseline) / (target - baseline)``, the same formula whether a higher or a
lower value is better (for a descending indicator both differences are negative): 0 at the
baseline, 1 at the target, above 1 beyond it, below 0 worse than at the start. Rounded to four
decimals. Without a target or an actual there is no share, and neither is there without a baseline
for numbers and percentages: a missing baseline is unknown, not zero. When the target equals the
baseline the aim is to hold the level: 1 while it is held (or bettered in the indicator's
direction), 0 when it slipped. A yes/no indicator is there (1, the actual equals the target) or not
(0), baseline or not. A qualitative indicator has no share. The progress of an indicator is the
share of its latest period that has a figure.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mel_app.models.base import AGGREGATIONS, DEFAULT_AGGREGATION, Aggregation, Measure

PLACES = Decimal("0.0001")
ZERO, ONE = Decimal(0), Decimal(1)

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_AGGREGATION",
    "Aggregation",
    "Figure",
    "NoShare",
    "Period",
    "Progress",
    "Report",
    "Rule",
    "consolidate",
    "figures",
    "progress",
    "share_of_the_way",
]


class NoShare(enum.StrEnum):
    """Why a share of the way could not be computed."""

    qualitative = "qualitative"
    no_baseline = "no_baseline"
    no_target = "no_target"
    no_actual = "no_actual"


@dataclass(frozen=True)
class Report:
    """One organisation's approved value of an indicator for one period."""

    period_id: int
    organisation_id: int
    value: Decimal | None
    women: Decimal | None = None
    men: Decimal | None = None
    organisation: str = ""


@dataclass(frozen=True)
class Period:
    id: int
    label: str
    start_date: date
    end_date: date


@dataclass(frozen=True)
class Rule:
    """What of an indicator the figures depend on."""

    measure: Measure
    aggregation: Aggregation
    ascending: bool = True
    baseline: Decimal | None = None
    target: Decimal | None = None
    responsible_organisation_id: int | None = None

    @classmethod
    def of(cls, indicator: Any) -> Rule:
        """The rule of an Indicator, or of a query row with the same column names."""
        measure = Measure(indicator.measure)
        # An indicator not yet flushed has no aggregation: the database will give it the default.
        method = indicator.aggregation or DEFAULT_AGGREGATION[measure]
        return cls(
            measure=measure,
            aggregation=Aggregation(method),
            ascending=bool(indicator.ascending),
            baseline=_decimal(indicator.baseline_value),
            target=_decimal(indicator.target_value),
            responsible_organisation_id=indicator.responsible_organisation_id,
        )


@dataclass(frozen=True)
class Consolidated:
    value: Decimal | None
    women: Decimal | None
    men: Decimal | None
    used: tuple[Report, ...]  # the reports the figure is computed from


@dataclass(frozen=True)
class Figure:
    """The project's figure for one period, with the reports it comes from."""

    period: Period
    method: Aggregation
    value: Decimal | None
    women: Decimal | None
    men: Decimal | None
    used: tuple[Report, ...]  # the reports the figure is computed from
    reports: tuple[Report, ...]  # every approved report of the period, to recompute the figure
    share: Decimal | None
    no_share: NoShare | None

    @property
    def label(self) -> str:
        return self.period.label

    @property
    def period_id(self) -> int:
        return self.period.id

    @property
    def end_date(self) -> date:
        return self.period.end_date

    @property
    def count(self) -> int:
        return len(self.used)

    @property
    def percent(self) -> int | None:
        return percent(self.share)


@dataclass(frozen=True)
class Progress:
    """An indicator's figures period by period, and the share of the way of the latest one."""

    rule: Rule
    figures: tuple[Figure, ...]
    share: Decimal | None
    no_share: NoShare | None

    @property
    def measure(self) -> Measure:
        return self.rule.measure

    @property
    def ascending(self) -> bool:
        return self.rule.ascending

    @property
    def baseline(self) -> Decimal | None:
        return self.rule.baseline

    @property
    def target(self) -> Decimal | None:
        return self.rule.target

    @property
    def actuals(self) -> tuple[Figure, ...]:
        """The periods that have a figure, in time order."""
        return tuple(f for f in self.figures if f.value is not None)

    @property
    def latest(self) -> Figure | None:
        actuals = self.actuals
        return actuals[-1] if actuals else None

    @property
    def achieved(self) -> bool:
        return self.share is not None and self.share >= 1

    @property
    def percent(self) -> int | None:
        return percent(self.share)

    @property
    def bar_share(self) -> float:
        """The share clipped to 0..1, for drawing a bar."""
        if self.share is None:
            return 0.0
        return float(min(max(self.share, ZERO), ONE))


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def percent(share: Decimal | None) -> int | None:
    """A share as the whole percentage shown to people (half up: 0.475 is 48%)."""
    if share is None:
        return None
    return int((share * 100).quantize(ONE, rounding=ROUND_HALF_UP))


def _mean(values: Sequence[Decimal]) -> Decimal:
    return (sum(values, ZERO) / len(values)).quantize(PLACES, rounding=ROUND_HALF_UP)


def _part(used: Sequence[Report], name: str, method: Aggregation) -> Decimal | None:
    parts = [getattr(r, name) for r in used]
    if not parts or any(p is None for p in parts):
        return None  # a partial breakdown would not add up to the total
    return _mean(parts) if method is Aggregation.mean else sum(parts, ZERO)


def consolidate(rule: Rule, reports: Iterable[Report]) -> Consolidated:
    """The project's figure for one period from the approved reports of that period."""
    with_value = tuple(r for r in reports if r.value is not None)
    method = rule.aggregation
    if rule.measure is Measure.qualitative or method is Aggregation.listed:
        return Consolidated(None, None, None, ())
    if method is Aggregation.responsible:
        used = tuple(r for r in with_value if r.organisation_id == rule.responsible_organisation_id)
    else:
        used = with_value
    if not used:
        return Consolidated(None, None, None, ())
    values = [r.value for r in used if r.value is not None]
    value: Decimal
    if method is Aggregation.all_yes:
        value = ONE if all(v == 1 for v in values) else ZERO
    elif method is Aggregation.any_yes:
        value = ONE if any(v == 1 for v in values) else ZERO
    elif method is Aggregation.mean:
        value = _mean(values)
    else:  # sum, or responsible with the one value of that organisation
        value = sum(values, ZERO)
    if rule.measure is not Measure.number:
        return Consolidated(value, None, None, used)
    return Consolidated(value, _part(used, "women", method), _part(used, "men", method), used)


def share_of_the_way(
    measure: Measure,
    ascending: bool,
    baseline: Decimal | None,
    target: Decimal | None,
    actual: Decimal | None,
) -> tuple[Decimal | None, NoShare | None]:
    """(share, None) or (None, the reason it cannot be computed). See the module docstring."""
    if measure is Measure.qualitative:
        return None, NoShare.qualitative
    if target is None:
        return None, NoShare.no_target
    if actual is None:
        return None, NoShare.no_actual
    if measure is Measure.yes_no:
        return (ONE if actual == target else ZERO), None
    if baseline is None:
        return None, NoShare.no_baseline
    if target == baseline:
        held = actual >= target if ascending else actual <= target
        return (ONE if held else ZERO), None
    return ((actual - baseline) / (target - baseline)).quantize(PLACES, rounding=ROUND_HALF_UP), None


def figures(rule: Rule, reports: Iterable[Report], periods: Sequence[Period]) -> tuple[Figure, ...]:
    """One figure per period that has approved reports, in time order."""
    by_period: dict[int, list[Report]] = {}
    for report in reports:
        by_period.setdefault(report.period_id, []).append(report)
    out = []
    for period in sorted(periods, key=lambda p: (p.start_date, p.end_date, p.id)):
        rows = by_period.get(period.id)
        if not rows:
            continue
        found = consolidate(rule, rows)
        share, no_share = share_of_the_way(
            rule.measure, rule.ascending, rule.baseline, rule.target, found.value
        )
        figure = Figure(
            period, rule.aggregation, **vars(found), reports=tuple(rows), share=share, no_share=no_share
        )
        out.append(figure)
    return tuple(out)


def progress(rule: Rule, reports: Iterable[Report], periods: Sequence[Period]) -> Progress:
    """Every period's figure, and the share of the way reached by the latest one."""
    found = figures(rule, reports, periods)
    with_value = [f for f in found if f.value is not None]
    if with_value:
        share, no_share = with_value[-1].share, with_value[-1].no_share
    else:
        share, no_share = share_of_the_way(rule.measure, rule.ascending, rule.baseline, rule.target, None)
    return Progress(rule=rule, figures=found, share=share, no_share=no_share)
