"""The one country catalogue, for organisations and projects alike.

The codes and names come from the CLDR data that ships with Babel, so that no hand-kept list can
fall behind or disagree with another one, and names are shown in the user's language. The codes are
ISO 3166-1 alpha-2 plus XK for Kosovo, which ISO has not assigned but IATI's Country codelist uses:
every code offered here can be published in the IATI file.
"""

from __future__ import annotations

import unicodedata

from babel import Locale
from flask_babel import get_locale

# Two-letter codes CLDR knows that are not countries: regions, exceptional reservations and codes
# for tests or unknown places. None of them is on IATI's Country codelist.
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)

_ENGLISH = Locale("en")
COUNTRY_CODES = frozenset(
    code
    for code in _ENGLISH.territories
    if len(code) == 2 and code.isalpha() and code.isupper() and code not in _NOT_COUNTRIES
)


def is_country_code(code: str | None) -> bool:
    return (code or "") in COUNTRY_CODES


def country_code(text: str | None) -> str | None:
    """The catalogue's code for a country a query string or a filter names (in any case, spaces
    around), or None when it names none: input reaches no query unchecked."""
    code = (text or "").strip().upper()
    return code if code in COUNTRY_CODES else None


def _locale(locale: Locale | None) -> Locale:
    if locale is not None:
        return locale
    try:
        return get_locale() or _ENGLISH
    except RuntimeError:  # outside a request: English
        return _ENGLISH


def country_name(code: str, locale: Locale | None = None) -> str:
    """The country's name in the given (default: the request's) language, else in English."""
    return _locale(locale).territories.get(code) or _ENGLISH.territories.get(code) or code


def country_names(locale: Locale | None = None) -> dict[str, str]:
    """Every code of the catalogue -> the country's name in the given (default: the request's) language."""
    loc = _locale(locale)
    return {code: country_name(code, loc) for code in COUNTRY_CODES}


def _sort_key(text: str) -> str:
    # Accents aside, so that Égypte sorts with the E's in French.
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def country_choices() -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in the user's language, for select lists."""
    return sorted(country_names().items(), key=lambda c: _sort_key(c[1]))
