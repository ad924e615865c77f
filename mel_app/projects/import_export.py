"""A results framework as a spreadsheet (XLSX or CSV): one row per result or indicator.

Import is in two steps. The upload is checked against the project's framework as it is and every
problem is listed by row and column; nothing changes. A file without problems gives a plan (what
will be created, what will change) shown to the user; the file waits in the database
(`FrameworkImport`), so the confirmation may reach any app server, and is checked again when it is
confirmed: if the framework changed in between, the new plan is shown instead of applying the old.

Rows are matched to the framework by code: a result by its code, an indicator by its result's code
and its own code. Rows that match are updated, the others created; nothing is deleted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import selectinload

from mel_app import archives, audit
from mel_app.extensions import db
from mel_app.kit.cells import csv_safe, csv_unsafe, decode_csv_text
from mel_app.kit.errors import DomainError
from mel_app.models import (
    Aggregation,
    FrameworkImport,
    Indicator,
    IndicatorValue,
    Measure,
    Organisation,
    Partner,
    Project,
    Result,
    ResultTag,
    ResultType,
    TagScheme,
    utcnow,
)
from mel_app.numbers import format_number
from mel_app.projects import framework as fw
from mel_app.projects import ilo_terms

MAX_ROWS = 2000
MAX_BYTES = 2 * 1024 * 1024
# What a workbook may unpack to before the spreadsheet reader opens it. A framework of MAX_ROWS
# rows unpacks to a few megabytes; parsing costs about half a second per megabyte of shared
# strings, so these bounds keep the worst file within a few seconds of one worker.
IMPORT_ZIP_LIMITS = archives.ZipLimits(
    max_members=200,
    max_total_bytes=8 * 1024 * 1024,
    max_member_bytes=8 * 1024 * 1024,
    max_ratio=100,
    ratio_floor=256 * 1024,
)
STAGED_LIFETIME = timedelta(days=1)
LEVELS = ("impact", "outcome", "output", "indicator")
LEVEL_RANK = {ResultType.impact: 0, ResultType.outcome: 1, ResultType.output: 2}
MEASURE_WORDS = {
    "number": Measure.number,
    "percentage": Measure.percentage,
    "percent": Measure.percentage,
    "%": Measure.percentage,
    "yes/no": Measure.yes_no,
    "yes_no": Measure.yes_no,
    "yes-no": Measure.yes_no,
    "qualitative": Measure.qualitative,
}
AGGREGATION_LABELS = {
    Aggregation.sum: "sum",
    Aggregation.mean: "mean",
    Aggregation.responsible: "responsible",
    Aggregation.all_yes: "all yes",
    Aggregation.any_yes: "any yes",
    Aggregation.listed: "listed",
}
AGGREGATION_WORDS = {
    **{label: method for method, label in AGGREGATION_LABELS.items()},
    **{method.value: method for method in Aggregation},
    "average": Aggregation.mean,
    "all-yes": Aggregation.all_yes,
    "any-yes": Aggregation.any_yes,
    "responsible organisation": Aggregation.responsible,
}
MEASURE_LABELS = {
    Measure.number: "number",
    Measure.percentage: "percentage",
    Measure.yes_no: "yes/no",
    Measure.qualitative: "qualitative",
}


@dataclass(frozen=True)
class Column:
    key: str
    required: Any  # a lazy string: when the column must be filled
    doc: Any  # a lazy string: what goes in it
    indicator_only: bool = False
    result_only: bool = False


def _indicator_column(key: str, doc: Any) -> Column:
    """A column only indicators fill, and need not."""
    return Column(key, _l("no"), doc, indicator_only=True)


COLUMNS: tuple[Column, ...] = (
    Column("level", _l("every row"), _l("impact, outcome, output or indicator.")),
    Column(
        "code",
        _l("every row"),
        _l(
            "The result's or indicator's code, e.g. 1, 1.2 or 1.2.a: letters, digits, dots, dashes. "
            "Unique among results; unique among the indicators of one result. Format the column as "
            "text so that Excel keeps 1.10 as written."
        ),
    ),
    Column(
        "parent",
        _l("outputs and indicators"),
        _l(
            "Outcome: the code of its impact, or empty. Output: the code of its outcome. Indicator: "
            "the code of the result it measures. Impacts have none."
        ),
    ),
    Column("title", _l("every row"), _l("At most 500 characters.")),
    Column("description", _l("no"), _l("Free text.")),
    Column(
        "dwcp_outcomes",
        _l("no"),
        _l(
            "Results only. The Decent Work Country Programme outcomes it serves, e.g. KEN 101: the "
            "country's three letters (ISO 3166 alpha-3), a space, three digits; several separated by commas."
        ),
        result_only=True,
    ),
    Column(
        "pb_outcomes",
        _l("no"),
        _l("Results only. The ILO Programme and Budget outcomes it serves, 1 to 8, separated by commas."),
        result_only=True,
    ),
    Column(
        "sdg_targets",
        _l("no"),
        _l(
            "Results only. The SDG targets it serves, separated by commas: 1.3, 4.4, 5.1, 5.4, 5.5, 8.3, "
            "8.5, 8.6, 8.7, 8.8, 8.b, 10.4, 10.7 or 16.10."
        ),
        result_only=True,
    ),
    Column("measure", _l("indicators"), _l("number, percentage, yes/no or qualitative."), True),
    _indicator_column("unit", _l("What is counted, e.g. people, members, %. At most 60 characters.")),
    _indicator_column(
        "ascending",
        _l("yes when a higher value is better (the default), no when lower is better."),
    ),
    _indicator_column(
        "baseline_value",
        _l(
            "A number (a percentage between 0 and 100; yes/no as yes or no). Empty for qualitative "
            "indicators: describe the baseline in its comment."
        ),
    ),
    _indicator_column("baseline_date", _l("A date, as YYYY-MM-DD (e.g. 2024-01-31) or a date cell.")),
    _indicator_column("baseline_comment", _l("Free text.")),
    _indicator_column("target_value", _l("As baseline_value.")),
    _indicator_column("target_date", _l("As baseline_date; not before the baseline date.")),
    _indicator_column("target_comment", _l("Free text.")),
    _indicator_column(
        "disaggregate_by_sex",
        _l("yes when reports give women and men separately (numbers and percentages only); no by default."),
    ),
    _indicator_column("means_of_verification", _l("Where the figures come from.")),
    _indicator_column(
        "responsible_organisation",
        _l("The acronym or name of a partner organisation of the project."),
    ),
    _indicator_column(
        "aggregation",
        _l(
            "How the organisations' approved reports of a period make the project's figure. Numbers: "
            "sum (the default), mean or responsible (the responsible organisation's value alone). "
            "Percentages: mean (the default) or responsible. Yes/no: all yes (the default: yes only "
            "when every organisation says yes), any yes or responsible. Qualitative: listed."
        ),
    ),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
# The columns of a result's ILO tags, by scheme.
TAG_COLUMNS = {TagScheme.dwcp: "dwcp_outcomes", TagScheme.pb: "pb_outcomes", TagScheme.sdg: "sdg_targets"}
REQUIRED_HEADERS = ("level", "code", "title")
HEADER_ALIASES = {
    "parent_code": "parent",
    "result": "parent",
    "sex_disaggregated": "disaggregate_by_sex",
    "disaggregated_by_sex": "disaggregate_by_sex",
    "responsible": "responsible_organisation",
    "type": "level",
}


class ImportFileError(DomainError):
    """The upload cannot be read at all (wrong type, empty, too large); the message is for the user."""

    http_status = 422


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (the header is usually row 1)
    column: str  # column letter and name, e.g. "F (measure)"; empty for a whole-row problem
    message: str


@dataclass
class Table:
    file_format: str
    header_row: int
    columns: dict[str, int]  # column key -> index
    letters: dict[str, str]  # column key -> letter
    rows: list[tuple[int, list[Any]]]  # (row number, cells)
    errors: list[RowError] = field(default_factory=list)

    def cell(self, cells: list[Any], key: str) -> Any:
        index = self.columns.get(key)
        if index is None or index >= len(cells):
            return None
        return cells[index]

    def where(self, key: str) -> str:
        letter = self.letters.get(key)
        return f"{letter} ({key})" if letter else key


# --- reading -----------------------------------------------------------------------------------


def _normalise_header(value: Any) -> str:
    text = str(value or "").strip().lower().replace(" ", "_").replace("-", "_")
    return HEADER_ALIASES.get(text, text)


def detect_format(filename: str, data: bytes) -> str:
    if not data:
        raise ImportFileError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _(
                "The file is larger than %(mb)s MB: a framework fits in much less.",
                mb=MAX_BYTES // (1024 * 1024),
            )
        )
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if name.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _("This is an old Excel (.xls) file: save it as .xlsx or .csv and upload that.")
        )
    if name.endswith(".xlsx"):
        raise ImportFileError(_("This file is named .xlsx but is not an Excel workbook."))
    if b"\x00" in data[:4096]:
        raise ImportFileError(_("This is not a spreadsheet: upload an .xlsx or a .csv file."))
    return "csv"


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        archives.inspect_zip(data, IMPORT_ZIP_LIMITS)
    except archives.ArchiveTooLarge:
        raise ImportFileError(
            _(
                "This workbook unpacks to far more data than a results framework holds, so it was "
                "not read. Save it again from your spreadsheet program, or save it as CSV, and "
                "upload that."
            )
        ) from None
    except archives.ArchiveDamaged:
        raise ImportFileError(_("This file could not be read as an Excel workbook (.xlsx).")) from None
    with warnings.catch_warnings():
        # Workbooks from other tools carry extensions openpyxl does not read; they do not matter here.
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # any failure to parse an untrusted file is the file's fault, not ours
            raise ImportFileError(_("This file could not be read as an Excel workbook (.xlsx).")) from None
        try:
            sheet = workbook["framework"] if "framework" in workbook.sheetnames else workbook.worksheets[0]
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        except ImportFileError:
            raise
        except Exception:
            raise ImportFileError(_("This file could not be read as an Excel workbook (.xlsx).")) from None
        finally:
            workbook.close()


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = decode_csv_text(data)
    if text is None:
        raise ImportFileError(_("This CSV file's characters could not be read: save it as CSV UTF-8."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error:
        raise ImportFileError(_("This file could not be read as CSV.")) from None


def _blank(cells: Iterable[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def read_table(filename: str, data: bytes) -> Table:
    """The header and the non-empty rows of the upload. Raises ImportFileError."""
    file_format = detect_format(filename, data)
    source = _xlsx_rows(data) if file_format == "xlsx" else _csv_rows(data)
    header: list[Any] | None = None
    header_row = 0
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in enumerate(source, start=1):
        if header is None:
            if number > 10:
                break
            # The header is the first row naming the "level" column (a title may sit above it).
            if any(_normalise_header(c) == "level" for c in cells):
                header, header_row = cells, number
            continue
        if _blank(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(_("The file has more than %(n)s rows: split it.", n=MAX_ROWS))
        rows.append((number, cells))
    if header is None:
        raise ImportFileError(
            _("No header row found: the first row must name the columns (level, code, title, ...).")
        )
    table = Table(file_format, header_row, {}, {}, rows)
    for index, value in enumerate(header):
        key = _normalise_header(value)
        if not key:
            continue
        letter = get_column_letter(index + 1)
        if key not in COLUMN_KEYS:
            table.errors.append(RowError(header_row, f"{letter} ({value})", _("Unknown column.")))
        elif key in table.columns:
            table.errors.append(RowError(header_row, f"{letter} ({key})", _("This column appears twice.")))
        else:
            table.columns[key] = index
            table.letters[key] = letter
    for key in REQUIRED_HEADERS:
        if key not in table.columns:
            table.errors.append(RowError(header_row, key, _("This column is missing.")))
    if not rows:
        raise ImportFileError(_("The file has no rows under its header."))
    return table


# --- planning ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    text = str(value).strip()
    # Spreadsheet formula guard written by our exports: '=... is the text =...
    return csv_unsafe(text)


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(_("Write the date as YYYY-MM-DD, e.g. 2024-01-31.")) from None


@dataclass
class PlannedResult:
    row: int
    action: str  # create, update, unchanged
    type: ResultType
    code: str
    title: str
    description: str
    parent_code: str
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    tags: ilo_terms.Tags = field(default_factory=ilo_terms.Tags)


@dataclass
class PlannedIndicator:
    row: int
    action: str
    result_code: str
    data: fw.IndicatorData
    responsible_label: str = ""
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class ImportPlan:
    results: list[PlannedResult] = field(default_factory=list)
    indicators: list[PlannedIndicator] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for item in [*self.results, *self.indicators] if item.action == action)

    @property
    def has_changes(self) -> bool:
        return any(item.action != "unchanged" for item in [*self.results, *self.indicators])

    @property
    def fingerprint(self) -> str:
        """A hash of what the plan would do, to tell whether a confirmation still means the same."""
        payload = [
            ("r", r.action, r.type.value, r.code, r.title, r.description, r.parent_code, r.tags.pairs())
            for r in self.results
        ] + [
            ("i", i.action, i.result_code, json.dumps(i.data.__dict__, default=str, sort_keys=True))
            for i in self.indicators
        ]
        return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


@dataclass
class FrameworkState:
    """The project's framework as it is, for matching rows by code."""

    results: dict[str, Result]
    indicators: dict[tuple[str, str], Indicator]
    organisations: dict[str, Organisation]
    indicators_with_values: set[int]

    @classmethod
    def load(cls, project: Project) -> FrameworkState:
        results = list(
            db.session.scalars(
                sa.select(Result).where(Result.project_id == project.id).options(selectinload(Result.tags))
            )
        )
        by_id = {r.id: r for r in results}
        indicators = list(db.session.scalars(sa.select(Indicator).where(Indicator.project_id == project.id)))
        organisations: dict[str, Organisation] = {}
        for org in db.session.scalars(
            sa.select(Organisation)
            .join(Partner, Partner.organisation_id == Organisation.id)
            .where(Partner.project_id == project.id)
        ):
            organisations[org.name.casefold()] = org
            if org.acronym:
                organisations.setdefault(org.acronym.casefold(), org)
        with_values = set(
            db.session.scalars(
                sa.select(IndicatorValue.indicator_id)
                .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
                .where(Indicator.project_id == project.id)
                .distinct()
            )
        )
        return cls(
            results={r.code.casefold(): r for r in results},
            indicators={(by_id[i.result_id].code.casefold(), i.code.casefold()): i for i in indicators},
            organisations=organisations,
            indicators_with_values=with_values,
        )


