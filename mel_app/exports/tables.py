"""The tables of an export: their columns (the data dictionary) and their rows.

Each table is one SQLAlchemy Core query, filtered by the reader's `ExportContext`, streamed from the
database in batches (`yield_per`, a server-side cursor on PostgreSQL) and, where a table needs it,
shaped in Python one batch or one group at a time — never the whole table in memory. Rows are typed:
numbers are `Decimal`/`int`/`float`, dates are `date`/`datetime`, flags are `bool`; the writers
decide how each type is spelled in their format.
"""

from __future__ import annotations

import enum
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from mel_app import figures
from mel_app.evaluations import stats
from mel_app.exports.scope import ExportContext
from mel_app.models import (
    NARRATIVE_SECTIONS,
    ChangeStory,
    Criterion,
    DesignInputItem,
    Evaluation,
    Indicator,
    IndicatorValue,
    Measure,
    Organisation,
    OutcomeContributor,
    OutcomeStatement,
    OutcomeSubstantiation,
    Partner,
    Project,
    ProjectCountry,
    ProjectTag,
    Recommendation,
    ReportingPeriod,
    Result,
    ResultTag,
    ScalePoint,
    Score,
    Scorecard,
    ScorerGroup,
    StoryDomain,
    Submission,
    SubmissionKind,
    User,
)
from mel_app.projects import ilo_terms

# Rows fetched from the database per round trip, and handed to a writer at once.
BATCH_SIZE = 2000

Batch = Sequence[Sequence[Any]]


class Kind(enum.StrEnum):
    text = "text"
    long_text = "long_text"
    integer = "integer"
    decimal = "decimal"
    ratio = "ratio"
    number = "number"
    date = "date"
    datetime = "datetime"
    boolean = "boolean"


# How each kind is named in the data dictionary, and its default column width in a spreadsheet.
KIND_NAMES = {
    Kind.text: "text",
    Kind.long_text: "text",
    Kind.integer: "integer",
    Kind.decimal: "decimal",
    Kind.ratio: "decimal (1 = 100%)",
    Kind.number: "decimal",
    Kind.date: "date (YYYY-MM-DD)",
    Kind.datetime: "date and time (UTC)",
    Kind.boolean: "true/false",
}
KIND_WIDTHS = {
    Kind.text: 22,
    Kind.long_text: 60,
    Kind.integer: 10,
    Kind.decimal: 13,
    Kind.ratio: 11,
    Kind.number: 10,
    Kind.date: 12,
    Kind.datetime: 20,
    Kind.boolean: 9,
}


@dataclass(frozen=True)
class Column:
    key: str
    kind: Kind
    description: Any  # a lazy string: translated when the export is written

    @property
    def width(self) -> int:
        return max(KIND_WIDTHS[self.kind], len(self.key) + 2)


@dataclass(frozen=True)
class Table:
    name: str  # file name in the ZIP, key in the JSON document
    title: Any  # sheet name (lazy; at most 31 characters)
    description: Any
    columns: tuple[Column, ...]
    query: Callable[[ExportContext], sa.Select]
    shape: Callable[[ExportContext, Connection, Iterator[Batch]], Iterator[Batch]] | None = None
    counter: Callable[[ExportContext], sa.Select] | None = None
    # The shape only appends columns of inert text and leaves the query's cells as they are, so an
    # XLSX file may still take the rows as the database gives them (`ExportContext.excel_cells`).
    shape_keeps_cells: bool = False

    def batches(self, conn: Connection, ctx: ExportContext) -> Iterator[Batch]:
        stream = stream_batches(conn, self.query(ctx))
        return self.shape(ctx, conn, stream) if self.shape else stream

    def count(self, conn: Connection, ctx: ExportContext) -> int:
        stmt = self.counter(ctx) if self.counter else count_of(self.query(ctx))
        return int(conn.scalar(stmt) or 0)


def stream_batches(
    conn: Connection, stmt: sa.Select, batch_size: int | None = None, *, named: bool = False
) -> Iterator[Batch]:
    """The rows of a query in batches, never the whole result in memory.

    On PostgreSQL with psycopg, the query runs as one ordinary statement whose rows arrive in chunks
    (libpq's chunked-rows mode): unlike a cursor, it may use parallel workers and needs no FETCH
    round trips, and the values come typed by the driver (Decimal, datetime in the connection's UTC,
    date, bool, dict for JSON). Elsewhere, SQLAlchemy's `yield_per` streaming. `named` rows allow
    access by column label.
    """
    size = batch_size or BATCH_SIZE
    if conn.dialect.driver == "psycopg":
        yield from _psycopg_batches(conn, stmt, size, named=named)
        return
    result = conn.execution_options(stream_results=True, yield_per=size).execute(stmt)
    try:
        yield from result.partitions()
    finally:
        result.close()


def _psycopg_batches(conn: Connection, stmt: sa.Select, size: int, *, named: bool) -> Iterator[Batch]:
    from psycopg.rows import namedtuple_row, tuple_row

    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = {
        key: value.value if isinstance(value, enum.Enum) else value
        for key, value in compiled.construct_params().items()
    }
    # The SQLAlchemy connection's own DBAPI connection: the same transaction and snapshot.
    cursor = conn.connection.driver_connection.cursor(row_factory=namedtuple_row if named else tuple_row)
    rows = cursor.stream(compiled.string, params, size=size)
    try:
        while batch := list(itertools.islice(rows, size)):
            yield batch
    finally:
        rows.close()
        cursor.close()


def count_of(stmt: sa.Select) -> sa.Select:
    """SELECT count(*) with the same FROM and WHERE as a table's query."""
    return stmt.with_only_columns(sa.func.count(), maintain_column_froms=False).order_by(None)


def _e(column: Any) -> Any:
    """An enumeration column read as its plain value: no per-row conversion to the Python enum."""
    return sa.type_coerce(column, sa.String)


def _ts(column: Any) -> Any:
    """A timestamp read as the driver gives it (UTC: the export's connection is set to UTC), without
    the per-row work of the models' timezone type. On SQLite it comes back naive, in UTC."""
    return sa.type_coerce(column, sa.DateTime(timezone=True))


def _c(key: str, kind: Kind, description: Any) -> Column:
    return Column(key, kind, description)


T, LT, INT, DEC, DATE, DT, BOOL = (
    Kind.text,
    Kind.long_text,
    Kind.integer,
    Kind.decimal,
    Kind.date,
    Kind.datetime,
    Kind.boolean,
)

