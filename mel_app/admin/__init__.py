"""Administration of accounts and organisations (administrators only)."""

from __future__ import annotations

import unicodedata

from flask_babel import get_locale
from wtforms.fields.choices import SelectChoice

from mel_app.enum_labels import label
from mel_app.models import OrgGroup

# Codes CLDR knows that are not ISO 3166-1 countries (regions, reservations, test codes).
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)


def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> country name in the user's language."""
    territories = get_locale().territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


def _sort_key(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def country_choices() -> list[SelectChoice]:
    names = country_names()
    choices = [SelectChoice(code, f"{name} ({code})") for code, name in names.items()]
    return sorted(choices, key=lambda c: _sort_key(c.label))


def group_label(group: OrgGroup | str) -> str:
    return label(OrgGroup(group))
