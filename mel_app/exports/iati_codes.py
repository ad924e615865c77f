"""The IATI codes people choose from in the app, and the rules an IATI identifier follows.

The lists are short on purpose: the OECD DAC CRS purpose codes (IATI sector vocabulary 1) that ILO
labour and social-dialogue projects are classified under, the OrganisationType codelist, and the
currencies donors fund ILO projects in. Every code here is on the official IATI 2.03 codelists;
`tests/test_exports_iati.py` checks it against the copies vendored in `tests/iati/codelists/`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mel_app.models import OrgGroup

# OECD DAC CRS 5-digit purpose codes (IATI Sector codelist, vocabulary 1) used by ILO labour projects.
SECTORS = {
    "16020": _l("Employment creation"),
    "16070": _l("Labour rights"),
    "16080": _l("Social dialogue"),
    "16010": _l("Social protection"),
    "15150": _l("Democratic participation and civil society"),
    "15170": _l("Women's rights organisations and movements, and government institutions"),
    "11330": _l("Vocational training"),
    "25010": _l("Business policy and administration"),
    "32130": _l("Small and medium-sized enterprises (SME) development"),
    "15110": _l("Public sector policy and administrative management"),
}
SECTOR_VOCABULARY = "1"  # OECD DAC CRS purpose codes (5 digit)

# IATI OrganisationType codelist.
ORGANISATION_TYPES = {
    "10": _l("Government"),
    "11": _l("Local government"),
    "15": _l("Other public sector"),
    "21": _l("International NGO"),
    "22": _l("National NGO"),
    "23": _l("Regional NGO"),
    "24": _l("Partner country based NGO"),
    "30": _l("Public private partnership"),
    "40": _l("Multilateral"),
    "60": _l("Foundation"),
    "70": _l("Private sector"),
    "71": _l("Private sector in provider country"),
    "72": _l("Private sector in aid recipient country"),
    "73": _l("Private sector in third country"),
    "80": _l("Academic, training and research"),
    "90": _l("Other"),
}

# The type an organisation has in the IATI file unless its administrator sets another. Trade unions
# are civil society (national NGO in IATI terms); employers' organisations represent businesses.
DEFAULT_ORGANISATION_TYPE = {
    OrgGroup.workers: "22",
    OrgGroup.employers: "70",
    OrgGroup.government: "10",
    OrgGroup.ilo: "40",
    OrgGroup.donor: "10",
    OrgGroup.other: "90",
}

# ISO 4217 codes of the currencies ILO development cooperation budgets are set in.
CURRENCIES = ("USD", "EUR", "CHF", "GBP", "NOK", "SEK", "DKK", "JPY", "CAD", "AUD", "NZD", "KRW")

# An organisation identifier from org-id.guide: registration agency prefix (country or XI/XM, then
# the register) and the identifier in that register, e.g. XM-DAC-41302, GB-COH-01234567.
# The IATI rules refuse / & | ? and spaces in identifiers.
ORG_REF_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,}-[^\s/&|?]+$")


def is_valid_org_ref(ref: str) -> bool:
    return bool(ORG_REF_RE.fullmatch(ref or ""))


def normalise_org_ref(ref: str | None) -> str | None:
    return (ref or "").strip().upper() or None


def org_ref_error(ref: str | None) -> str | None:
    """Why an IATI organisation identifier cannot be used, or None (no identifier is fine)."""
    if ref is None or is_valid_org_ref(ref):
        return None
    return _(
        "An IATI organisation identifier is the register's prefix and the number in it, e.g. "
        "XM-DAC-41302 or GB-COH-01234567, without spaces or the signs / & | ?. See org-id.guide."
    )


def organisation_type(group: OrgGroup, chosen: str | None) -> str:
    return chosen or DEFAULT_ORGANISATION_TYPE[group]


def activity_identifier(org_ref: str, reference: str) -> str:
    """The IATI activity identifier: the reporting organisation's identifier, a hyphen, and the
    project reference with every run of other characters made a hyphen (RAF/22/11/NOR becomes
    XM-DAC-41302-RAF-22-11-NOR), since the validator warns about `/` in identifiers."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", reference).strip("-")
    return f"{org_ref}-{slug}"


def even_split(count: int) -> list[Decimal]:
    """Whole percentages that add up to exactly 100, the first ones taking the remainder.

    Whole numbers keep the sum exact for every reader, including ones that add in floating point.
    """
    if count <= 0:
        return []
    base, remainder = divmod(100, count)
    return [Decimal(base + (1 if i < remainder else 0)) for i in range(count)]