# Columns shared by several tables.
PROJECT_REFERENCE = _c("project_reference", T, _l("ILO reference of the project, e.g. RAF/22/11/NOR."))
ORGANISATION = (
    _c("organisation", T, _l("The reporting organisation.")),
    _c("organisation_acronym", T, _l("Its acronym.")),
    _c("constituency", T, _l("Its constituency: workers, employers, government, ilo, donor or other.")),
    _c("country", T, _l("Its country (ISO 3166-1 alpha-2).")),
)
PERIOD = (
    _c("period", T, _l("Label of the reporting period.")),
    _c("period_start", DATE, _l("First day of the reporting period.")),
    _c("period_end", DATE, _l("Last day of the reporting period.")),
)
# The ILO's terms a project or a result serves, codes separated by commas.
ILO_TAGS = (
    _c("dwcp_outcomes", T, _l("Decent Work Country Programme outcomes it serves, e.g. KEN 101.")),
    _c("pb_outcomes", T, _l("ILO Programme and Budget 2024-25 outcomes it serves, 1 to 8.")),
    _c("sdg_targets", T, _l("SDG targets it serves, e.g. 8.8.")),
)


def _tag_cells(rows: Iterable[Any]) -> tuple[str, str, str]:
    tags = ilo_terms.Tags.of(rows)
    return ", ".join(tags.dwcp), ", ".join(tags.pb), ", ".join(tags.sdg)


NO_TAGS = ("", "", "")


REVIEW = (
    _c("status", T, _l("Status of the report: approved, or submitted/returned when every status was asked.")),
    _c("submitted_at", DT, _l("When the report was last submitted.")),
    _c("approved_at", DT, _l("When the ILO approved the report.")),
    _c("approved_by", T, _l("Who approved it.")),
)


# --- Projects ---------------------------------------------------------------------------------

PROJECT_COLUMNS = (
    _c("project_id", INT, _l("Identifier of the project in this application.")),
    _c("reference", T, _l("ILO reference: region or country / year / serial / donor.")),
    _c("title", LT, _l("Title of the project.")),
    _c("donor", T, _l("Donor.")),
    _c("funding_modality", T, _l("XBDC, RBSA or RBTC.")),
    _c("phase", T, _l("design, implementation or closed.")),
    _c("countries", T, _l("Countries of the project (ISO 3166-1 alpha-2), separated by commas.")),
    _c("partners", LT, _l("Partner organisations, separated by semicolons.")),
    _c("start_date", DATE, _l("Start of the project.")),
    _c("end_date", DATE, _l("End of the project.")),
    _c("framework_approved", BOOL, _l("Whether the results framework has been approved.")),
    _c("summary", LT, _l("Summary of the project.")),
    *ILO_TAGS,
)


def _projects_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    return (
        sa.select(
            Project.id,
            Project.reference,
            t(Project.title),
            t(Project.donor),
            _e(Project.funding_modality),
            _e(Project.phase),
            Project.start_date,
            Project.end_date,
            Project.framework_approved,
            t(Project.summary),
        )
        .select_from(Project)
        .where(ctx.projects(Project.id))
        .order_by(Project.reference)
    )


def _projects_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    # Countries and partners of the projects in scope: a few rows per project, read before the stream.
    countries: dict[int, list[str]] = defaultdict(list)
    for project_id, country in conn.execute(
        sa.select(ProjectCountry.project_id, ProjectCountry.country)
        .where(ctx.projects(ProjectCountry.project_id))
        .order_by(ProjectCountry.project_id, ProjectCountry.country)
    ):
        countries[project_id].append(country)
    partners: dict[int, list[str]] = defaultdict(list)
    for project_id, name in conn.execute(
        sa.select(Partner.project_id, Organisation.name)
        .join(Organisation, Organisation.id == Partner.organisation_id)
        .where(ctx.projects(Partner.project_id))
        .order_by(Partner.project_id, Organisation.name)
    ):
        partners[project_id].append(name)
    tag_rows: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(
        sa.select(ProjectTag.project_id, ProjectTag.scheme, ProjectTag.code).where(
            ctx.projects(ProjectTag.project_id)
        )
    ):
        tag_rows[row.project_id].append(row)
    tags = {project_id: _tag_cells(rows) for project_id, rows in tag_rows.items()}
    for batch in stream:
        yield [
            (
                pid,
                ref,
                title,
                donor,
                modality,
                phase,
                ", ".join(countries.get(pid, ())),
                ctx.py_text("; ".join(partners.get(pid, ()))),
                start,
                end,
                approved,
                summary,
                *tags.get(pid, NO_TAGS),
            )
            for pid, ref, title, donor, modality, phase, start, end, approved, summary in batch
        ]


# --- Results framework ------------------------------------------------------------------------

FRAMEWORK_COLUMNS = (
    PROJECT_REFERENCE,
    _c("result_id", INT, _l("Identifier of the result.")),
    _c("result_code", T, _l("Code of the result in the framework, e.g. 1 or 1.2.")),
    _c("result_type", T, _l("impact, outcome or output.")),
    _c("result_title", LT, _l("Title of the result.")),
    _c("parent_result_code", T, _l("Code of the result it contributes to.")),
    _c("indicator_id", INT, _l("Identifier of the indicator (empty for a result without indicators).")),
    _c("indicator_code", T, _l("Code of the indicator.")),
    _c("indicator_title", LT, _l("Title of the indicator.")),
    _c("measure", T, _l("number, percentage, yes_no or qualitative.")),
    _c("unit", T, _l("Unit of the values.")),
    _c("ascending", BOOL, _l("True when a higher value is better.")),
    _c("baseline_value", DEC, _l("Baseline value.")),
    _c("baseline_date", DATE, _l("Date of the baseline.")),
    _c("baseline_comment", LT, _l("Comment on the baseline.")),
    _c("target_value", DEC, _l("Target value.")),
    _c("target_date", DATE, _l("Date by which the target is to be reached.")),
    _c("target_comment", LT, _l("Comment on the target.")),
    _c("disaggregated_by_sex", BOOL, _l("Whether values are reported for women and men.")),
    _c("means_of_verification", LT, _l("Means of verification.")),
    _c("responsible_organisation", T, _l("Organisation responsible for the indicator.")),
    _c("archived", BOOL, _l("True when the result or indicator was removed from the framework.")),
    *ILO_TAGS,
)


