"""IATI 2.03 activity XML of the results: one `iati-activity` per project.

The results framework follows the IATI result / indicator / baseline / period elements, so this is a
mapping: results with their indicators (results without an indicator are left out, as the standard
requires at least one), the baseline, one period per reporting period with the actual of the
organisations' approved reports (the same aggregation as the Progress vs target table, with women
and men as `sex` dimensions), and one period ending on the target date that carries the target.

Codelists: result type 1 output, 2 outcome, 3 impact; indicator measure 1 unit (number),
2 percentage, 3 nominal (yes/no), 5 qualitative; activity status 1 pipeline (design),
2 implementation, 4 closed; participating-org role 1 funding, 2 accountable, 4 implementing;
other-identifier type A1 (the reporting organisation's own identifier: the ILO reference).

What the IATI Validator's 2.03 rulesets ask beyond the schema, and how this file meets it:
- the activity identifier is the ILO's organisation identifier and a slug of the reference
  (`XM-DAC-41302-RAF-22-11-NOR`: no `/`); the reference itself is kept in `other-identifier`;
- sectors (OECD DAC vocabulary 1) and recipient countries carry percentages that add up to 100
  when there are several (countries without shares are split evenly, in whole percentages);
- `reference` is given on the indicators only, never on their result as well (rule 8.11.1);
- a baseline, target or actual of a non-qualitative indicator always has a value (8.8.1, 8.9.1,
  8.10.1): one without a value is left out rather than written empty;
- the target period lies inside the activity's dates;
- a planned budget is written as one `budget` per project year, since a budget period may not be
  longer than a year (7.5.3), the total spread over the years in proportion to their days.

The document is written incrementally (lxml's `xmlfile`): one activity is built and written at a
time, from one streamed query of every indicator and reported value in scope.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.engine import Connection

from mel_app import figures
from mel_app.exports.iati_codes import SECTOR_VOCABULARY, activity_identifier, even_split, organisation_type
from mel_app.exports.scope import ExportContext
from mel_app.exports.tables import reported_values, stream_batches
from mel_app.exports.writers import About, _Sink, decimal_text
from mel_app.models import (
    Indicator,
    Measure,
    Organisation,
    OrgGroup,
    Partner,
    Phase,
    Project,
    ProjectCountry,
    ProjectSector,
    Result,
    ResultType,
)

IATI_VERSION = "2.03"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

RESULT_TYPES = {ResultType.output: "1", ResultType.outcome: "2", ResultType.impact: "3"}
MEASURES = {Measure.number: "1", Measure.percentage: "2", Measure.yes_no: "3", Measure.qualitative: "5"}
ACTIVITY_STATUS = {Phase.design: "1", Phase.implementation: "2", Phase.closed: "4"}
# ResultVocabulary / IndicatorVocabulary 99: the reporting organisation's own codes.
OWN_VOCABULARY = "99"
# OtherIdentifierType A1: the reporting organisation's internal activity identifier.
INTERNAL_IDENTIFIER = "A1"
# OrganisationRole: 1 funding, 2 accountable, 4 implementing.
FUNDING, ACCOUNTABLE, IMPLEMENTING = "1", "2", "4"
# BudgetType 1 original, BudgetStatus 1 indicative: a planned budget, not a commitment.
BUDGET_TYPE_ORIGINAL, BUDGET_STATUS_INDICATIVE = "1", "1"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReportingOrg:
    ref: str = "XM-DAC-41302"  # the ILO's organisation identifier
    type: str = "40"  # multilateral
    name: str = "International Labour Organization"


def _text(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
    """An element holding one narrative, e.g. <title><narrative>…</narrative></title>."""
    element = etree.SubElement(parent, tag, attrs)
    etree.SubElement(element, "narrative").text = _clean(text)
    return element


def _clean(text: str | None) -> str:
    # XML 1.0 cannot carry most control characters; a pasted one must not break the document.
    return "".join(ch for ch in (text or "") if ch in "\t\n\r" or ord(ch) >= 0x20)


def _number(value: Any) -> str:
    return decimal_text(Decimal(value))


def _projects(conn: Connection, ctx: ExportContext) -> list[dict[str, Any]]:
    """The projects in scope with their countries, sectors and partners (a few rows per project)."""
    projects = [
        dict(row._mapping)
        for row in conn.execute(
            sa.select(
                Project.id,
                Project.reference,
                Project.title,
                Project.summary,
                Project.donor,
                Project.donor_iati_ref,
                Project.donor_iati_type,
                Project.phase,
                Project.start_date,
                Project.end_date,
                Project.budget_amount,
                Project.budget_currency,
                Project.created_at,
                Project.updated_at,
            )
            .where(ctx.projects(Project.id))
            .order_by(Project.reference)
        )
    ]
    countries = _percentages(conn, ctx, ProjectCountry, ProjectCountry.country)
    sectors = _percentages(conn, ctx, ProjectSector, ProjectSector.code)
    partners: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        sa.select(
            Partner.project_id,
            Organisation.name,
            Organisation.group,
            Organisation.iati_ref,
            Organisation.iati_type,
        )
        .join(Organisation, Organisation.id == Partner.organisation_id)
        .where(ctx.projects(Partner.project_id))
        .order_by(Organisation.name)
    ):
        partners[row.project_id].append(dict(row._mapping))
    for project in projects:
        project["countries"] = countries.get(project["id"], [])
        project["sectors"] = sectors.get(project["id"], [])
        project["partners"] = partners.get(project["id"], [])
    return projects


def _percentages(
    conn: Connection, ctx: ExportContext, model: type[ProjectCountry] | type[ProjectSector], code: Any
) -> dict[int, list[tuple[str, Decimal | None]]]:
    """Each project's (code, percentage) pairs of `model`, its countries or its sectors, by code."""
    pairs: dict[int, list[tuple[str, Decimal | None]]] = defaultdict(list)
    for project_id, value, percentage in conn.execute(
        sa.select(model.project_id, code, model.percentage)
        .where(ctx.projects(model.project_id))
        .order_by(code)
    ):
        pairs[project_id].append((value, percentage))
    return pairs