# IndicatorData field -> column, where their names differ.
FIELD_COLUMNS = {"responsible_organisation_id": "responsible_organisation"}


def _show(value: Any, measure: Measure | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return fw.format_value(value, measure)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Measure):
        return MEASURE_LABELS[value]
    if isinstance(value, Aggregation):
        return AGGREGATION_LABELS[value]
    return str(value)


def plan_import(table: Table, state: FrameworkState) -> ImportPlan:
    """Check every row; return what the import would do, or every error by row and column."""
    planner = _Planner(table, state)
    # First pass: each row on its own.
    for number, cells in table.rows:
        planner.read_row(number, cells)
    # Second pass: how the rows fit together and with the framework as it is.
    file_types = {r.code.casefold(): r.type for r in planner.plan.results if r.code}
    for result in planner.plan.results:
        planner.fit_result(result, file_types)
    for indicator in planner.plan.indicators:
        planner.fit_indicator(indicator, file_types)
    planner.plan.errors.sort(key=lambda e: (e.row, e.column))
    return planner.plan


class _Planner:
    """The state of one check of a file: the plan so far, and the codes seen on earlier rows."""

    def __init__(self, table: Table, state: FrameworkState) -> None:
        self.table = table
        self.state = state
        self.plan = ImportPlan(errors=list(table.errors))
        self.seen_results: dict[str, int] = {}
        self.seen_indicators: dict[tuple[str, str], int] = {}

    def err(self, row: int, key: str, message: str) -> None:
        self.plan.errors.append(RowError(row, self.table.where(key) if key else "", message))

    def text(self, cells: Any, key: str) -> str:
        return _text(self.table.cell(cells, key))

    # --- first pass: one row --------------------------------------------------------------------

    def read_row(self, number: int, cells: Any) -> None:
        level = self.text(cells, "level").casefold()
        code = self.text(cells, "code")
        title = self.text(cells, "title")
        if level not in LEVELS:
            self.err(number, "level", _("Write impact, outcome, output or indicator."))
            return
        if message := fw.code_error(code):
            self.err(number, "code", message)
        if not title:
            self.err(number, "title", _("Give a title."))
        elif len(title) > fw.TITLE_MAX:
            self.err(number, "title", _("At most %(n)s characters.", n=fw.TITLE_MAX))
        if level == "indicator":
            self.read_indicator(number, cells, code, title)
        else:
            self.read_result(number, cells, ResultType(level), code, title)

    def read_result(self, number: int, cells: Any, rtype: ResultType, code: str, title: str) -> None:
        for column in COLUMNS:
            if column.indicator_only and self.text(cells, column.key):
                self.err(
                    number,
                    column.key,
                    _("This column is for indicator rows: leave it empty on a result row."),
                )
        if code:
            key = code.casefold()
            if key in self.seen_results:
                self.err(
                    number,
                    "code",
                    _("Result %(code)s is also on row %(row)s.", code=code, row=self.seen_results[key]),
                )
            self.seen_results.setdefault(key, number)
        description, parent = self.text(cells, "description"), self.text(cells, "parent")
        item = PlannedResult(number, "create", rtype, code, title, description, parent)
        item.tags = self.read_tags(number, cells)
        self.plan.results.append(item)

    def read_tags(self, number: int, cells: Any) -> ilo_terms.Tags:
        """The result's ILO tags; a code refused is reported on its column."""
        tags = ilo_terms.Tags()
        try:
            tags.dwcp = ilo_terms.dwcp_codes(self.text(cells, TAG_COLUMNS[TagScheme.dwcp]))
        except ilo_terms.TagError as exc:
            self.err(number, TAG_COLUMNS[TagScheme.dwcp], str(exc))
        for scheme in (TagScheme.pb, TagScheme.sdg):
            codes = [c for c in re.split(r"[\s,;]+", self.text(cells, TAG_COLUMNS[scheme])) if c]
            message = ilo_terms.tags_error(ilo_terms.Tags(**{scheme.value: codes}))
            if message:
                self.err(number, TAG_COLUMNS[scheme], message)
            else:
                setattr(tags, scheme.value, codes)
        return tags.sorted()

    def read_indicator(self, number: int, cells: Any, code: str, title: str) -> None:
        for column in COLUMNS:
            if column.result_only and self.text(cells, column.key):
                self.err(
                    number,
                    column.key,
                    _("This column is for result rows: leave it empty on an indicator row."),
                )
        data = fw.IndicatorData(
            code=code, title=title, description=self.text(cells, "description"), measure=Measure.number
        )
        measure_text = self.text(cells, "measure").casefold()
        if not measure_text:
            self.err(number, "measure", _("Give the measure: number, percentage, yes/no or qualitative."))
            return
        if measure_text not in MEASURE_WORDS:
            self.err(number, "measure", _("Write number, percentage, yes/no or qualitative."))
            return
        data.measure = MEASURE_WORDS[measure_text]
        for key in ("unit", "baseline_comment", "target_comment", "means_of_verification"):
            setattr(data, key, self.text(cells, key))
        self.read_indicator_values(number, cells, data)
        responsible = self.text(cells, "responsible_organisation")
        self.read_responsible(number, cells, data, responsible)
        parent = self.text(cells, "parent")
        if not parent:
            self.err(number, "parent", _("Give the code of the result this indicator measures."))
        elif code:
            self.check_indicator_code_once(number, parent, code)
        self.plan.indicators.append(PlannedIndicator(number, "create", parent, data, responsible))

    def read_indicator_values(self, number: int, cells: Any, data: fw.IndicatorData) -> None:
        """The yes/no flags, the baseline and target values and their dates."""
        for key, default in (("ascending", True), ("disaggregate_by_sex", False)):
            raw = self.table.cell(cells, key)
            if raw is None or not _text(raw):
                setattr(data, key, default)
                continue
            try:
                setattr(data, key, fw.parse_yes_no(raw if isinstance(raw, bool) else _text(raw)))
            except ValueError as exc:
                self.err(number, key, str(exc))
        for key in ("baseline_value", "target_value"):
            try:
                setattr(data, key, fw.parse_value(self.table.cell(cells, key), data.measure))
            except ValueError as exc:
                self.err(number, key, str(exc))
        for key in ("baseline_date", "target_date"):
            try:
                setattr(data, key, _date(self.table.cell(cells, key)))
            except ValueError as exc:
                self.err(number, key, str(exc))

    def read_responsible(self, number: int, cells: Any, data: fw.IndicatorData, responsible: str) -> None:
        """The responsible organisation and the aggregation, then the indicator's own rules."""
        if responsible:
            org = self.state.organisations.get(responsible.casefold())
            if org is None:
                self.err(
                    number,
                    "responsible_organisation",
                    _("%(org)s is not a partner of this project.", org=responsible),
                )
            else:
                data.responsible_organisation_id = org.id
        method_text = self.text(cells, "aggregation").casefold()
        unknown_responsible = bool(responsible) and data.responsible_organisation_id is None
        if method_text and method_text not in AGGREGATION_WORDS:
            self.err(number, "aggregation", _("Write sum, mean, responsible, all yes, any yes or listed."))
        elif method_text:
            data.aggregation = AGGREGATION_WORDS[method_text]
        for name, message in fw.indicator_data_errors(data).items():
            if name in ("baseline_value", "target_value", "code", "title"):
                continue  # reported above, with the user's own text
            if name == "aggregation" and unknown_responsible:
                continue  # the unknown organisation is reported on its own column
            self.err(number, FIELD_COLUMNS.get(name, name), message)

    def check_indicator_code_once(self, number: int, parent: str, code: str) -> None:
        key = (parent.casefold(), code.casefold())
        if key in self.seen_indicators:
            self.err(
                number,
                "code",
                _(
                    "Indicator %(code)s of result %(result)s is also on row %(row)s.",
                    code=code,
                    result=parent,
                    row=self.seen_indicators[key],
                ),
            )
        self.seen_indicators.setdefault(key, number)

    # --- second pass: the rows together, and with the framework ---------------------------------

    def fit_result(self, item: PlannedResult, file_types: dict[str, ResultType]) -> None:
        existing = self.state.results.get(item.code.casefold())
        if existing is not None:
            # A column the file leaves out keeps the framework's value.
            if "parent" not in self.table.columns:
                item.parent_code = existing.parent.code if existing.parent else ""
            if "description" not in self.table.columns:
                item.description = existing.description
            stored = ilo_terms.Tags.of(existing.tags)
            for scheme, key in TAG_COLUMNS.items():
                if key not in self.table.columns:
                    setattr(item.tags, scheme.value, getattr(stored, scheme.value))
        if not self.check_result_parent(item, file_types) or existing is None:
            return
        if existing.is_archived:
            self.err(
                item.row,
                "code",
                _("Result %(code)s is archived: restore it in the editor first.", code=item.code),
            )
            return
        if existing.type is not item.type:
            self.err(
                item.row,
                "level",
                _(
                    "Result %(code)s is a %(level)s: change its level in the editor.",
                    code=item.code,
                    level=existing.type.value,
                ),
            )
            return
        current_parent = existing.parent.code if existing.parent else ""
        item.changes = _diff(
            {
                "title": existing.title,
                "description": existing.description,
                "parent": current_parent,
                **_tag_cells(ilo_terms.Tags.of(existing.tags)),
            },
            {
                "title": item.title,
                "description": item.description,
                "parent": item.parent_code,
                **_tag_cells(item.tags),
            },
            casefold=("parent",),
        )
        item.action = "update" if item.changes else "unchanged"

    def check_result_parent(self, item: PlannedResult, file_types: dict[str, ResultType]) -> bool:
        """False when the parent is missing or the result itself: nothing more to check then."""
        parent_type = None
        if item.parent_code:
            key = item.parent_code.casefold()
            if key == item.code.casefold():
                self.err(item.row, "parent", _("A result cannot be its own parent."))
                return False
            in_framework = self.state.results.get(key)
            parent_type = file_types.get(key) or (in_framework.type if in_framework is not None else None)
            if parent_type is None:
                self.err(item.row, "parent", _("No result has the code %(code)s.", code=item.parent_code))
                return False
            if key not in file_types and in_framework is not None and in_framework.is_archived:
                self.err(item.row, "parent", _("Result %(code)s is archived.", code=item.parent_code))
        if message := fw.parent_error(item.type, parent_type):
            column = "parent" if item.parent_code or item.type is ResultType.output else "level"
            self.err(item.row, column, message)
        return True

    def fit_indicator(self, item: PlannedIndicator, file_types: dict[str, ResultType]) -> None:
        key = item.result_code.casefold()
        if not key:
            return
        in_file = key in file_types
        existing_result = self.state.results.get(key)
        if not in_file and existing_result is None:
            self.err(item.row, "parent", _("No result has the code %(code)s.", code=item.result_code))
            return
        if not in_file and existing_result is not None and existing_result.is_archived:
            self.err(item.row, "parent", _("Result %(code)s is archived.", code=item.result_code))
            return
        existing = self.state.indicators.get((key, item.data.code.casefold()))
        if existing is None or not self.may_update_indicator(item, existing):
            return
        for name in item.data.__dataclass_fields__:
            if FIELD_COLUMNS.get(name, name) not in self.table.columns:
                setattr(item.data, name, getattr(existing, name))
                if name == "responsible_organisation_id" and existing.responsible_organisation:
                    item.responsible_label = existing.responsible_organisation.label
        merged_errors = fw.indicator_data_errors(item.data)
        for name, message in merged_errors.items():
            self.err(item.row, FIELD_COLUMNS.get(name, name), message)
        if not merged_errors:
            self.diff_indicator(item, existing)

    def may_update_indicator(self, item: PlannedIndicator, existing: Indicator) -> bool:
        if existing.is_archived:
            self.err(
                item.row,
                "code",
                _("Indicator %(code)s is archived: restore it in the editor first.", code=item.data.code),
            )
            return False
        if existing.measure is not item.data.measure and existing.id in self.state.indicators_with_values:
            self.err(
                item.row,
                "measure",
                _(
                    "Values were reported against indicator %(code)s: its measure cannot change.",
                    code=item.data.code,
                ),
            )
            return False
        return True

    def diff_indicator(self, item: PlannedIndicator, existing: Indicator) -> None:
        old = {f: getattr(existing, f) for f in item.data.__dataclass_fields__}
        new = dict(item.data.__dict__)
        old["responsible_organisation_id"] = (
            existing.responsible_organisation.label if existing.responsible_organisation else ""
        )
        new["aggregation"] = item.data.method
        new["responsible_organisation_id"] = (
            _organisation_label(self.state, item.data.responsible_organisation_id)
            if item.responsible_label
            else ""
        )
        item.changes = _diff(
            {k: _show(v, existing.measure) for k, v in old.items()},
            {k: _show(v, item.data.measure) for k, v in new.items()},
        )
        item.action = "update" if item.changes else "unchanged"