def _framework_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    parent = aliased(Result)
    responsible = aliased(Organisation)
    return (
        sa.select(
            Project.reference,
            Result.id,
            t(Result.code),
            _e(Result.type),
            t(Result.title),
            t(parent.code),
            Indicator.id,
            t(Indicator.code),
            t(Indicator.title),
            _e(Indicator.measure),
            t(Indicator.unit),
            ctx.flag(Indicator.ascending),
            ctx.number(Indicator.baseline_value),
            ctx.day(Indicator.baseline_date),
            t(Indicator.baseline_comment),
            ctx.number(Indicator.target_value),
            ctx.day(Indicator.target_date),
            t(Indicator.target_comment),
            ctx.flag(Indicator.disaggregate_by_sex),
            t(Indicator.means_of_verification),
            t(responsible.name),
            ctx.flag(sa.or_(Result.is_archived, sa.func.coalesce(Indicator.is_archived, False))),
        )
        .select_from(Result)
        .join(Project, Project.id == Result.project_id)
        .outerjoin(parent, parent.id == Result.parent_id)
        .outerjoin(Indicator, Indicator.result_id == Result.id)
        .outerjoin(responsible, responsible.id == Indicator.responsible_organisation_id)
        .where(ctx.projects(Result.project_id))
        .order_by(Project.reference, Result.position, Result.code, Indicator.position, Indicator.code)
    )


def _framework_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    # The results' ILO tags: a few rows per result, read before the stream. Their codes are checked
    # against the catalogue (letters, digits, dots, spaces), so they need no formula guard.
    tag_rows: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(
        sa.select(ResultTag.result_id, ResultTag.scheme, ResultTag.code)
        .join(Result, Result.id == ResultTag.result_id)
        .where(ctx.projects(Result.project_id))
    ):
        tag_rows[row.result_id].append(row)
    tags = {result_id: _tag_cells(rows) for result_id, rows in tag_rows.items()}
    for batch in stream:
        yield [(*row, *tags.get(row[1], NO_TAGS)) for row in batch]


# --- Indicator values (long format) -----------------------------------------------------------

VALUE_COLUMNS = (
    _c("value_id", INT, _l("Identifier of the reported value.")),
    _c("submission_id", INT, _l("Identifier of the progress report it belongs to.")),
    PROJECT_REFERENCE,
    _c("result_code", T, _l("Code of the result.")),
    _c("indicator_code", T, _l("Code of the indicator.")),
    _c("indicator_title", LT, _l("Title of the indicator.")),
    _c("measure", T, _l("number, percentage, yes_no or qualitative.")),
    _c("unit", T, _l("Unit of the value.")),
    *PERIOD,
    *ORGANISATION,
    _c("value", DEC, _l("Value reported (total; 1 = yes and 0 = no for yes/no indicators).")),
    _c("women", DEC, _l("Of which women.")),
    _c("men", DEC, _l("Of which men.")),
    _c("text_value", LT, _l("Answer of a qualitative indicator.")),
    _c("not_reported", BOOL, _l("True when the organisation said it could not report this value.")),
    _c("comment", LT, _l("The organisation's comment on the value.")),
    *REVIEW,
)