def _shares(percentages: list[Decimal | None]) -> list[Decimal | None]:
    """The percentages to write: none for a single entry (the standard reads it as 100), the stored
    ones when every entry has one, else an even split."""
    if len(percentages) <= 1:
        return [None] * len(percentages)
    if all(p is not None for p in percentages):
        return list(percentages)
    return list(even_split(len(percentages)))


def _year_slices(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut into periods of at most one year: start to the day before its anniversary, …"""
    slices = []
    current = start
    while current <= end:
        try:
            anniversary = current.replace(year=current.year + 1)
        except ValueError:  # 29 February
            anniversary = current.replace(year=current.year + 1, day=28)
        slice_end = min(anniversary - timedelta(days=1), end)
        slices.append((current, slice_end))
        current = slice_end + timedelta(days=1)
    return slices


def _budgets(activity: etree._Element, project: dict[str, Any]) -> None:
    amount: Decimal | None = project["budget_amount"]
    start, end = project["start_date"], project["end_date"]
    if amount is None or start is None or end is None:
        return
    slices = _year_slices(start, end)
    total_days = (end - start).days + 1
    written = Decimal(0)
    for index, (slice_start, slice_end) in enumerate(slices):
        if index == len(slices) - 1:
            value = amount - written  # the last year takes the rounding, so the years add up
        else:
            days = (slice_end - slice_start).days + 1
            value = (amount * days / total_days).quantize(CENT, rounding=ROUND_HALF_EVEN)
        written += value
        budget = etree.SubElement(
            activity, "budget", {"type": BUDGET_TYPE_ORIGINAL, "status": BUDGET_STATUS_INDICATIVE}
        )
        etree.SubElement(budget, "period-start", {"iso-date": slice_start.isoformat()})
        etree.SubElement(budget, "period-end", {"iso-date": slice_end.isoformat()})
        etree.SubElement(
            budget,
            "value",
            {"currency": project["budget_currency"], "value-date": slice_start.isoformat()},
        ).text = _number(value)


def _results_query(ctx: ExportContext) -> sa.Select:
    values = reported_values(ctx)
    return (
        sa.select(
            Project.id.label("project_id"),
            Result.id.label("result_id"),
            Result.type.label("result_type"),
            Result.code.label("result_code"),
            Result.title.label("result_title"),
            Result.description.label("result_description"),
            Indicator.id.label("indicator_id"),
            Indicator.code.label("code"),
            Indicator.title.label("title"),
            Indicator.description.label("description"),
            Indicator.measure.label("measure"),
            Indicator.aggregation.label("aggregation"),
            Indicator.responsible_organisation_id.label("responsible_organisation_id"),
            Indicator.ascending.label("ascending"),
            Indicator.baseline_value.label("baseline_value"),
            Indicator.baseline_date.label("baseline_date"),
            Indicator.baseline_comment.label("baseline_comment"),
            Indicator.target_value.label("target_value"),
            Indicator.target_date.label("target_date"),
            Indicator.target_comment.label("target_comment"),
            Indicator.disaggregate_by_sex.label("disaggregate_by_sex"),
            values.c.period_id,
            values.c.start_date,
            values.c.end_date,
            values.c.value,
            values.c.women,
            values.c.men,
            values.c.text_value,
            values.c.organisation,
            values.c.organisation_id,
        )
        .select_from(Indicator)
        .join(Result, Result.id == Indicator.result_id)
        .join(Project, Project.id == Indicator.project_id)
        .outerjoin(values, values.c.indicator_id == Indicator.id)
        .where(
            ctx.projects(Indicator.project_id), sa.not_(Indicator.is_archived), sa.not_(Result.is_archived)
        )
        .order_by(
            Project.reference,
            Result.position,
            Result.code,
            Result.id,
            Indicator.position,
            Indicator.code,
            Indicator.id,
            values.c.start_date,
            values.c.period_id,
            values.c.organisation,
        )
    )


def _baseline(indicator: etree._Element, row: Any, project: dict[str, Any], measure: Measure) -> None:
    baseline_date: date | None = row.baseline_date
    if row.baseline_value is None and baseline_date is None:
        return
    if measure != Measure.qualitative and row.baseline_value is None:
        return  # a non-qualitative baseline without a value is refused by the rulesets (8.8.1)
    year_of = baseline_date or project["start_date"]
    if year_of is None:
        return
    attrs = {"year": str(year_of.year)}
    if baseline_date:
        attrs["iso-date"] = baseline_date.isoformat()
    if row.baseline_value is not None and measure != Measure.qualitative:
        attrs["value"] = _number(row.baseline_value)
    baseline = etree.SubElement(indicator, "baseline", attrs)
    if row.baseline_comment:
        _text(baseline, "comment", row.baseline_comment)


def _actual_period(indicator: etree._Element, rows: list[Any], measure: Measure, by_sex: bool) -> None:
    first = rows[0]
    # The same figure as the project page and the tables: mel_app.figures.
    reports = [figures.Report(r.period_id, r.organisation_id, r.value, r.women, r.men) for r in rows]
    actual = figures.consolidate(figures.Rule.of(first), reports)
    if measure == Measure.qualitative:
        answers = [f"{r.organisation}: {r.text_value}" for r in rows if r.text_value]
        period = _period(indicator, first.start_date, first.end_date)
        element = etree.SubElement(period, "actual")
        if answers:
            _text(element, "comment", "\n".join(answers))
        return
    values = [] if actual.value is None else [(_number(actual.value), None)]
    if by_sex:
        by_sex_values = (("female", actual.women), ("male", actual.men))
        values += [(_number(n), sex) for sex, n in by_sex_values if n is not None]
    if not values:
        return  # nothing to publish: an actual of a non-qualitative indicator needs a value (8.10.1)
    period = _period(indicator, first.start_date, first.end_date)
    for value, sex in values:
        element = etree.SubElement(period, "actual", {"value": value})
        if sex is not None:
            etree.SubElement(element, "dimension", {"name": "sex", "value": sex})


def _period(indicator: etree._Element, start: date, end: date) -> etree._Element:
    period = etree.SubElement(indicator, "period")
    etree.SubElement(period, "period-start", {"iso-date": start.isoformat()})
    etree.SubElement(period, "period-end", {"iso-date": end.isoformat()})
    return period


def _activity_dates(project: dict[str, Any]) -> tuple[date, date | None]:
    return project["start_date"] or project["created_at"].date(), project["end_date"]


def _target_period(indicator: etree._Element, row: Any, project: dict[str, Any], measure: Measure) -> None:
    if measure == Measure.qualitative:
        if not row.target_comment:
            return
    elif row.target_value is None:
        return  # a non-qualitative target needs a value (8.9.1)
    # The period runs from the start of the activity to the target date, kept inside the activity:
    # a baseline measured before the project started is not a period of the project.
    start, activity_end = _activity_dates(project)
    end = row.target_date or activity_end
    if activity_end is not None and end is not None and end > activity_end:
        end = activity_end
    if end is None or end <= start:
        return
    period = _period(indicator, start, end)
    attrs = {}
    if row.target_value is not None and measure != Measure.qualitative:
        attrs["value"] = _number(row.target_value)
    target = etree.SubElement(period, "target", attrs)
    if row.target_comment:
        _text(target, "comment", row.target_comment)


def _indicator(result: etree._Element, rows: list[Any], project: dict[str, Any]) -> None:
    row = rows[0]
    measure = row.measure
    attrs = {"measure": MEASURES[measure]}
    if measure != Measure.qualitative:
        attrs["ascending"] = "1" if row.ascending else "0"
    indicator = etree.SubElement(result, "indicator", attrs)
    _text(indicator, "title", row.title)
    if row.description:
        _text(indicator, "description", row.description)
    etree.SubElement(indicator, "reference", {"vocabulary": OWN_VOCABULARY, "code": row.code})
    _baseline(indicator, row, project, measure)
    reported = [r for r in rows if r.period_id is not None]
    for _period_id, period_rows in itertools.groupby(reported, key=lambda r: r.period_id):
        _actual_period(indicator, list(period_rows), measure, row.disaggregate_by_sex)
    _target_period(indicator, row, project, measure)


def _result(activity: etree._Element, rows: list[Any], project: dict[str, Any]) -> None:
    row = rows[0]
    result = etree.SubElement(
        activity, "result", {"type": RESULT_TYPES[row.result_type], "aggregation-status": "0"}
    )
    _text(result, "title", row.result_title)
    if row.result_description:
        _text(result, "description", row.result_description)
    # The indicators carry the references (1.a, 1.1.a); the rulesets allow one level only (8.11.1).
    for _indicator_id, indicator_rows in itertools.groupby(rows, key=lambda r: r.indicator_id):
        _indicator(result, list(indicator_rows), project)


def _participating_orgs(activity: etree._Element, project: dict[str, Any], org: ReportingOrg) -> None:
    if project["donor"] or project["donor_iati_ref"]:
        attrs = {"role": FUNDING}
        if project["donor_iati_ref"]:
            attrs["ref"] = project["donor_iati_ref"]
        if project["donor_iati_type"]:
            attrs["type"] = project["donor_iati_type"]
        _text(activity, "participating-org", project["donor"] or project["donor_iati_ref"], **attrs)
    _text(activity, "participating-org", org.name, ref=org.ref, type=org.type, role=ACCOUNTABLE)
    for partner in project["partners"]:
        attrs = {
            "role": FUNDING if partner["group"] == OrgGroup.donor else IMPLEMENTING,
            "type": organisation_type(partner["group"], partner["iati_type"]),
        }
        if partner["iati_ref"]:
            attrs["ref"] = partner["iati_ref"]
        _text(activity, "participating-org", partner["name"], **attrs)


def _activity(project: dict[str, Any], rows: list[Any], org: ReportingOrg) -> etree._Element:
    updated: datetime = project["updated_at"] or project["created_at"]
    attrs = {
        "last-updated-datetime": updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        XML_LANG: "en",
        "hierarchy": "1",
    }
    if project["budget_currency"]:
        attrs["default-currency"] = project["budget_currency"]
    activity = etree.Element("iati-activity", attrs)
    etree.SubElement(activity, "iati-identifier").text = activity_identifier(org.ref, project["reference"])
    _text(activity, "reporting-org", org.name, ref=org.ref, type=org.type)
    _text(activity, "title", project["title"])
    _text(activity, "description", project["summary"] or project["title"], type="1")
    _participating_orgs(activity, project, org)
    other = etree.SubElement(
        activity, "other-identifier", {"ref": project["reference"], "type": INTERNAL_IDENTIFIER}
    )
    _text(other, "owner-org", org.name, ref=org.ref)
    etree.SubElement(activity, "activity-status", {"code": ACTIVITY_STATUS[project["phase"]]})
    start, end = _activity_dates(project)
    etree.SubElement(activity, "activity-date", {"type": "1", "iso-date": start.isoformat()})
    if end:
        etree.SubElement(activity, "activity-date", {"type": "3", "iso-date": end.isoformat()})
    countries = project["countries"]
    for (country, _stored), share in zip(countries, _shares([p for _c, p in countries]), strict=True):
        attrs = {"code": country}
        if share is not None:
            attrs["percentage"] = _number(share)
        etree.SubElement(activity, "recipient-country", attrs)
    sectors = project["sectors"]
    for (code, _stored), share in zip(sectors, _shares([p for _c, p in sectors]), strict=True):
        attrs = {"vocabulary": SECTOR_VOCABULARY, "code": code}
        if share is not None:
            attrs["percentage"] = _number(share)
        etree.SubElement(activity, "sector", attrs)
    _budgets(activity, project)
    for _result_id, result_rows in itertools.groupby(rows, key=lambda r: r.result_id):
        _result(activity, list(result_rows), project)
    return activity


def _provenance(about: About) -> str:
    text = (
        f" ACTRAV MEL {about.app_version}; generated {about.generated_at.astimezone(UTC).isoformat()} "
        f"by {about.generated_by}; audit chain head {about.audit_head_hash} (event {about.audit_head_id}); "
        f"scope {json.dumps(about.scope, ensure_ascii=False)} "
    )
    return text.replace("--", "- -")


def write_iati(
    conn: Connection, ctx: ExportContext, about: About, *, reporting_org: ReportingOrg | None = None, **_: Any
) -> Iterator[bytes]:
    org = reporting_org or ReportingOrg()
    projects = _projects(conn, ctx)
    rows = itertools.chain.from_iterable(stream_batches(conn, _results_query(ctx), named=True))
    by_project = itertools.groupby(rows, key=lambda r: r.project_id)
    pending = next(by_project, None)
    sink = _Sink()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        generated = about.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with xf.element("iati-activities", {"version": IATI_VERSION, "generated-datetime": generated}):
            xf.write(etree.Comment(_provenance(about)))
            for project in projects:
                project_rows: list[Any] = []
                # Both are ordered by reference: the rows of this project, if any, come next.
                if pending is not None and pending[0] == project["id"]:
                    project_rows = list(pending[1])
                    pending = next(by_project, None)
                xf.write(_activity(project, project_rows, org))
                xf.flush()
                if sink.pending:
                    yield sink.drain()
    about.rows["projects"] = len(projects)
    yield sink.drain()
