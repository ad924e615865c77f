"""What the API returns and takes, as marshmallow schemas (they are also the OpenAPI document).

Conventions: times are UTC ISO 8601; ids, counts and sizes are JSON numbers; indicator values,
baselines, targets, budgets and percentages are decimal strings ("1200.5000"), so that no
client rounds them through a binary float.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from mel_app.models import NARRATIVE_SECTIONS, Phase, Status, SubmissionKind

MAX_PAGE = 200


def _decimal(**kw):
    # Served as a string (as_string): the document must say "string", not apispec's "number".
    return fields.Decimal(as_string=True, allow_none=True, metadata={"type": "string"}, **kw)


def _id_filter():
    """An optional query argument naming a row by its id."""
    return fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


def _one_of(choices, **kw):
    """A string that is one of the values of the enum `choices`."""
    return fields.String(validate=validate.OneOf([c.value for c in choices]), **kw)


def _updated_since(what: str):
    return fields.AwareDateTime(
        load_default=None, metadata={"description": f"Only {what} changed at or after this time."}
    )


class _Identified(Schema):
    id = fields.Integer()


class _Coded(_Identified):
    """A result or an indicator of a framework."""

    code = fields.String()
    title = fields.String()
    description = fields.String()


class PageArgs(Schema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"Items per page, 1 to {MAX_PAGE}."},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=500),
        metadata={"description": "The `next_cursor` of the previous page; absent for the first page."},
    )


class ProjectArgs(PageArgs):
    updated_since = _updated_since("projects")


class SubmissionArgs(PageArgs):
    project = _id_filter()
    period = _id_filter()
    status = _one_of(Status, load_default=None)
    kind = _one_of(SubmissionKind, load_default=None)
    updated_since = _updated_since("reports")


class TokenInfo(_Identified):
    name = fields.String()
    scopes = fields.List(fields.String())
    expires_at = fields.DateTime()


class Me(_Identified):
    name = fields.String()
    email = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    token = fields.Nested(TokenInfo)


class Organisation(_Identified):
    name = fields.String()
    acronym = fields.String(allow_none=True)
    group = fields.String()
    country = fields.String(allow_none=True)


class Country(Schema):
    country = fields.String(metadata={"description": "ISO 3166-1 alpha-2 code."})
    percentage = _decimal()


class Sector(Schema):
    code = fields.String(metadata={"description": "OECD DAC sector code."})
    percentage = _decimal()


class Tag(Schema):
    scheme = fields.String(
        metadata={
            "description": "dwcp (Decent Work Country Programme outcome), pb (ILO Programme and Budget "
            "outcome) or sdg (SDG target).",
            "enum": ["dwcp", "pb", "sdg"],
        }
    )
    code = fields.String(metadata={"description": "e.g. KEN 101, 1 or 8.8."})


class Project(_Identified):
    reference = fields.String()
    title = fields.String()
    summary = fields.String()
    donor = fields.String()
    funding_modality = fields.String()
    phase = _one_of(Phase)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    framework_approved = fields.Boolean()
    budget_amount = _decimal()
    budget_currency = fields.String(allow_none=True)
    countries = fields.List(fields.Nested(Country))
    sectors = fields.List(fields.Nested(Sector))
    tags = fields.List(fields.Nested(Tag), metadata={"description": "The ILO's terms the project serves."})
    partners = fields.List(fields.Nested(Organisation))
    updated_at = fields.DateTime()


class Page(Schema):
    next_cursor = fields.String(allow_none=True, metadata={"description": "Absent on the last page."})


class ProjectPage(Page):
    items = fields.List(fields.Nested(Project))


class Indicator(_Coded):
    measure = fields.String()
    aggregation = fields.String()
    unit = fields.String()
    ascending = fields.Boolean()
    baseline_value = _decimal()
    baseline_date = fields.Date(allow_none=True)
    target_value = _decimal()
    target_date = fields.Date(allow_none=True)
    disaggregate_by_sex = fields.Boolean()
    means_of_verification = fields.String()
    responsible_organisation_id = fields.Integer(allow_none=True)
    is_archived = fields.Boolean()


class Result(_Coded):
    type = fields.String()
    parent_id = fields.Integer(allow_none=True)
    is_archived = fields.Boolean()
    tags = fields.List(fields.Nested(Tag), metadata={"description": "The ILO's terms the result serves."})
    indicators = fields.List(fields.Nested(Indicator))


class Framework(Schema):
    project_id = fields.Integer()
    approved = fields.Boolean()
    results = fields.List(fields.Nested(Result))


class Period(_Identified):
    label = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    due_date = fields.Date()


class PeriodList(Schema):
    items = fields.List(fields.Nested(Period))


class Value(Schema):
    indicator_id = fields.Integer()
    value = _decimal()
    women = _decimal()
    men = _decimal()
    text_value = fields.String()
    not_reported = fields.Boolean()
    comment = fields.String()


class AttachmentMeta(_Identified):
    filename = fields.String()
    media_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()


class SubmissionSummary(_Identified):
    project_id = fields.Integer()
    kind = fields.String()
    organisation = fields.Nested(Organisation)
    period_id = fields.Integer(allow_none=True)
    status = fields.String()
    version = fields.Integer(metadata={"description": "Changes at every save; compare before writing."})
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class SubmissionDetail(SubmissionSummary):
    narrative = fields.Dict(
        keys=fields.String(validate=validate.OneOf(NARRATIVE_SECTIONS)),
        values=fields.String(),
        metadata={"description": "Sections: " + ", ".join(NARRATIVE_SECTIONS) + "."},
    )
    values = fields.List(fields.Nested(Value))
    attachments = fields.List(fields.Nested(AttachmentMeta))


class SubmissionPage(Page):
    items = fields.List(fields.Nested(SubmissionSummary))


class AuditHead(Schema):
    event_id = fields.Integer()
    hash = fields.String(metadata={"description": "SHA-256 of the newest event of the chain."})


class Problem(Schema):
    """RFC 9457 problem details (served as application/problem+json)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "On 422: the messages of each field, e.g. {'query.limit': [...]}."},
    )


class ReviewBody(Schema):
    comment = fields.String(
        load_default="",
        validate=validate.Length(max=10000),
        metadata={"description": "Required to return a report; optional to approve it."},
    )