def _values_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    approver = aliased(User)
    return (
        sa.select(
            IndicatorValue.id,
            Submission.id,
            Project.reference,
            t(Result.code),
            t(Indicator.code),
            t(Indicator.title),
            _e(Indicator.measure),
            t(Indicator.unit),
            t(ReportingPeriod.label),
            ctx.day(ReportingPeriod.start_date),
            ctx.day(ReportingPeriod.end_date),
            t(Organisation.name),
            t(Organisation.acronym),
            _e(Organisation.group),
            Organisation.country,
            ctx.number(IndicatorValue.value),
            ctx.number(IndicatorValue.women),
            ctx.number(IndicatorValue.men),
            t(IndicatorValue.text_value),
            ctx.flag(IndicatorValue.not_reported),
            t(IndicatorValue.comment),
            _e(Submission.status),
            ctx.when(Submission.submitted_at),
            ctx.when(Submission.approved_at),
            t(approver.full_name),
        )
        .select_from(IndicatorValue)
        .join(Submission, Submission.id == IndicatorValue.submission_id)
        .join(Project, Project.id == Submission.project_id)
        .join(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
        .join(Result, Result.id == Indicator.result_id)
        .outerjoin(approver, approver.id == Submission.approved_by_id)
        .where(
            Submission.kind == SubmissionKind.progress_report,
            ctx.submissions(),
            ctx.periods(),
        )
        .order_by(
            Project.reference,
            ReportingPeriod.start_date,
            Result.position,
            Indicator.position,
            Indicator.id,
            Organisation.name,
            IndicatorValue.id,
        )
    )


# --- Progress vs target -----------------------------------------------------------------------

AGGREGATION_COLUMN = _c(
    "aggregation",
    T,
    _l(
        "How the organisations' values of a period make the actual: sum, mean, responsible (the "
        "responsible organisation's value alone), all_yes, any_yes, or listed (qualitative)."
    ),
)
REPORTS_COLUMN = _c(
    "reports",
    INT,
    _l(
        "Number of organisations' reports the actual is computed from (for qualitative indicators, "
        "the answers given). Each is in the Indicator values table."
    ),
)
ACTUAL_COLUMNS = (
    _c(
        "actual",
        DEC,
        _l("The project's figure, by the indicator's aggregation; empty for qualitative indicators."),
    ),
    _c("women", DEC, _l("Of which women, when every report counted gives them.")),
    _c("men", DEC, _l("Of which men, when every report counted gives them.")),
)
SHARE_COLUMN = _c(
    "progress_share",
    Kind.ratio,
    _l(
        "(actual − baseline) ÷ (target − baseline): 1 means the target is reached. Empty without a "
        "baseline, target or actual; yes/no: 1 when the actual equals the target, else 0."
    ),
)

PROGRESS_COLUMNS = (
    PROJECT_REFERENCE,
    _c("result_code", T, _l("Code of the result.")),
    _c("indicator_id", INT, _l("Identifier of the indicator.")),
    _c("indicator_code", T, _l("Code of the indicator.")),
    _c("indicator_title", LT, _l("Title of the indicator.")),
    _c("measure", T, _l("number, percentage, yes_no or qualitative.")),
    AGGREGATION_COLUMN,
    _c("unit", T, _l("Unit of the values.")),
    _c("ascending", BOOL, _l("True when a higher value is better.")),
    _c("baseline_value", DEC, _l("Baseline value.")),
    _c("baseline_date", DATE, _l("Date of the baseline.")),
    _c("latest_period", T, _l("The latest reporting period with an actual in the export's scope.")),
    _c("latest_period_end", DATE, _l("Last day of that period.")),
    REPORTS_COLUMN,
    _c("latest_actual", DEC, _l("Actual of that period: see the Actuals by period table.")),
    _c("latest_women", DEC, _l("Of which women, when every report counted gives them.")),
    _c("latest_men", DEC, _l("Of which men, when every report counted gives them.")),
    _c("target_value", DEC, _l("Target value.")),
    _c("target_date", DATE, _l("Date by which the target is to be reached.")),
    SHARE_COLUMN,
)

PERIOD_FIGURE_COLUMNS = (
    PROJECT_REFERENCE,
    _c("result_code", T, _l("Code of the result.")),
    _c("indicator_id", INT, _l("Identifier of the indicator.")),
    _c("indicator_code", T, _l("Code of the indicator.")),
    _c("measure", T, _l("number, percentage, yes_no or qualitative.")),
    AGGREGATION_COLUMN,
    *PERIOD,
    REPORTS_COLUMN,
    *ACTUAL_COLUMNS,
    _c("baseline_value", DEC, _l("Baseline value.")),
    _c("target_value", DEC, _l("Target value.")),
    SHARE_COLUMN,
)


def reported_values(ctx: ExportContext) -> sa.CTE:
    """Values in scope that say something (reported, with a number or an answer), with their period."""
    return (
        sa.select(
            IndicatorValue.indicator_id.label("indicator_id"),
            ReportingPeriod.id.label("period_id"),
            ReportingPeriod.label.label("period_label"),
            ReportingPeriod.start_date.label("start_date"),
            ReportingPeriod.end_date.label("end_date"),
            IndicatorValue.value.label("value"),
            IndicatorValue.women.label("women"),
            IndicatorValue.men.label("men"),
            IndicatorValue.text_value.label("text_value"),
            Organisation.name.label("organisation"),
            Organisation.id.label("organisation_id"),
        )
        .select_from(IndicatorValue)
        .join(Submission, Submission.id == IndicatorValue.submission_id)
        .join(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .where(
            Submission.kind == SubmissionKind.progress_report,
            ctx.submissions(),
            ctx.periods(),
            sa.not_(IndicatorValue.not_reported),
            sa.or_(IndicatorValue.value.is_not(None), IndicatorValue.text_value != ""),
        )
        .cte("reported_values")
    )


def figure_reports(rows: Iterable[Any]) -> tuple[list[figures.Report], list[figures.Period]]:
    """The reports and periods of one indicator from rows of `reported_values` (named columns;
    rows without a period stand for an indicator without values and are skipped)."""
    reports: list[figures.Report] = []
    periods: dict[int, figures.Period] = {}
    for r in rows:
        if r.period_id is None:
            continue
        periods.setdefault(r.period_id, figures.Period(r.period_id, r.period_label, r.start_date, r.end_date))
        reports.append(
            figures.Report(r.period_id, r.organisation_id, r.value, r.women, r.men, r.organisation or "")
        )
    return reports, list(periods.values())


def _tracked_indicators(ctx: ExportContext) -> sa.Select:
    return (
        sa.select(Indicator.id)
        .select_from(Indicator)
        .join(Result, Result.id == Indicator.result_id)
        .join(Project, Project.id == Indicator.project_id)
        .where(
            ctx.projects(Indicator.project_id), sa.not_(Indicator.is_archived), sa.not_(Result.is_archived)
        )
    )


def _figures_query(ctx: ExportContext) -> sa.Select:
    """Every indicator in use with every value in scope, one indicator after the other."""
    t = ctx.text
    values = reported_values(ctx)
    return (
        _tracked_indicators(ctx)
        .with_only_columns(
            Project.reference.label("reference"),
            t(Result.code).label("result_code"),
            Indicator.id.label("indicator_id"),
            t(Indicator.code).label("indicator_code"),
            t(Indicator.title).label("indicator_title"),
            _e(Indicator.measure).label("measure"),
            _e(Indicator.aggregation).label("aggregation"),
            t(Indicator.unit).label("unit"),
            Indicator.ascending.label("ascending"),
            Indicator.baseline_value.label("baseline_value"),
            Indicator.baseline_date.label("baseline_date"),
            Indicator.target_value.label("target_value"),
            Indicator.target_date.label("target_date"),
            Indicator.responsible_organisation_id.label("responsible_organisation_id"),
            values.c.period_id,
            t(values.c.period_label).label("period_label"),
            values.c.start_date,
            values.c.end_date,
            values.c.organisation_id,
            values.c.organisation,
            values.c.value,
            values.c.women,
            values.c.men,
            maintain_column_froms=False,
        )
        .outerjoin(values, values.c.indicator_id == Indicator.id)
        .order_by(
            Project.reference,
            Result.position,
            Result.code,
            Indicator.position,
            Indicator.code,
            Indicator.id,
            values.c.start_date,
            values.c.period_id,
        )
    )


def _indicator_progress(ctx: ExportContext, conn: Connection) -> Iterator[tuple[Any, figures.Progress]]:
    """(first row, progress) for each indicator in use, computed by `mel_app.figures`."""
    rows = itertools.chain.from_iterable(stream_batches(conn, _figures_query(ctx), named=True))
    for _indicator_id, group in itertools.groupby(rows, key=lambda r: r.indicator_id):
        group_rows = list(group)
        reports, periods = figure_reports(group_rows)
        yield group_rows[0], figures.progress(figures.Rule.of(group_rows[0]), reports, periods)


def _batched(rows: Iterable[tuple]) -> Iterator[Batch]:
    out: list[tuple] = []
    for row in rows:
        out.append(row)
        if len(out) >= BATCH_SIZE:
            yield out
            out = []
    if out:
        yield out


def _progress_rows(ctx: ExportContext, conn: Connection) -> Iterator[tuple]:
    for r, found in _indicator_progress(ctx, conn):
        if found.measure is Measure.qualitative:
            # No figure: the latest period with answers, and how many organisations gave one.
            latest = found.figures[-1] if found.figures else None
            counted = len(latest.reports) if latest else 0
        else:
            latest = found.latest
            counted = latest.count if latest else 0
        yield (
            r.reference,
            r.result_code,
            r.indicator_id,
            r.indicator_code,
            r.indicator_title,
            r.measure,
            r.aggregation,
            r.unit,
            r.ascending,
            r.baseline_value,
            r.baseline_date,
            latest.label if latest else None,
            latest.end_date if latest else None,
            counted,
            latest.value if latest else None,
            latest.women if latest else None,
            latest.men if latest else None,
            r.target_value,
            r.target_date,
            found.share,
        )


def _period_figure_rows(ctx: ExportContext, conn: Connection) -> Iterator[tuple]:
    for r, found in _indicator_progress(ctx, conn):
        for f in found.figures:
            counted = len(f.reports) if found.measure is Measure.qualitative else f.count
            yield (
                r.reference,
                r.result_code,
                r.indicator_id,
                r.indicator_code,
                r.measure,
                r.aggregation,
                f.label,
                f.period.start_date,
                f.period.end_date,
                counted,
                f.value,
                f.women,
                f.men,
                r.baseline_value,
                r.target_value,
                f.share,
            )


def _progress_query(ctx: ExportContext) -> sa.Select:
    # The rows come from `_figures_query` in the shape step, which needs every period of an
    # indicator at once; this query is never run (its stream is a generator nobody starts).
    return _tracked_indicators(ctx)


def _progress_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    del stream  # see _progress_query
    yield from _batched(_progress_rows(ctx, conn))


def _period_figures_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    del stream  # see _progress_query
    yield from _batched(_period_figure_rows(ctx, conn))


def _period_figures_counter(ctx: ExportContext) -> sa.Select:
    values = reported_values(ctx)
    pairs = (
        _tracked_indicators(ctx)
        .with_only_columns(Indicator.id, values.c.period_id, maintain_column_froms=False)
        .join(values, values.c.indicator_id == Indicator.id)
        .distinct()
    )
    return sa.select(sa.func.count()).select_from(pairs.subquery())


# --- Narrative --------------------------------------------------------------------------------

SECTION_DESCRIPTIONS = {
    "achievements": _l("Narrative: achievements in the period."),
    "challenges": _l("Narrative: challenges met."),
    "lessons_learned": _l("Narrative: lessons learned."),
    "next_steps": _l("Narrative: next steps."),
    "gender_equality": _l("Narrative: gender equality and non-discrimination."),
    "social_dialogue": _l("Narrative: social dialogue and tripartism."),
}

NARRATIVE_COLUMNS = (
    _c("submission_id", INT, _l("Identifier of the progress report.")),
    PROJECT_REFERENCE,
    *PERIOD,
    *ORGANISATION,
    *REVIEW,
    *(_c(section, LT, SECTION_DESCRIPTIONS[section]) for section in NARRATIVE_SECTIONS),
)


def _narrative_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    approver = aliased(User)
    return (
        sa.select(
            Submission.id,
            Project.reference,
            t(ReportingPeriod.label),
            ReportingPeriod.start_date,
            ReportingPeriod.end_date,
            t(Organisation.name),
            t(Organisation.acronym),
            _e(Organisation.group),
            Organisation.country,
            _e(Submission.status),
            _ts(Submission.submitted_at),
            _ts(Submission.approved_at),
            t(approver.full_name),
            Submission.narrative,
        )
        .select_from(Submission)
        .join(Project, Project.id == Submission.project_id)
        .join(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .outerjoin(approver, approver.id == Submission.approved_by_id)
        .where(Submission.kind == SubmissionKind.progress_report, ctx.submissions(), ctx.periods())
        .order_by(Project.reference, ReportingPeriod.start_date, Organisation.name, Submission.id)
    )


def _narrative_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    for batch in stream:
        shaped = []
        for row in batch:
            narrative = row[-1] or {}
            sections = tuple(ctx.py_text(str(narrative.get(s) or "")) for s in NARRATIVE_SECTIONS)
            shaped.append((*row[:-1], *sections))
        yield shaped


# --- Design input -----------------------------------------------------------------------------

DESIGN_COLUMNS = (
    _c("item_id", INT, _l("Identifier of the design input item.")),
    _c("submission_id", INT, _l("Identifier of the design input it belongs to.")),
    PROJECT_REFERENCE,
    *ORGANISATION,
    _c("status", T, _l("Status of the design input.")),
    _c("submitted_at", DT, _l("When it was last submitted.")),
    _c("position", INT, _l("Order of the item in the organisation's input.")),
    _c("kind", T, _l("need, proposed_outcome, proposed_indicator, risk or comment.")),
    _c("text", LT, _l("What the organisation said.")),
    _c("result_code", T, _l("Result of the framework it refers to.")),
    _c("indicator_code", T, _l("Indicator of the framework it refers to.")),
    _c("disposition", T, _l("The ILO's response: incorporated, partly or not_incorporated.")),
    _c("response_reason", LT, _l("Why, as recorded by the ILO.")),
    _c("responded_at", DT, _l("When the ILO responded.")),
    _c("responded_by", T, _l("Who responded for the ILO.")),
)


def _design_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    responder = aliased(User)
    linked_result = aliased(Result)
    linked_indicator = aliased(Indicator)
    return (
        sa.select(
            DesignInputItem.id,
            Submission.id,
            Project.reference,
            t(Organisation.name),
            t(Organisation.acronym),
            _e(Organisation.group),
            Organisation.country,
            _e(Submission.status),
            ctx.when(Submission.submitted_at),
            DesignInputItem.position,
            _e(DesignInputItem.kind),
            t(DesignInputItem.text),
            t(linked_result.code),
            t(linked_indicator.code),
            _e(DesignInputItem.disposition),
            t(DesignInputItem.response_reason),
            ctx.when(DesignInputItem.responded_at),
            t(responder.full_name),
        )
        .select_from(DesignInputItem)
        .join(Submission, Submission.id == DesignInputItem.submission_id)
        .join(Project, Project.id == Submission.project_id)
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .outerjoin(linked_result, linked_result.id == DesignInputItem.result_id)
        .outerjoin(linked_indicator, linked_indicator.id == DesignInputItem.indicator_id)
        .outerjoin(responder, responder.id == DesignInputItem.responded_by_id)
        .where(Submission.kind == SubmissionKind.design_input, ctx.submissions())
        .order_by(
            Project.reference, Organisation.name, Submission.id, DesignInputItem.position, DesignInputItem.id
        )
    )


# --- Scores -----------------------------------------------------------------------------------

EVALUATION = (
    _c("evaluation_id", INT, _l("Identifier of the evaluation.")),
    PROJECT_REFERENCE,
    _c("evaluation", T, _l("Title of the evaluation.")),
)

SCORE_COLUMNS = (
    _c("score_id", INT, _l("Identifier of the score.")),
    *EVALUATION,
    _c("evaluation_kind", T, _l("mid_term, final, internal_review or self_assessment.")),
    _c("evaluation_status", T, _l("open or closed.")),
    _c("criterion_code", T, _l("Code of the criterion.")),
    _c("criterion", T, _l("Name of the criterion.")),
    _c("scorecard_id", INT, _l("Identifier of the scorecard: the scores of one person share it.")),
    _c(
        "constituency",
        T,
        _l("Whose view the scorecard gives: workers, employers, government, ilo, independent."),
    ),
    _c(
        "scorer",
        T,
        _l("Who scored. Given only to evaluators and specialists of the project; empty for everyone else."),
    ),
    _c("point", INT, _l("Point of the evaluation's scale; empty for 'cannot assess'.")),
    _c("point_label", T, _l("Label of the point on the scale.")),
    _c("cannot_assess", BOOL, _l("True when the scorer said they cannot assess this criterion.")),
    _c("justification", LT, _l("The scorer's justification.")),
    _c("submitted_at", DT, _l("When the scorecard was submitted.")),
)


def _scores_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    scorer = aliased(User)
    return (
        sa.select(
            Score.id,
            Evaluation.id,
            Project.reference,
            t(Evaluation.title),
            _e(Evaluation.kind),
            _e(Evaluation.status),
            t(Criterion.code),
            t(Criterion.name),
            Scorecard.id,
            _e(Scorecard.group),
            ctx.scorer_name(scorer.full_name, Evaluation.project_id),
            sa.case((Score.cannot_assess, sa.null()), else_=Score.point),
            t(ScalePoint.label),
            ctx.flag(Score.cannot_assess),
            t(Score.justification),
            ctx.when(Scorecard.submitted_at),
        )
        .select_from(Score)
        .join(Scorecard, Scorecard.id == Score.scorecard_id)
        .join(Evaluation, Evaluation.id == Scorecard.evaluation_id)
        .join(Project, Project.id == Evaluation.project_id)
        .join(Criterion, Criterion.id == Score.criterion_id)
        .join(scorer, scorer.id == Scorecard.scorer_id)
        .outerjoin(
            ScalePoint,
            sa.and_(
                ScalePoint.scale_id == Evaluation.scale_id,
                ScalePoint.value == Score.point,
                sa.not_(Score.cannot_assess),
            ),
        )
        .where(ctx.evaluations(), ctx.scorecards())
        .order_by(
            Project.reference,
            Evaluation.opened_at,
            Evaluation.id,
            Criterion.position,
            Criterion.id,
            _e(Scorecard.group),
            Scorecard.id,
        )
    )


# --- Score summary ----------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    *EVALUATION,
    _c("evaluation_status", T, _l("open or closed.")),
    _c("criterion_code", T, _l("Code of the criterion.")),
    _c("criterion", T, _l("Name of the criterion.")),
    _c("constituency", T, _l("'all' for every scorecard together, else the constituency.")),
    _c("scores", INT, _l("Number of points given (cannot-assess answers are not counted here).")),
    _c("cannot_assess", INT, _l("Number of 'cannot assess' answers.")),
    _c("mean", Kind.number, _l("Mean of the points.")),
    _c("median", Kind.number, _l("Median of the points.")),
    _c("stdev", Kind.number, _l("Sample standard deviation (n − 1); empty below two points.")),
    _c("minimum", INT, _l("Lowest point.")),
    _c("maximum", INT, _l("Highest point.")),
    _c("divergence", Kind.number, _l("On 'all' rows: the largest gap between two constituencies' means.")),
    _c("divergent", BOOL, _l("On 'all' rows: true when constituencies' means differ by two points or more.")),
)

GROUP_ORDER = {g.value: i for i, g in enumerate(ScorerGroup)}


def _summary_base(ctx: ExportContext) -> sa.Select:
    return (
        sa.select(Evaluation.id)
        .select_from(Score)
        .join(Scorecard, Scorecard.id == Score.scorecard_id)
        .join(Evaluation, Evaluation.id == Scorecard.evaluation_id)
        .join(Project, Project.id == Evaluation.project_id)
        .join(Criterion, Criterion.id == Score.criterion_id)
        .where(ctx.evaluations(), ctx.scorecards())
    )


def _summary_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    return (
        _summary_base(ctx)
        .with_only_columns(
            Evaluation.id,
            Project.reference,
            t(Evaluation.title),
            _e(Evaluation.status),
            Criterion.id,
            t(Criterion.code),
            t(Criterion.name),
            _e(Scorecard.group),
            sa.case((Score.cannot_assess, sa.null()), else_=Score.point),
            maintain_column_froms=False,
        )
        .order_by(Project.reference, Evaluation.opened_at, Evaluation.id, Criterion.position, Criterion.id)
    )


def summary_rows(evaluation_rows: list[Sequence[Any]]) -> list[tuple]:
    """The summary of one evaluation: per criterion an 'all' row, then one row per constituency."""
    criteria: dict[int, tuple[str, str]] = {}
    for row in evaluation_rows:
        criteria.setdefault(row[4], (row[5], row[6]))
    summary = stats.consolidate((row[4], str(row[7]), row[8]) for row in evaluation_rows)
    eid, ref, title, status = evaluation_rows[0][:4]
    out = []
    for criterion_id, (code, name) in criteria.items():
        found = summary[criterion_id]
        lines = [("all", found.overall)] + sorted(
            found.groups.items(), key=lambda kv: GROUP_ORDER.get(kv[0], 99)
        )
        for group, s in lines:
            is_all = group == "all"
            out.append(
                (
                    eid,
                    ref,
                    title,
                    status,
                    code,
                    name,
                    group,
                    s.n,
                    s.cannot_assess,
                    s.mean,
                    s.median,
                    s.stdev,
                    s.minimum,
                    s.maximum,
                    found.divergence if is_all else None,
                    found.is_divergent if is_all else None,
                )
            )
    return out


def _summary_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    rows = itertools.chain.from_iterable(stream)
    for _evaluation_id, group in itertools.groupby(rows, key=lambda r: r[0]):
        yield summary_rows(list(group))


def _summary_counter(ctx: ExportContext) -> sa.Select:
    base = _summary_base(ctx)
    pairs = base.with_only_columns(Evaluation.id, Criterion.id, maintain_column_froms=False).distinct()
    triples = base.with_only_columns(
        Evaluation.id, Criterion.id, Scorecard.group, maintain_column_froms=False
    ).distinct()
    return sa.select(
        sa.select(sa.func.count()).select_from(pairs.subquery()).scalar_subquery()
        + sa.select(sa.func.count()).select_from(triples.subquery()).scalar_subquery()
    )


# --- Recommendations --------------------------------------------------------------------------

RECOMMENDATION_COLUMNS = (
    _c("recommendation_id", INT, _l("Identifier of the recommendation.")),
    *EVALUATION,
    _c("number", INT, _l("Number of the recommendation in the evaluation.")),
    _c("text", LT, _l("The recommendation.")),
    _c("addressed_to", T, _l("To whom it is addressed.")),
    _c(
        "addressed_organisation",
        T,
        _l("The partner organisation it is addressed to, if any (its reporters are told)."),
    ),
    _c("response", T, _l("Management response: accepted, partially_accepted or rejected.")),
    _c("planned_action", LT, _l("Action planned in response.")),
    _c("due_date", DATE, _l("When the action is due.")),
    _c("action_status", T, _l("not_started, in_progress, completed or cancelled.")),
    _c("responded_at", DT, _l("When management responded.")),
)


def _recommendations_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    addressed = aliased(Organisation)
    return (
        sa.select(
            Recommendation.id,
            Evaluation.id,
            Project.reference,
            t(Evaluation.title),
            Recommendation.position + 1,
            t(Recommendation.text),
            t(Recommendation.addressed_to),
            t(addressed.name),
            _e(Recommendation.response),
            t(Recommendation.planned_action),
            ctx.day(Recommendation.due_date),
            _e(Recommendation.action_status),
            ctx.when(Recommendation.responded_at),
        )
        .select_from(Recommendation)
        .join(Evaluation, Evaluation.id == Recommendation.evaluation_id)
        .join(Project, Project.id == Evaluation.project_id)
        .outerjoin(addressed, addressed.id == Recommendation.addressed_organisation_id)
        .where(ctx.evaluations())
        .order_by(
            Project.reference, Evaluation.opened_at, Evaluation.id, Recommendation.position, Recommendation.id
        )
    )


# --- Outcome statements (outcome harvesting) ---------------------------------------------------

OUTCOME_COLUMNS = (
    _c("outcome_id", INT, _l("Identifier of the outcome statement.")),
    PROJECT_REFERENCE,
    _c("social_actor", T, _l("Who changed: the person, group or organisation.")),
    _c("change", LT, _l("How they changed: behaviour, relationships, actions, policies or practice.")),
    _c(
        "changed_on",
        DATE,
        _l("When the change happened (the first of the month when only the month is known)."),
    ),
    _c("month_only", BOOL, _l("True when only the month and year of the change are known.")),
    _c("place", T, _l("Where the change happened.")),
    _c("significance", LT, _l("Why the change matters.")),
    _c("contribution", LT, _l("How the project contributed to it.")),
    _c("result_code", T, _l("Code of the result of the framework it matches (empty for a free outcome).")),
    _c("unexpected", BOOL, _l("True when the project did not plan the change.")),
    _c("negative", BOOL, _l("True when the change is for the worse.")),
    _c("recorded_by", T, _l("Who recorded it.")),
    _c("recorded_at", DT, _l("When it was recorded.")),
    _c(
        "contributing_organisations",
        LT,
        _l("Partner organisations that contributed, separated by semicolons."),
    ),
)


def _outcomes_query(ctx: ExportContext) -> sa.Select:
    # Shaped in Python: typed cells, spelled by the writers (as the projects' table).
    t = ctx.text
    return (
        sa.select(
            OutcomeStatement.id,
            Project.reference,
            t(OutcomeStatement.social_actor),
            t(OutcomeStatement.change),
            OutcomeStatement.changed_on,
            OutcomeStatement.month_only,
            t(OutcomeStatement.place),
            t(OutcomeStatement.significance),
            t(OutcomeStatement.contribution),
            t(Result.code),
            OutcomeStatement.unexpected,
            OutcomeStatement.negative,
            t(User.full_name),
            _ts(OutcomeStatement.created_at),
        )
        .select_from(OutcomeStatement)
        .join(Project, Project.id == OutcomeStatement.project_id)
        .outerjoin(Result, Result.id == OutcomeStatement.result_id)
        .outerjoin(User, User.id == OutcomeStatement.recorded_by_id)
        .where(ctx.projects(OutcomeStatement.project_id))
        .order_by(Project.reference, OutcomeStatement.changed_on.desc(), OutcomeStatement.id.desc())
    )


def _outcomes_shape(ctx: ExportContext, conn: Connection, stream: Iterator[Batch]) -> Iterator[Batch]:
    # The contributing organisations: a few rows per statement, read before the stream.
    names: dict[int, list[str]] = defaultdict(list)
    for outcome_id, name in conn.execute(
        sa.select(OutcomeContributor.outcome_id, Organisation.name)
        .join(Organisation, Organisation.id == OutcomeContributor.organisation_id)
        .join(OutcomeStatement, OutcomeStatement.id == OutcomeContributor.outcome_id)
        .where(ctx.projects(OutcomeStatement.project_id))
        .order_by(OutcomeContributor.outcome_id, Organisation.name)
    ):
        names[outcome_id].append(name)
    for batch in stream:
        yield [(*row, ctx.py_text("; ".join(names.get(row[0], ())))) for row in batch]


# --- Substantiation of outcome statements ------------------------------------------------------
# Who was asked and what they answered; never their e-mail address nor anything of the link.

SUBSTANTIATION_COLUMNS = (
    _c("outcome_id", INT, _l("Identifier of the outcome statement (as in outcome_statements).")),
    PROJECT_REFERENCE,
    _c("name", T, _l("Name of the person asked whether they agree with the statement.")),
    _c("requested_at", DT, _l("When they were asked.")),
    _c("answered_at", DT, _l("When they answered (empty while no answer came).")),
    _c("verdict", T, _l("Their answer: fully, partly or not (they do not agree); empty without an answer.")),
    _c("comment", LT, _l("Their comment.")),
)


def _substantiations_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    return (
        sa.select(
            OutcomeSubstantiation.outcome_id,
            Project.reference,
            t(OutcomeSubstantiation.name),
            _ts(OutcomeSubstantiation.requested_at),
            _ts(OutcomeSubstantiation.answered_at),
            _e(OutcomeSubstantiation.verdict),
            t(OutcomeSubstantiation.comment),
        )
        .select_from(OutcomeSubstantiation)
        .join(OutcomeStatement, OutcomeStatement.id == OutcomeSubstantiation.outcome_id)
        .join(Project, Project.id == OutcomeStatement.project_id)
        .where(ctx.projects(OutcomeStatement.project_id))
        .order_by(Project.reference, OutcomeSubstantiation.outcome_id, OutcomeSubstantiation.id)
    )


# --- Change stories (Most Significant Change) -------------------------------------------------------
# Never the storyteller's name or e-mail; rows as `permissions.readable_story_filter` lets the reader
# read them (non-members of a project: only the stories told with consent to share them).

STORY_COLUMNS = (
    _c("story_id", INT, _l("Identifier of the story.")),
    PROJECT_REFERENCE,
    _c("domain", T, _l("Domain of change of the story.")),
    _c("period", T, _l("Label of the reporting period in which the change happened (empty if none).")),
    _c("title", T, _l("Title of the story.")),
    _c("what_happened", LT, _l("What happened, in the storyteller's words.")),
    _c("who_involved", LT, _l("Who was involved.")),
    _c("why_significant", LT, _l("Why the change matters to the storyteller.")),
    _c(
        "storyteller_constituency",
        T,
        _l(
            "Constituency of the storyteller's organisation in the project: "
            "workers, employers... (empty if none)."
        ),
    ),
    _c(
        "chosen_at",
        T,
        _l("Highest level of selection that chose it: project, regional or actrav (empty if none)."),
    ),
    _c(
        "share_consent", BOOL, _l("True when the storyteller agreed that it may be read outside the project.")
    ),
    _c("created", DT, _l("When the story was told.")),
)


def _stories_query(ctx: ExportContext) -> sa.Select:
    t = ctx.text
    return (
        sa.select(
            ChangeStory.id,
            Project.reference,
            t(StoryDomain.name),
            t(ReportingPeriod.label),
            t(ChangeStory.title),
            t(ChangeStory.what_happened),
            t(ChangeStory.who_involved),
            t(ChangeStory.why_significant),
            _e(Organisation.group),
            _e(ChangeStory.chosen_at),
            ctx.flag(ChangeStory.share_consent),
            ctx.when(ChangeStory.created_at),
        )
        .select_from(ChangeStory)
        .join(Project, Project.id == ChangeStory.project_id)
        .join(StoryDomain, StoryDomain.id == ChangeStory.domain_id)
        .outerjoin(ReportingPeriod, ReportingPeriod.id == ChangeStory.period_id)
        .outerjoin(Organisation, Organisation.id == ChangeStory.organisation_id)
        .where(ctx.readable_stories(ChangeStory), ctx.periods(ReportingPeriod))
        .order_by(Project.reference, ChangeStory.created_at.desc(), ChangeStory.id.desc())
    )


TABLES: tuple[Table, ...] = (
    Table(
        "projects",
        _l("Projects"),
        _l("One row per project."),
        PROJECT_COLUMNS,
        _projects_query,
        shape=_projects_shape,
    ),
    Table(
        "results_framework",
        _l("Results framework"),
        _l("One row per indicator, with its result (results without indicators have one row too)."),
        FRAMEWORK_COLUMNS,
        _framework_query,
        shape=_framework_shape,
        shape_keeps_cells=True,
    ),
    Table(
        "indicator_values",
        _l("Indicator values"),
        _l("Long format: one row per value reported by an organisation for an indicator and period."),
        VALUE_COLUMNS,
        _values_query,
    ),
    Table(
        "progress_vs_target",
        _l("Progress vs target"),
        _l("One row per indicator in use: baseline, latest actual and target."),
        PROGRESS_COLUMNS,
        _progress_query,
        shape=_progress_shape,
        counter=lambda ctx: count_of(_tracked_indicators(ctx)),
    ),
    Table(
        "actuals_by_period",
        _l("Actuals by period"),
        _l("One row per indicator and period with approved reports: the actual and its progress."),
        PERIOD_FIGURE_COLUMNS,
        _progress_query,
        shape=_period_figures_shape,
        counter=_period_figures_counter,
    ),
    Table(
        "narrative",
        _l("Narrative"),
        _l("One row per progress report, one column per section."),
        NARRATIVE_COLUMNS,
        _narrative_query,
        shape=_narrative_shape,
    ),
    Table(
        "design_input",
        _l("Design input"),
        _l("One row per point of a constituent's design input, with the ILO's response."),
        DESIGN_COLUMNS,
        _design_query,
    ),
    Table(
        "scores",
        _l("Scores"),
        _l("One row per criterion score of a submitted scorecard."),
        SCORE_COLUMNS,
        _scores_query,
    ),
    Table(
        "score_summary",
        _l("Score summary"),
        _l("Per evaluation and criterion: statistics of all scores, then of each constituency."),
        SUMMARY_COLUMNS,
        _summary_query,
        shape=_summary_shape,
        counter=_summary_counter,
    ),
    Table(
        "recommendations",
        _l("Recommendations"),
        _l("One row per recommendation, with the management response."),
        RECOMMENDATION_COLUMNS,
        _recommendations_query,
    ),
    Table(
        "outcome_statements",
        _l("Outcome statements"),
        _l(
            "One row per outcome statement: who changed, how, when and where, and the project's contribution."
        ),
        OUTCOME_COLUMNS,
        _outcomes_query,
        shape=_outcomes_shape,
    ),
    Table(
        "outcome_substantiations",
        _l("Outcome substantiations"),
        _l(
            "One row per request to substantiate an outcome statement: who was asked, when, and "
            "whether they agree (without their e-mail address)."
        ),
        SUBSTANTIATION_COLUMNS,
        _substantiations_query,
    ),
    Table(
        "change_stories",
        _l("Change stories"),
        _l(
            "One row per story of change (Most Significant Change) the reader may read; "
            "never the storyteller's name."
        ),
        STORY_COLUMNS,
        _stories_query,
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}


def row_counts(conn: Connection, ctx: ExportContext) -> dict[str, int]:
    """How many rows each table of an export will hold, in one statement: each table's COUNT as a
    column (the downloads page shows them all; a table more is no query more)."""
    counts = [
        (table.counter(ctx) if table.counter else count_of(table.query(ctx)))
        .scalar_subquery()
        .label(table.name)
        for table in TABLES
    ]
    row = conn.execute(sa.select(*counts)).one()
    return {table.name: int(row._mapping[table.name] or 0) for table in TABLES}
