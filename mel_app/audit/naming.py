"""Records and fields of the trail named as users know them (presentation only: the trail's data
is never changed).

- A record is named by what it is about: "Value of indicator 1.2 “Members recruited” for
  2025-Q1", "Progress report of FUK for 2026 H1", "Comment on ...", never "Indicator value #60".
  Names come from the event's own data (so a deleted record keeps its name) and the records it
  refers to, resolved for a whole page at once.
- A field is labelled with the label of the form where users edit it (`FORM_FIELDS`), so the
  History and the form say the same words; columns no form edits keep the trail's own label
  (`mel_app.audit.labels.FIELD_LABELS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import import_module
from typing import Any

import sqlalchemy as sa
from wtforms.fields.core import UnboundField

from mel_app.audit.labels import gettext as _
from mel_app.enum_labels import label as enum_label
from mel_app.extensions import db
from mel_app.integers import to_int
from mel_app.models import Organisation, ReportingPeriod, Submission, SubmissionKind

# The forms where each kind of record is edited, as "module:Class", first match wins.
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "project": ("mel_app.projects.forms:ProjectForm",),
    "result": ("mel_app.projects.forms:ResultForm",),
    "indicator": ("mel_app.projects.forms:IndicatorForm",),
    "reporting_period": ("mel_app.projects.forms:PeriodForm",),
    "partner": ("mel_app.projects.forms:PartnerForm",),
    "organisation": ("mel_app.admin.forms:OrganisationForm",),
    "user": ("mel_app.account.forms:ProfileForm", "mel_app.admin.forms:InviteUserForm"),
    "evaluation": ("mel_app.evaluations.forms:EvaluationForm",),
}
# Form fields whose label is an instruction rather than a name: the trail's own label reads better.
NOT_FROM_FORMS = frozenset({("result", "parent_id")})


@cache
def _form_labels(entity_type: str) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for path in FORM_FIELDS.get(entity_type, ()):
        module, _sep, name = path.partition(":")
        form = getattr(import_module(module), name, None)
        for field_name in dir(form) if form is not None else ():
            unbound = getattr(form, field_name, None)
            if not isinstance(unbound, UnboundField) or field_name in labels:
                continue
            text = unbound.kwargs.get("label", unbound.args[0] if unbound.args else None)
            if text and unbound.field_class.__name__ not in ("HiddenField", "SubmitField"):
                labels[field_name] = text
    return labels


def form_label(entity_type: str | None, field: str) -> str | None:
    """The label of the form field that edits this column, if a form does."""
    if not entity_type or (entity_type, field) in NOT_FROM_FORMS:
        return None
    label = _form_labels(entity_type).get(field)
    return str(label) if label is not None else None


# --- records ------------------------------------------------------------------------------------


def submission_names(ids: Iterable[int]) -> dict[tuple[str, int], str]:
    """'Progress report of FUK for 2026 H1' for each submission, and its period's name."""
    ids = set(ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(
            Submission.id,
            Submission.kind,
            Organisation.acronym,
            Organisation.name,
            ReportingPeriod.label,
        )
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .outerjoin(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .where(Submission.id.in_(ids))
    )
    names: dict[tuple[str, int], str] = {}
    for row in rows:
        kind = enum_label(SubmissionKind(row.kind))
        organisation = row.acronym or row.name
        if row.label:
            names[("submission", row.id)] = _(
                "%(kind)s of %(organisation)s for %(period)s",
                kind=kind,
                organisation=organisation,
                period=row.label,
            )
            names[("submission_period", row.id)] = row.label
        else:
            names[("submission", row.id)] = _(
                "%(kind)s of %(organisation)s", kind=kind, organisation=organisation
            )
    return names


# Kinds of record named from their own data: a change event carries only the changed fields, so
# their current row fills in the rest (`mel_app.audit.history.live_rows`).
NAMED_BY_DATA = frozenset(
    {
        "indicator_value",
        "comment",
        "attachment",
        "submission_version",
        "design_input_item",
        "membership",
        "partner",
        "score",
        "scorecard",
        "scale_point",
        "recommendation",
    }
)


def _ref(names: dict[tuple[str, int], str], table: str, value: Any) -> str | None:
    number = value if isinstance(value, int) else to_int(value)
    return names.get((table, number)) if number is not None else None


def record_name(
    entity_type: str, entity_id: str | None, data: dict[str, Any], names: dict[tuple[str, int], str]
) -> str | None:
    """A record named by what it is about, or None when this kind has no better name than its label."""
    submission = _ref(names, "submission", data.get("submission_id"))
    if entity_type == "submission":
        return _ref(names, "submission", entity_id)
    if entity_type == "indicator_value":
        indicator = _ref(names, "indicator", data.get("indicator_id"))
        period = _ref(names, "submission_period", data.get("submission_id"))
        if indicator and period:
            return _("Value of indicator %(indicator)s for %(period)s", indicator=indicator, period=period)
        if indicator:
            return _("Value of indicator %(indicator)s", indicator=indicator)
    if entity_type == "comment" and submission:
        return _("Comment — %(record)s", record=submission)
    if entity_type == "attachment" and data.get("filename"):
        if submission:
            return _("Evidence file %(name)s — %(record)s", name=data["filename"], record=submission)
        return _("Evidence file %(name)s", name=data["filename"])
    if entity_type == "submission_version" and data.get("number") and submission:
        return _("Version %(number)s — %(record)s", number=data["number"], record=submission)
    if entity_type == "design_input_item":
        about = _ref(names, "indicator", data.get("indicator_id")) or _ref(
            names, "result", data.get("result_id")
        )
        if about:
            return _("Design input on %(subject)s", subject=about)
        if submission:
            return _("Design input item — %(record)s", record=submission)
    if entity_type == "membership":
        person = _ref(names, "user", data.get("user_id"))
        if person and data.get("role"):
            from mel_app.members import role_label

            return _("%(person)s as %(role)s", person=person, role=role_label(data["role"]))
    if entity_type == "partner":
        organisation = _ref(names, "organisation", data.get("organisation_id"))
        if organisation:
            return _("Partner organisation %(name)s", name=organisation)
    if entity_type == "project_country" and data.get("country"):
        from mel_app.projects.countries import country_name

        return _("Project country %(name)s", name=country_name(str(data["country"])))
    if entity_type == "score":
        criterion = _ref(names, "criterion", data.get("criterion_id"))
        if criterion:
            return _("Score for %(criterion)s", criterion=criterion)
    if entity_type == "scorecard":
        scorer = _ref(names, "user", data.get("scorer_id"))
        if scorer:
            return _("Scorecard of %(person)s", person=scorer)
    if entity_type == "scale_point" and data.get("label"):
        return _("Scale point %(name)s", name=data["label"])
    if entity_type == "recommendation" and data.get("text"):
        text = str(data["text"])
        return _("Recommendation “%(text)s”", text=text if len(text) <= 60 else text[:59] + "…")
    return None
