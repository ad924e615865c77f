"""Statistics of scores, shared by the consolidated view and every export (so their numbers agree).

Pure functions over plain values: no database, no Flask.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

# Criteria where two constituencies' means differ by this many points or more are flagged:
# that is where the participatory conversation has to happen.
DIVERGENCE_THRESHOLD = 2.0


@dataclass(frozen=True)
class Stats:
    """Summary of the points given (cannot-assess answers are counted apart, not averaged)."""

    n: int
    mean: float | None
    median: float | None
    stdev: float | None  # sample standard deviation (n - 1), as Excel's STDEV.S; None below two scores
    minimum: int | None
    maximum: int | None
    cannot_assess: int


def describe(points: Iterable[int | None]) -> Stats:
    """`None` stands for "cannot assess"."""
    values: list[int] = []
    cannot = 0
    for point in points:
        if point is None:
            cannot += 1
        else:
            values.append(point)
    if not values:
        return Stats(0, None, None, None, None, None, cannot)
    return Stats(
        n=len(values),
        mean=statistics.fmean(values),
        median=float(statistics.median(values)),
        stdev=statistics.stdev(values) if len(values) > 1 else None,
        minimum=min(values),
        maximum=max(values),
        cannot_assess=cannot,
    )


@dataclass
class CriterionSummary:
    overall: Stats
    groups: dict[Hashable, Stats] = field(default_factory=dict)

    @property
    def divergence(self) -> float | None:
        """The largest gap between two groups' means, or None with fewer than two groups scoring."""
        means = [s.mean for s in self.groups.values() if s.mean is not None]
        if len(means) < 2:
            return None
        return max(means) - min(means)

    @property
    def is_divergent(self) -> bool:
        gap = self.divergence
        return gap is not None and gap >= DIVERGENCE_THRESHOLD - 1e-9


def consolidate(rows: Iterable[tuple[Hashable, Hashable, int | None]]) -> dict[Hashable, CriterionSummary]:
    """rows: (criterion key, group, point or None for cannot assess) of submitted scorecards only."""
    by_criterion: dict[Hashable, list[int | None]] = defaultdict(list)
    by_group: dict[Hashable, dict[Hashable, list[int | None]]] = defaultdict(lambda: defaultdict(list))
    for criterion, group, point in rows:
        by_criterion[criterion].append(point)
        by_group[criterion][group].append(point)
    return {
        criterion: CriterionSummary(
            overall=describe(points),
            groups={group: describe(p) for group, p in by_group[criterion].items()},
        )
        for criterion, points in by_criterion.items()
    }
