"""Administration of accounts and organisations (administrators only)."""

from __future__ import annotations

from wtforms.fields.choices import SelectChoice

from mel_app.enum_labels import label
from mel_app.models import OrgGroup
from mel_app.projects import countries
from mel_app.projects.countries import country_names

__all__ = ["country_choices", "country_names", "group_label"]


def country_choices() -> list[SelectChoice]:
    """The country catalogue shared with projects, labelled with the code as administrators know it."""
    return [SelectChoice(code, f"{name} ({code})") for code, name in countries.country_choices()]


def group_label(group: OrgGroup | str) -> str:
    return label(OrgGroup(group))