def _tag_cells(tags: ilo_terms.Tags) -> dict[str, str]:
    """A result's tags as the spreadsheet writes them: codes separated by commas, by column."""
    return {key: ", ".join(getattr(tags, scheme.value)) for scheme, key in TAG_COLUMNS.items()}


def _organisation_label(state: FrameworkState, organisation_id: int | None) -> str:
    for org in state.organisations.values():
        if org.id == organisation_id:
            return org.label
    return ""


def _diff(
    old: dict[str, Any], new: dict[str, Any], casefold: tuple[str, ...] = ()
) -> dict[str, tuple[str, str]]:
    changes = {}
    for key, new_value in new.items():
        a, b = str(old.get(key) or ""), str(new_value or "")
        same = a.casefold() == b.casefold() if key in casefold else a == b
        if not same:
            changes[key] = (a, b)
    return changes


# --- applying ----------------------------------------------------------------------------------


def apply_plan(
    project: Project, plan: ImportPlan, *, actor: Any, reason: str | None, filename: str
) -> tuple[int, int]:
    """Create and update what the plan says, in one transaction. Returns (created, updated)."""
    reason = fw.reason_for(project, reason)
    if plan.errors:
        raise fw.FrameworkError(_("The file has errors: nothing was imported."))
    state = FrameworkState.load(project)
    results = dict(state.results)
    created, updated = _import_results(project, plan, results, actor=actor, reason=reason)
    db.session.flush()
    indicators_created, indicators_updated = _import_indicators(
        project, plan, state, results, actor=actor, reason=reason
    )
    created += indicators_created
    updated += indicators_updated
    audit.record(
        db.session,
        "framework.import",
        actor=actor,
        target=project,
        reason=reason,
        after={"filename": filename, "created": created, "updated": updated},
    )
    db.session.flush()
    return created, updated


