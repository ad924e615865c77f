"""Progress of an indicator from its baseline towards its target: pure functions, no database.

How actuals are combined
------------------------
Every partner organisation's progress report gives the indicator's level at the end of the
period as that organisation sees it (the report form asks for "the value at the end of the
period"). For each period the project's actual is:

* the responsible organisation's approved value, when the indicator names one and it reported;
* otherwise the mean of the approved values of that period (numbers and percentages), or
  "yes" only when every approved report says yes (yes/no indicators: a fact is reached when every
  partner confirms it).

Only approved reports count: drafts, submitted, returned and withdrawn reports never move a figure
that donors and managers read.

Share of the way
----------------
``share = (actual - baseline) / (target - baseline)`` for both directions (for a descending
indicator both differences are negative). 0 is the baseline, 1 the target; above 1 the target is
exceeded, below 0 the situation got worse than at the baseline. A yes/no indicator is either there
(1) or not (0). Without a baseline, a target or an actual the share is not computed and the reason
is given instead; when target and baseline are equal, the share is 1 while the level is held and
0 when it slipped (in the indicator's direction).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mel_app.models.base import Measure


class NoShare(enum.StrEnum):
    """Why a share of the way could not be computed."""

    qualitative = "qualitative"
    no_baseline = "no_baseline"
    no_target = "no_target"
    no_actual = "no_actual"


@dataclass(frozen=True)
class ReportedValue:
    """One approved report's value for an indicator."""

    period_id: int
    organisation_id: int
    value: Decimal | None


@dataclass(frozen=True)
class PeriodInfo:
    id: int
    label: str
    start_date: date
    end_date: date


@dataclass(frozen=True)
class Actual:
    """The project's figure for one period."""

    period_id: int
    label: str
    end_date: date
    value: Decimal
    reports: int  # how many approved reports the figure comes from


@dataclass(frozen=True)
class Progress:
    measure: Measure
    ascending: bool
    baseline: Decimal | None
    target: Decimal | None
    actuals: tuple[Actual, ...] = field(default_factory=tuple)
    share: float | None = None
    no_share: NoShare | None = None

    @property
    def latest(self) -> Actual | None:
        return self.actuals[-1] if self.actuals else None

    @property
    def achieved(self) -> bool:
        return self.share is not None and self.share >= 1

    @property
    def bar_share(self) -> float:
        """The share clipped to 0..1, for drawing a bar."""
        if self.share is None:
            return 0.0
        return min(max(self.share, 0.0), 1.0)


def combine(
    values: Sequence[Decimal], measure: Measure, responsible_value: Decimal | None = None
) -> Decimal | None:
    """The project's figure for one period from the approved values of the organisations."""
    if responsible_value is not None:
        return responsible_value
    if not values:
        return None
    if measure is Measure.yes_no:
        return Decimal(1) if all(v == 1 for v in values) else Decimal(0)
    # A mean of several organisations' figures is an estimate: two decimals are plenty.
    mean = sum(values, Decimal(0)) / len(values)
    return mean.quantize(Decimal("0.01"))


def actuals_by_period(
    reported: Iterable[ReportedValue],
    periods: Sequence[PeriodInfo],
    measure: Measure,
    responsible_organisation_id: int | None = None,
) -> tuple[Actual, ...]:
    """One figure per period that has approved values, in the order of the periods."""
    if measure is Measure.qualitative:
        return ()
    by_period: dict[int, list[ReportedValue]] = {}
    for rv in reported:
        if rv.value is not None:
            by_period.setdefault(rv.period_id, []).append(rv)
    actuals = []
    for period in sorted(periods, key=lambda p: (p.start_date, p.end_date)):
        rows = by_period.get(period.id)
        if not rows:
            continue
        responsible = next((r.value for r in rows if r.organisation_id == responsible_organisation_id), None)
        value = combine([r.value for r in rows], measure, responsible)
        if value is not None:
            count = 1 if responsible is not None else len(rows)
            actuals.append(Actual(period.id, period.label, period.end_date, value, count))
    return tuple(actuals)


def share_of_the_way(
    measure: Measure,
    ascending: bool,
    baseline: Decimal | None,
    target: Decimal | None,
    actual: Decimal | None,
) -> tuple[float | None, NoShare | None]:
    """(share, None) or (None, the reason it cannot be computed). See the module docstring."""
    if measure is Measure.qualitative:
        return None, NoShare.qualitative
    if target is None:
        return None, NoShare.no_target
    if actual is None:
        return None, NoShare.no_actual
    if measure is Measure.yes_no:
        return (1.0 if actual == target else 0.0), None
    if baseline is None:
        return None, NoShare.no_baseline
    if target == baseline:
        held = actual >= target if ascending else actual <= target
        return (1.0 if held else 0.0), None
    return float((actual - baseline) / (target - baseline)), None


def compute_progress(
    *,
    measure: Measure,
    ascending: bool,
    baseline: Decimal | None,
    target: Decimal | None,
    reported: Iterable[ReportedValue],
    periods: Sequence[PeriodInfo],
    responsible_organisation_id: int | None = None,
) -> Progress:
    actuals = actuals_by_period(reported, periods, measure, responsible_organisation_id)
    latest = actuals[-1].value if actuals else None
    share, no_share = share_of_the_way(measure, ascending, baseline, target, latest)
    return Progress(
        measure=measure,
        ascending=ascending,
        baseline=baseline,
        target=target,
        actuals=actuals,
        share=share,
        no_share=no_share,
    )
