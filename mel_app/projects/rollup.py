"""The portfolio read in the ILO's terms: one row per DWCP outcome, P&B outcome or SDG target.

The rule (the page says it in one sentence):

* a project counts under a code when it is tagged with it, or when one of its results is;
* a result counts under a code when it is tagged with it (archived results do not count);
* the figures of a code are those of the live indicators of the results tagged with it: a project
  tagged as a whole adds no figures of its own, since its other results may serve other outcomes
  and would be counted under every code of the project.

Figures come from `mel_app.figures`, like every other page: only approved reports count, each
indicator is consolidated by its own aggregation rule, and its latest figure is the one added up.
For `number` indicators the latest figures are summed by unit (women and men over the figures
that give them); for percentages and yes/no indicators, the row counts how many have reached their
target out of how many have a figure. Qualitative indicators have no figure.

The total row counts every project, result and indicator once, even when it carries several codes.

Other sources join as extra columns: a `Column` in `COLUMNS` computes one value per code, and one
for the total, from the same projects, in a fixed number of queries of its own; the page and the
CSV file show every column of `COLUMNS`. Two are defined here:

* harvested outcomes: an outcome statement linked to a result counts under that result's codes and
  its project's own tags; one linked to no result, under every code its project counts under;
* chosen change stories: a story chosen by a selection round, at any level, counts under every code
  its project counts under (a story is linked to no result). Only the number is given: the stories themselves
  are read on their project's pages, by those the consent of each allows.

The whole roll-up runs a fixed number of queries whatever the number of projects and codes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from mel_app import figures
from mel_app.extensions import db
from mel_app.kit.cells import csv_safe
from mel_app.models import (
    ChangeStory,
    Indicator,
    Measure,
    OutcomeStatement,
    Project,
    ProjectTag,
    ReportingPeriod,
    Result,
    ResultTag,
    TagScheme,
)
from mel_app.numbers import format_number
from mel_app.projects import ilo_terms
from mel_app.projects.services import latest_progress, where_country_and_constituency

TOTAL = ""  # the code of the total row


@dataclass(frozen=True)
class Filters:
    scheme: TagScheme = TagScheme.pb
    country: str = ""
    constituency: str = ""


@dataclass
class Amount:
    """The latest figures of `number` indicators of one unit, added up."""

    unit: str
    value: Decimal = Decimal(0)
    women: Decimal | None = None
    men: Decimal | None = None
    indicators: int = 0
    split_of: Decimal = Decimal(0)  # the part of `value` whose figures give women and men

    @property
    def partly_split(self) -> bool:
        return (self.women is not None or self.men is not None) and self.split_of != self.value

    def add(self, latest: figures.Figure) -> None:
        self.indicators += 1
        self.value += latest.value or 0
        if latest.women is not None or latest.men is not None:
            self.split_of += latest.value or 0
        if latest.women is not None:
            self.women = (self.women or Decimal(0)) + latest.women
        if latest.men is not None:
            self.men = (self.men or Decimal(0)) + latest.men


@dataclass
class Row:
    code: str  # TOTAL for the total row
    label: str
    projects: set[int] = field(default_factory=set)
    results: set[int] = field(default_factory=set)
    indicators: dict[int, tuple[Indicator, figures.Progress]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # a value per key of COLUMNS

    @property
    def is_total(self) -> bool:
        return self.code == TOTAL

    @property
    def amounts(self) -> list[Amount]:
        """The latest figures of the number indicators, summed by unit (units in order)."""
        by_unit: dict[str, Amount] = {}
        for indicator, progress in self.indicators.values():
            latest = progress.latest
            if indicator.measure is not Measure.number or latest is None:
                continue
            unit = (indicator.unit or "").strip()
            by_unit.setdefault(unit, Amount(unit)).add(latest)
        return [by_unit[u] for u in sorted(by_unit, key=str.casefold)]

    @property
    def with_figure(self) -> int:
        """Indicators other than numbers that have a figure."""
        return sum(
            1
            for indicator, progress in self.indicators.values()
            if indicator.measure in (Measure.percentage, Measure.yes_no) and progress.latest is not None
        )

    @property
    def at_target(self) -> int:
        """Of those, how many have reached their target."""
        return sum(
            1
            for indicator, progress in self.indicators.values()
            if indicator.measure in (Measure.percentage, Measure.yes_no)
            and progress.latest is not None
            and progress.achieved
        )


@dataclass(frozen=True)
class Column:
    """A column another source adds to the roll-up: `compute(scheme, project_ids)` returns a value
    per code (TOTAL for the total row), in a fixed number of queries."""

    key: str
    heading: Any
    compute: Callable[[TagScheme, sa.Select[tuple[int]]], dict[str, Any]]


COLUMNS: list[Column] = []


@dataclass
class Rollup:
    scheme: TagScheme
    rows: list[Row]
    total: Row
    columns: list[Column]

    @property
    def most_projects(self) -> int:
        return max((len(r.projects) for r in self.rows), default=0)


def project_ids(visible: sa.Select[tuple[int]], filters: Filters) -> sa.Select[tuple[int]]:
    """The projects of the roll-up: those the user may see, of the country and constituency."""
    query = sa.select(Project.id).where(Project.id.in_(visible))
    return where_country_and_constituency(query, filters.country, filters.constituency)


def _order(scheme: TagScheme, codes: Iterable[str]) -> list[str]:
    codes = set(codes)
    if scheme is TagScheme.pb:
        catalogue = list(ilo_terms.PB_OUTCOMES)
    elif scheme is TagScheme.sdg:
        catalogue = list(ilo_terms.SDG_TARGETS)
    else:
        catalogue = []
    known = [c for c in catalogue if c in codes]
    return known + sorted(codes - set(known))


def rollup(visible: sa.Select[tuple[int]], filters: Filters) -> Rollup:
    """The roll-up of the projects among `visible` that pass `filters`, in six queries."""
    scheme = filters.scheme
    ids = project_ids(visible, filters)
    tagged_projects = db.session.execute(
        sa.select(ProjectTag.code, ProjectTag.project_id).where(
            ProjectTag.scheme == scheme, ProjectTag.project_id.in_(ids)
        )
    ).all()
    tagged_results = db.session.execute(
        sa.select(ResultTag.code, Result.id, Result.project_id)
        .join(Result, Result.id == ResultTag.result_id)
        .where(ResultTag.scheme == scheme, Result.project_id.in_(ids), ~Result.is_archived)
    ).all()
    result_ids = {result_id for _code, result_id, _project in tagged_results}
    indicators: list[Indicator] = []
    periods: list[ReportingPeriod] = []
    found: dict[int, figures.Progress] = {}
    if result_ids:
        indicators = list(
            db.session.scalars(
                sa.select(Indicator)
                .where(Indicator.result_id.in_(result_ids), ~Indicator.is_archived)
                .order_by(Indicator.id)
            )
        )
        with_indicators = sorted({i.project_id for i in indicators})
        if with_indicators:
            periods = list(
                db.session.scalars(
                    sa.select(ReportingPeriod).where(ReportingPeriod.project_id.in_(with_indicators))
                )
            )
            found = latest_progress(with_indicators, indicators, periods)
    by_result: dict[int, list[Indicator]] = defaultdict(list)
    for indicator in indicators:
        by_result[indicator.result_id].append(indicator)

    rows: dict[str, Row] = {}

    def row(code: str) -> Row:
        if code not in rows:
            rows[code] = Row(code, ilo_terms.label(scheme, code))
        return rows[code]

    total = Row(TOTAL, "")
    for code, project_id in tagged_projects:
        row(code).projects.add(project_id)
        total.projects.add(project_id)
    for code, result_id, project_id in tagged_results:
        for target in (row(code), total):
            target.projects.add(project_id)
            target.results.add(result_id)
            for indicator in by_result.get(result_id, ()):
                target.indicators[indicator.id] = (indicator, found[indicator.id])

    ordered = [rows[c] for c in _order(scheme, rows)]
    for column in COLUMNS:
        values = column.compute(scheme, ids)
        for r in [*ordered, total]:
            r.extra[column.key] = values.get(r.code)
    return Rollup(scheme=scheme, rows=ordered, total=total, columns=list(COLUMNS))


def _counts(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Distinct ids per code, and over all codes for the total row."""
    by_code: dict[str, set[int]] = defaultdict(set)
    for code, item in pairs:
        by_code[code].add(item)
        by_code[TOTAL].add(item)
    return {code: len(items) for code, items in by_code.items()}


