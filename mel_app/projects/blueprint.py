"""The projects blueprint, shared by the project, framework, spreadsheet and period pages."""

from __future__ import annotations

from flask import Blueprint

from mel_app.dates import format_date, format_month
from mel_app.projects import ilo_terms
from mel_app.projects.countries import country_name

bp = Blueprint("projects", __name__)

# Enumeration labels come from the `label` filter (mel_app/enum_labels.py); only what is not an
# enumeration is offered to templates here.
bp.add_app_template_global(country_name, "country_name")
# The ILO tags of a project or a result as (scheme, code, label), in the catalogue's order.
bp.add_app_template_global(ilo_terms.labelled, "ilo_tags")


def outcome_when(outcome: object) -> str:
    """When an outcome's change happened: its day, or its month when only the month is known."""
    day = getattr(outcome, "changed_on", None)
    return format_month(day) if getattr(outcome, "month_only", False) else format_date(day)


bp.add_app_template_global(outcome_when, "outcome_when")
