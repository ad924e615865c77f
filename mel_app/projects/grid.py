"""The reporting status grid: one row per reporting organisation, one column per period.

Pure functions over plain values, shared by the project page and the tests. A cell is overdue when
its period's due date has passed without a submitted or approved report (DESIGN.md §3), whatever
the state of a draft or returned report; the underlying status is kept so the page can say
"overdue (draft)".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from mel_app.models.base import OrgGroup, Status

# Donors and the ILO take part in projects but do not write progress reports.
NON_REPORTING_GROUPS = frozenset({OrgGroup.donor, OrgGroup.ilo})
# A report in one of these states has reached the ILO: its period is not overdue.
DELIVERED = frozenset({Status.submitted, Status.approved})


class CellStatus(enum.StrEnum):
    not_started = "not_started"
    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    overdue = "overdue"


@dataclass(frozen=True)
class GridOrganisation:
    id: int
    name: str
    group: OrgGroup


@dataclass(frozen=True)
class GridPeriod:
    id: int
    label: str
    due_date: date


@dataclass(frozen=True)
class GridSubmission:
    id: int
    organisation_id: int
    period_id: int
    status: Status


@dataclass(frozen=True)
class Cell:
    status: CellStatus
    submission_id: int | None = None
    submission_status: Status | None = None

    @property
    def is_overdue(self) -> bool:
        return self.status is CellStatus.overdue


@dataclass(frozen=True)
class GridRow:
    organisation: GridOrganisation
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class StatusGrid:
    periods: tuple[GridPeriod, ...]
    rows: tuple[GridRow, ...]

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows for cell in row.cells if cell.is_overdue)

    def count(self, status: CellStatus) -> int:
        return sum(1 for row in self.rows for cell in row.cells if cell.status is status)

    def window(self, start: int, stop: int) -> StatusGrid:
        """The columns of periods[start:stop] (a page shows a few periods of a long project)."""
        return StatusGrid(
            self.periods[start:stop], tuple(GridRow(r.organisation, r.cells[start:stop]) for r in self.rows)
        )


def cell_status(submission_status: Status | None, due_date: date, today: date) -> CellStatus:
    """The state shown for one organisation and one period."""
    if submission_status in DELIVERED:
        return CellStatus(submission_status.value)
    if today > due_date:
        return CellStatus.overdue
    if submission_status is None or submission_status is Status.withdrawn:
        return CellStatus.not_started
    return CellStatus(submission_status.value)


def reporting_organisations(organisations: Iterable[GridOrganisation]) -> list[GridOrganisation]:
    """The partners expected to report, sorted by name."""
    return sorted(
        (o for o in organisations if o.group not in NON_REPORTING_GROUPS), key=lambda o: o.name.casefold()
    )


def build_grid(
    organisations: Iterable[GridOrganisation],
    periods: Sequence[GridPeriod],
    submissions: Iterable[GridSubmission],
    today: date,
) -> StatusGrid:
    """Rows for the reporting partners, in name order; columns in the order of `periods`.

    A withdrawn report counts as no report; of several reports of one organisation and period
    (only possible when earlier ones were withdrawn), the live one wins.
    """
    latest: dict[tuple[int, int], GridSubmission] = {}
    for sub in submissions:
        key = (sub.organisation_id, sub.period_id)
        current = latest.get(key)
        if current is None or current.status is Status.withdrawn:
            latest[key] = sub
    rows = []
    for org in reporting_organisations(organisations):
        cells = []
        for period in periods:
            sub = latest.get((org.id, period.id))
            status = sub.status if sub else None
            cells.append(
                Cell(
                    status=cell_status(status, period.due_date, today),
                    submission_id=sub.id if sub and sub.status is not Status.withdrawn else None,
                    submission_status=status if status is not Status.withdrawn else None,
                )
            )
        rows.append(GridRow(org, tuple(cells)))
    return StatusGrid(tuple(periods), tuple(rows))
