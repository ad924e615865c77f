"""IATI 2.03 activity XML of the results: one `iati-activity` per project.

The results framework follows the IATI result / indicator / baseline / period elements, so this is a
mapping: results with their indicators (results without an indicator are left out, as the standard
requires at least one), the baseline, one period per reporting period with the actual of the
organisations' approved reports (the same aggregation as the Progress vs target table, with women
and men as `sex` dimensions), and one period ending on the target date that carries the target.

Codelists: result type 1 output, 2 outcome, 3 impact; indicator measure 1 unit (number),
2 percentage, 3 nominal (yes/no), 5 qualitative; activity status 1 pipeline (design),
2 implementation, 4 closed; participating-org role 1 funding, 2 accountable, 4 implementing.

The document is written incrementally (lxml's `xmlfile`): one activity is built and written at a
time, from one streamed query of every indicator and reported value in scope.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.engine import Connection

from mel_app import figures
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
    """The projects in scope with their countries and partners (a few rows per project)."""
    projects = [
        dict(row._mapping)
        for row in conn.execute(
            sa.select(
                Project.id,
                Project.reference,
                Project.title,
                Project.summary,
                Project.donor,
                Project.phase,
                Project.start_date,
                Project.end_date,
                Project.created_at,
                Project.updated_at,
            )
            .where(ctx.projects(Project.id))
            .order_by(Project.reference)
        )
    ]
    countries: dict[int, list[str]] = defaultdict(list)
    for project_id, country in conn.execute(
        sa.select(ProjectCountry.project_id, ProjectCountry.country)
        .where(ctx.projects(ProjectCountry.project_id))
        .order_by(ProjectCountry.country)
    ):
        countries[project_id].append(country)
    partners: dict[int, list[tuple[str, OrgGroup]]] = defaultdict(list)
    for project_id, name, group in conn.execute(
        sa.select(Partner.project_id, Organisation.name, Organisation.group)
        .join(Organisation, Organisation.id == Partner.organisation_id)
        .where(ctx.projects(Partner.project_id))
        .order_by(Organisation.name)
    ):
        partners[project_id].append((name, group))
    for project in projects:
        project["countries"] = countries.get(project["id"], [])
        project["partners"] = partners.get(project["id"], [])
    return projects


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
    period = etree.SubElement(indicator, "period")
    etree.SubElement(period, "period-start", {"iso-date": first.start_date.isoformat()})
    etree.SubElement(period, "period-end", {"iso-date": first.end_date.isoformat()})
    # The same figure as the project page and the tables: mel_app.figures.
    reports = [figures.Report(r.period_id, r.organisation_id, r.value, r.women, r.men) for r in rows]
    actual = figures.consolidate(figures.Rule.of(first), reports)
    if measure == Measure.qualitative:
        element = etree.SubElement(period, "actual")
        answers = [f"{r.organisation}: {r.text_value}" for r in rows if r.text_value]
        if answers:
            _text(element, "comment", "\n".join(answers))
        return
    attrs = {"value": _number(actual.value)} if actual.value is not None else {}
    etree.SubElement(period, "actual", attrs)
    if by_sex:
        for sex, amount in (("female", actual.women), ("male", actual.men)):
            if amount is not None:
                element = etree.SubElement(period, "actual", {"value": _number(amount)})
                etree.SubElement(element, "dimension", {"name": "sex", "value": sex})


def _target_period(indicator: etree._Element, row: Any, project: dict[str, Any], measure: Measure) -> None:
    if row.target_value is None and not row.target_comment:
        return
    start = row.baseline_date or project["start_date"]
    end = row.target_date or project["end_date"]
    if start is None or end is None or end < start:
        return
    period = etree.SubElement(indicator, "period")
    etree.SubElement(period, "period-start", {"iso-date": start.isoformat()})
    etree.SubElement(period, "period-end", {"iso-date": end.isoformat()})
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
    etree.SubElement(result, "reference", {"code": row.result_code, "vocabulary": OWN_VOCABULARY})
    for _indicator_id, indicator_rows in itertools.groupby(rows, key=lambda r: r.indicator_id):
        _indicator(result, list(indicator_rows), project)


def _activity(project: dict[str, Any], rows: list[Any], org: ReportingOrg) -> etree._Element:
    updated: datetime = project["updated_at"] or project["created_at"]
    activity = etree.Element(
        "iati-activity",
        {
            "last-updated-datetime": updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            XML_LANG: "en",
            "hierarchy": "1",
        },
    )
    etree.SubElement(activity, "iati-identifier").text = f"{org.ref}-{project['reference']}"
    _text(activity, "reporting-org", org.name, ref=org.ref, type=org.type)
    _text(activity, "title", project["title"])
    _text(activity, "description", project["summary"] or project["title"], type="1")
    if project["donor"]:
        _text(activity, "participating-org", project["donor"], role="1")
    _text(activity, "participating-org", org.name, ref=org.ref, type=org.type, role="2")
    for name, group in project["partners"]:
        attrs = {"role": "4"}
        if group == OrgGroup.government:
            attrs["type"] = "10"
        _text(activity, "participating-org", name, **attrs)
    other = etree.SubElement(activity, "other-identifier", {"ref": project["reference"], "type": "B01"})
    _text(other, "owner-org", org.name, ref=org.ref)
    etree.SubElement(activity, "activity-status", {"code": ACTIVITY_STATUS[project["phase"]]})
    start = project["start_date"] or project["created_at"].date()
    etree.SubElement(activity, "activity-date", {"type": "1", "iso-date": start.isoformat()})
    if project["end_date"]:
        etree.SubElement(
            activity, "activity-date", {"type": "3", "iso-date": project["end_date"].isoformat()}
        )
    for country in project["countries"]:
        etree.SubElement(activity, "recipient-country", {"code": country})
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
