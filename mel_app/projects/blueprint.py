"""The projects blueprint, shared by the project, framework, spreadsheet and period pages."""

from __future__ import annotations

from flask import Blueprint

from mel_app.projects import ilo_terms
from mel_app.projects.countries import country_name

bp = Blueprint("projects", __name__)

# Enumeration labels come from the `label` filter (mel_app/enum_labels.py); only what is not an
# enumeration is offered to templates here.
bp.add_app_template_global(country_name, "country_name")
# The ILO tags of a project or a result as (scheme, code, label), in the catalogue's order.
bp.add_app_template_global(ilo_terms.labelled, "ilo_tags")