def _next_positions(rows: Iterable[Any], parent: Callable[[Any], Any]) -> dict[Any, int]:
    """Under each parent, the position after the last one taken (rows are added at the end)."""
    positions: dict[Any, int] = {}
    for row in rows:
        positions[parent(row)] = max(positions.get(parent(row), 0), row.position + 1)
    return positions


def _import_results(
    project: Project, plan: ImportPlan, results: dict[str, Result], *, actor: Any, reason: str | None
) -> tuple[int, int]:
    """Create and update the plan's results; `results` (by folded code) gets the new ones.
    Returns (created, updated)."""
    next_position = _next_positions(results.values(), lambda r: r.parent_id)
    created = updated = 0
    # Parents before children, whatever the order of the rows.
    for item in sorted(plan.results, key=lambda r: (LEVEL_RANK[r.type], r.row)):
        parent = results.get(item.parent_code.casefold()) if item.parent_code else None
        if item.action == "create":
            result = Result(
                project_id=project.id,
                type=item.type,
                code=item.code,
                title=item.title,
                description=item.description,
                parent=parent,
            )
            parent_key = parent.id if parent is not None else None
            if parent is not None and parent.id is None:
                db.session.flush()
                parent_key = parent.id
            result.position = next_position.get(parent_key, 0)
            next_position[parent_key] = result.position + 1
            ilo_terms.apply_tags(result, item.tags, ResultTag)
            db.session.add(result)
            audit.record(db.session, "result.import", actor=actor, target=result, reason=reason)
            results[item.code.casefold()] = result
            created += 1
        elif item.action == "update":
            result = results[item.code.casefold()]
            result.title, result.description, result.parent = item.title, item.description, parent
            ilo_terms.apply_tags(result, item.tags, ResultTag)
            audit.record(db.session, "result.import", actor=actor, target=result, reason=reason)
            updated += 1
    return created, updated