def _project_codes(scheme: TagScheme, ids: sa.Select[tuple[int]]) -> sa.Subquery:
    """(code, project_id): every code a project counts under, by its own tags and its results'."""
    return sa.union(
        sa.select(ProjectTag.code, ProjectTag.project_id).where(
            ProjectTag.scheme == scheme, ProjectTag.project_id.in_(ids)
        ),
        sa.select(ResultTag.code, Result.project_id)
        .join(Result, Result.id == ResultTag.result_id)
        .where(ResultTag.scheme == scheme, Result.project_id.in_(ids), ~Result.is_archived),
    ).subquery()


def outcome_counts(scheme: TagScheme, ids: sa.Select[tuple[int]]) -> dict[str, int]:
    """Outcome statements under each code (one query): a statement linked to a result counts under
    that result's codes and its project's own; one linked to none, under every code of its project."""
    whole_project = (
        sa.select(ProjectTag.code, OutcomeStatement.id)
        .join(OutcomeStatement, OutcomeStatement.project_id == ProjectTag.project_id)
        .where(ProjectTag.scheme == scheme, ProjectTag.project_id.in_(ids))
    )
    by_result = (
        sa.select(ResultTag.code, OutcomeStatement.id)
        .join(Result, Result.id == ResultTag.result_id)
        .join(OutcomeStatement, OutcomeStatement.result_id == Result.id)
        .where(ResultTag.scheme == scheme, Result.project_id.in_(ids), ~Result.is_archived)
    )
    codes = _project_codes(scheme, ids)
    unlinked = (
        sa.select(codes.c.code, OutcomeStatement.id)
        .join(OutcomeStatement, OutcomeStatement.project_id == codes.c.project_id)
        .where(OutcomeStatement.result_id.is_(None))
    )
    return _counts(db.session.execute(sa.union(whole_project, by_result, unlinked)).tuples())