def _import_indicators(
    project: Project,
    plan: ImportPlan,
    state: FrameworkState,
    results: dict[str, Result],
    *,
    actor: Any,
    reason: str | None,
) -> tuple[int, int]:
    """Create and update the plan's indicators, under the `results` (by folded code) as imported.
    Returns (created, updated)."""
    next_position = _next_positions(state.indicators.values(), lambda ind: ind.result_id)
    created = updated = 0
    for item in plan.indicators:
        result = results[item.result_code.casefold()]
        if item.action == "create":
            indicator = Indicator(result=result, project_id=project.id)
            fw.apply_indicator_data(indicator, item.data)
            indicator.position = next_position.get(result.id, 0)
            next_position[result.id] = indicator.position + 1
            db.session.add(indicator)
            audit.record(db.session, "indicator.import", actor=actor, target=indicator, reason=reason)
            created += 1
        elif item.action == "update":
            indicator = state.indicators[(item.result_code.casefold(), item.data.code.casefold())]
            fw.apply_indicator_data(indicator, item.data)
            audit.record(db.session, "indicator.import", actor=actor, target=indicator, reason=reason)
            updated += 1
    return created, updated


# --- staging between preview and confirmation --------------------------------------------------


def stage_upload(
    project: Project, *, actor: Any, filename: str, file_format: str, data: bytes
) -> FrameworkImport:
    """Keep the upload until it is confirmed; the person's earlier uploads and stale ones are dropped."""
    db.session.execute(
        sa.delete(FrameworkImport).where(
            sa.or_(
                FrameworkImport.uploaded_by_id == actor.id,
                FrameworkImport.created_at < utcnow() - STAGED_LIFETIME,
            )
        )
    )
    staged = FrameworkImport(
        project_id=project.id,
        uploaded_by_id=actor.id,
        filename=(filename or "framework")[:255],
        file_format=file_format,
        content=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    db.session.add(staged)
    db.session.flush()
    return staged


def staged_upload(import_id: int, project: Project, actor: Any) -> FrameworkImport | None:
    """The person's own upload for this project, while it is fresh."""
    staged = db.session.get(FrameworkImport, import_id)
    if (
        staged is None
        or staged.project_id != project.id
        or staged.uploaded_by_id != actor.id
        or staged.created_at < utcnow() - STAGED_LIFETIME
    ):
        return None
    return staged


def discard_upload(staged: FrameworkImport) -> None:
    db.session.delete(staged)
    db.session.flush()


# --- writing -----------------------------------------------------------------------------------


def _result_row(result: Result) -> dict[str, Any]:
    return {
        "level": result.type.value,
        "code": result.code,
        "parent": result.parent.code if result.parent else "",
        "title": result.title,
        "description": result.description,
        **_tag_cells(ilo_terms.Tags.of(result.tags)),
    }


def _indicator_row(indicator: Indicator, result_code: str) -> dict[str, Any]:
    yes_no = indicator.measure is Measure.yes_no

    def value(v: Decimal | None) -> Any:
        if v is None:
            return ""
        if yes_no:
            return "yes" if v == 1 else "no"
        return v

    org = indicator.responsible_organisation
    return {
        "level": "indicator",
        "code": indicator.code,
        "parent": result_code,
        "title": indicator.title,
        "description": indicator.description,
        "measure": MEASURE_LABELS[indicator.measure],
        "unit": indicator.unit,
        "ascending": "yes" if indicator.ascending else "no",
        "baseline_value": value(indicator.baseline_value),
        "baseline_date": indicator.baseline_date or "",
        "baseline_comment": indicator.baseline_comment,
        "target_value": value(indicator.target_value),
        "target_date": indicator.target_date or "",
        "target_comment": indicator.target_comment,
        "disaggregate_by_sex": "yes" if indicator.disaggregate_by_sex else "no",
        "means_of_verification": indicator.means_of_verification,
        "responsible_organisation": (org.acronym or org.name) if org else "",
        "aggregation": AGGREGATION_LABELS[indicator.aggregation],
    }


def framework_rows(nodes: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows for the export, in reading order; `nodes` are services.ResultNode from `walk()`."""
    rows = []
    for node in nodes:
        rows.append(_result_row(node.result))
        for indicator_row in node.indicators:
            rows.append(_indicator_row(indicator_row.indicator, node.result.code))
    return rows


EXAMPLE_ROWS: tuple[dict[str, Any], ...] = (
    {"level": "impact", "code": "0", "title": "Decent work for women and men in the region"},
    {
        "level": "outcome",
        "code": "1",
        "parent": "0",
        "title": "Workers' organisations are stronger and more representative",
        "pb_outcomes": "1",
        "sdg_targets": "8.8",
    },
    {
        "level": "indicator",
        "code": "1.a",
        "parent": "1",
        "title": "Women members of partner unions",
        "measure": "number",
        "unit": "members",
        "ascending": "yes",
        "baseline_value": 12000,
        "baseline_date": date(2024, 1, 1),
        "target_value": 20000,
        "target_date": date(2027, 12, 31),
        "disaggregate_by_sex": "no",
        "means_of_verification": "Union membership registers",
    },
    {
        "level": "indicator",
        "code": "1.b",
        "parent": "1",
        "title": "Share of informal workers without social protection",
        "measure": "percentage",
        "unit": "%",
        "ascending": "no",
        "baseline_value": 60,
        "target_value": 45,
    },
    {"level": "output", "code": "1.1", "parent": "1", "title": "Union staff trained in organising"},
    {
        "level": "indicator",
        "code": "1.1.a",
        "parent": "1.1",
        "title": "Union organisers trained",
        "measure": "number",
        "unit": "people",
        "baseline_value": 0,
        "target_value": 300,
        "disaggregate_by_sex": "yes",
    },
    {
        "level": "indicator",
        "code": "1.1.b",
        "parent": "1.1",
        "title": "Training strategy adopted by the national centre",
        "measure": "yes/no",
        "baseline_value": "no",
        "target_value": "yes",
    },
    {
        "level": "indicator",
        "code": "1.1.c",
        "parent": "1.1",
        "title": "How members judge the training",
        "measure": "qualitative",
        "baseline_comment": "No training offered so far",
    },
)


def _safe_text(value: str) -> str:
    """Text that a spreadsheet will not run as a formula, even once the cell is edited."""
    return csv_safe(value)


def write_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte order mark (so Excel reads accents right), comma-separated, header row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMN_KEYS)
    for row in rows:
        cells = []
        for key in COLUMN_KEYS:
            value = row.get(key, "")
            if isinstance(value, Decimal):
                # In the user's language, ungrouped: the import reads it back as the same number.
                value = format_number(value, grouped=False)
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, str):
                value = _safe_text(value)
            cells.append(value)
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(rows: Iterable[dict[str, Any]], *, title: str) -> bytes:
    """A workbook with the framework sheet (drop-down lists on the coded columns) and the instructions."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    text_format = workbook.add_format({"num_format": "@"})
    _write_framework_sheet(workbook.add_worksheet("framework"), rows, bold, date_format, text_format)
    _write_instructions(workbook, workbook.add_worksheet("instructions"), title, bold, wrap)
    workbook.close()
    return out.getvalue()


def _write_framework_sheet(
    sheet: Any, rows: Iterable[dict[str, Any]], bold: Any, date_format: Any, text_format: Any
) -> None:
    """One row per result or indicator under the column keys, and a drop-down list on the coded
    columns, down to well below the last row so that added rows get it too."""
    widths = {"title": 50, "description": 30, "means_of_verification": 30, "level": 12, "measure": 13}
    for index, key in enumerate(COLUMN_KEYS):
        sheet.write_string(0, index, key, bold)
        fmt = text_format if key in ("code", "parent", *TAG_COLUMNS.values()) else None
        sheet.set_column(index, index, widths.get(key, 16), fmt)
    sheet.freeze_panes(1, 0)
    count = 0
    for number, row in enumerate(rows, start=1):
        count = number
        for index, key in enumerate(COLUMN_KEYS):
            value = row.get(key, "")
            if value is None or value == "":
                continue
            if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
                sheet.write_number(number, index, float(value))
            elif isinstance(value, date):
                sheet.write_datetime(number, index, datetime.combine(value, datetime.min.time()), date_format)
            else:
                sheet.write_string(number, index, _safe_text(str(value)))
    last = max(count, 0) + 500
    choices = {
        "level": list(LEVELS),
        "measure": list(MEASURE_LABELS.values()),
        "ascending": ["yes", "no"],
        "disaggregate_by_sex": ["yes", "no"],
        "aggregation": list(AGGREGATION_LABELS.values()),
    }
    for key, values in choices.items():
        index = COLUMN_KEYS.index(key)
        sheet.data_validation(1, index, last, index, {"validate": "list", "source": values})


def _write_instructions(workbook: Any, notes: Any, title: str, bold: Any, wrap: Any) -> None:
    """The sheet that explains the file: how rows are matched, then what goes in each column."""
    notes.set_column(0, 0, 26)
    notes.set_column(1, 1, 22)
    notes.set_column(2, 2, 90, wrap)
    notes.write_string(0, 0, title, workbook.add_format({"bold": True, "font_size": 14}))
    intro = _(
        "One row per result (impact, outcome, output) or indicator, on the sheet 'framework'. Rows are "
        "matched to the project's framework by code: rows that match update it, the others are added, "
        "nothing is deleted; a column left out of the file keeps the framework's values. The upload "
        "shows what will change before anything is saved; a file with errors changes nothing. A CSV "
        "file has the same columns (UTF-8, comma or semicolon separated)."
    )
    notes.write_string(1, 0, intro)
    notes.write_string(3, 0, _("Column"), bold)
    notes.write_string(3, 1, _("Required for"), bold)
    notes.write_string(3, 2, _("What to write"), bold)
    for offset, column in enumerate(COLUMNS, start=4):
        notes.write_string(offset, 0, column.key)
        notes.write_string(offset, 1, str(column.required))
        notes.write_string(offset, 2, str(column.doc), wrap)