def chosen_story_counts(scheme: TagScheme, ids: sa.Select[tuple[int]]) -> dict[str, int]:
    """Change stories chosen by a selection round, under every code of their project (one query)."""
    codes = _project_codes(scheme, ids)
    rows = db.session.execute(
        sa.select(codes.c.code, ChangeStory.id)
        .join(ChangeStory, ChangeStory.project_id == codes.c.project_id)
        .where(ChangeStory.chosen_at.is_not(None))
    ).tuples()
    return _counts(rows)


COLUMNS.extend(
    [
        Column("outcomes", _l("Outcome statements"), outcome_counts),
        Column("chosen_stories", _l("Change stories chosen"), chosen_story_counts),
    ]
)


SCHEME_HEADINGS = {
    TagScheme.dwcp: _l("DWCP outcome"),
    TagScheme.pb: _l("P&B outcome"),
    TagScheme.sdg: _l("SDG target"),
}


# --- the CSV file ------------------------------------------------------------------------------


def csv_lines(result: Rollup) -> list[list[Any]]:
    """The table as the CSV file gives it: one line per code and unit of its number figures (the
    counts on the code's first line only, so that a column adds up), then the total."""
    heading = [
        _("Scheme"),
        _("Code"),
        _("Label"),
        _("Projects"),
        _("Results"),
        _("Unit"),
        _("Sum of the latest figures"),
        _("Women"),
        _("Men"),
        _("Indicators at target"),
        _("Indicators with a figure"),
        *[str(c.heading) for c in result.columns],
    ]
    lines: list[list[Any]] = [heading]
    for row in [*result.rows, result.total]:
        code = _("Total") if row.is_total else row.code
        label = "" if row.is_total else row.label
        counts = [
            len(row.projects),
            len(row.results),
        ]
        tail = [row.at_target, row.with_figure, *[row.extra.get(c.key, "") for c in result.columns]]
        amounts = row.amounts or [None]
        for index, amount in enumerate(amounts):
            first = index == 0
            figures_cells = (
                ["", "", "", ""] if amount is None else [amount.unit, amount.value, amount.women, amount.men]
            )
            lines.append(
                [
                    result.scheme.value,
                    code,
                    label,
                    *(counts if first else ["", ""]),
                    *figures_cells,
                    *(tail if first else [""] * len(tail)),
                ]
            )
    return lines


def to_csv(result: Rollup) -> bytes:
    """UTF-8 with a byte order mark (for Excel), numbers the user's way, no cell a formula."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for line in csv_lines(result):
        cells = []
        for value in line:
            if isinstance(value, Decimal):
                value = format_number(value, grouped=False)
            elif value is None:
                value = ""
            elif isinstance(value, str):
                value = csv_safe(value)
            cells.append(value)
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- the chart ---------------------------------------------------------------------------------

BAR_LEFT, BAR_WIDTH, BAR_HEIGHT, BAR_GAP = 72, 240, 16, 6


@dataclass(frozen=True)
class Bar:
    y: int
    width: float
    code: str
    count: int


@dataclass
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    left: int = BAR_LEFT
    description: str = ""


def projects_chart(result: Rollup) -> BarChart | None:
    """Projects per code as horizontal bars; the description says every bar in words."""
    if not result.rows:
        return None
    most = result.most_projects or 1
    bars = [
        Bar(
            y=i * (BAR_HEIGHT + BAR_GAP),
            width=round(BAR_WIDTH * len(row.projects) / most, 1),
            code=row.code,
            count=len(row.projects),
        )
        for i, row in enumerate(result.rows)
    ]
    return BarChart(
        bars=bars,
        width=BAR_LEFT + BAR_WIDTH + 40,
        height=len(bars) * (BAR_HEIGHT + BAR_GAP),
        description="; ".join(
            ngettext(
                "%(code)s: %(num)d project", "%(code)s: %(num)d projects", len(row.projects), code=row.code
            )
            for row in result.rows
        ),
    )
