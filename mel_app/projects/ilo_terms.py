"""The ILO's own terms for reading its portfolio, tagged on projects and results.

- Decent Work Country Programme (DWCP) outcomes: the country's ISO 3166 alpha-3 letters, a space and
  three digits, e.g. KEN 101. Every country programme numbers its own outcomes, so the shape and the
  country's letters are checked, not the number.
- Programme and Budget (P&B) 2024-25 policy outcomes 1 to 8: a vetted list.
- SDG targets the decent work agenda serves: a vetted list with short labels.

Codes are stable (they are stored and exported); labels are translated when shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from babel.core import get_global
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mel_app.models import TagScheme
from mel_app.projects.countries import COUNTRY_CODES

PB_OUTCOMES: dict[str, Any] = {
    "1": _l("Strong tripartite constituents and influential and inclusive social dialogue"),
    "2": _l("International labour standards and authoritative and effective supervision"),
    "3": _l(
        "Economic, social and environmental transitions for full, productive and freely chosen "
        "employment and decent work for all"
    ),
    "4": _l(
        "Sustainable enterprises as generators of employment and promoters of innovation and decent work"
    ),
    "5": _l("Skills and lifelong learning to facilitate access to and transitions in the labour market"),
    "6": _l("Gender equality and equal opportunities and treatment for all in the world of work"),
    "7": _l("Adequate and effective protection at work for all"),
    "8": _l("Comprehensive and sustainable social protection for all"),
}

SDG_TARGETS: dict[str, Any] = {
    "1.3": _l("Social protection systems for all"),
    "4.4": _l("Skills for decent jobs"),
    "5.1": _l("End discrimination against women and girls"),
    "5.4": _l("Value unpaid care and domestic work"),
    "5.5": _l("Women's full participation and leadership"),
    "8.3": _l("Decent job creation and formalisation"),
    "8.5": _l("Full employment and equal pay for work of equal value"),
    "8.6": _l("Youth not in employment, education or training"),
    "8.7": _l("End forced labour and child labour"),
    "8.8": _l("Labour rights and safe, secure working environments"),
    "8.b": _l("Global strategy for youth employment"),
    "10.4": _l("Fiscal, wage and social protection policies for equality"),
    "10.7": _l("Safe, orderly and regular migration"),
    "16.10": _l("Public access to information and fundamental freedoms"),
}

DWCP_RE = re.compile(r"^([A-Z]{3}) (\d{3})$")
_DWCP_TOKEN = re.compile(r"[A-Za-z]{3}[\s_-]*\d{3}")
DWCP_MAX = 40  # codes on one owner: far more than any programme has outcomes

# The ISO 3166 alpha-3 codes of the countries of the one country catalogue (CLDR's aliases), but
# for the retired codes CLDR keeps beside the current ones (BUR for MMR, ZAR for COD...).
_RETIRED_ALPHA3 = frozenset({"BUR", "DDR", "FXX", "TMP", "YMD", "ZAR"})
ALPHA3 = frozenset(
    code
    for code, targets in get_global("territory_aliases").items()
    if len(code) == 3
    and code.isalpha()
    and len(targets) == 1
    and targets[0] in COUNTRY_CODES
    and code not in _RETIRED_ALPHA3
)


class TagError(ValueError):
    """Codes a scheme refuses; the message is for the user and names every code refused."""


def normalise_dwcp(code: str) -> str | None:
    """ "ken101", " Ken  101 " → "KEN 101"; None unless a country's alpha-3 letters and three digits."""
    compact = re.sub(r"[\s_-]+", " ", (code or "").strip().upper())
    compact = re.sub(r"^([A-Z]{3})(\d{3})$", r"\1 \2", compact)
    match = DWCP_RE.fullmatch(compact)
    if match is None or match.group(1) not in ALPHA3:
        return None
    return compact


def split_codes(text: str | None) -> list[str]:
    """The codes typed in one box: separated by commas, semicolons, line breaks or spaces (a code
    holds a space itself, so "KEN 101 UGA 102" is two codes). A piece that is not made of codes is
    kept whole, for the message to name it."""
    out: list[str] = []
    for part in re.split(r"[,;\n\r]+", text or ""):
        part = part.strip()
        if not part:
            continue
        found = _DWCP_TOKEN.findall(part)
        if found and not _DWCP_TOKEN.sub(" ", part).strip():
            out.extend(found)
        else:
            out.append(part)
    return out


def dwcp_error(codes: Iterable[str]) -> str | None:
    bad = [code for code in codes if normalise_dwcp(code) is None]
    if bad:
        return _(
            "Not a DWCP outcome code: %(codes)s. Write the country's three letters (ISO 3166 alpha-3), "
            "a space and the outcome's three digits, e.g. KEN 101.",
            codes=", ".join(bad),
        )
    return None


def dwcp_codes(text: str | None) -> list[str]:
    """The DWCP outcome codes typed in `text`, normalised, in order, without repeats; TagError
    names every piece that is not a code like KEN 101."""
    raw = split_codes(text)
    if message := dwcp_error(raw):
        raise TagError(message)
    codes: list[str] = []
    for code in raw:
        normal = normalise_dwcp(code)
        if normal is not None and normal not in codes:
            codes.append(normal)
    if len(codes) > DWCP_MAX:
        raise TagError(_("At most %(n)s DWCP outcomes.", n=DWCP_MAX))
    return codes


@dataclass
class Tags:
    """What a project or a result is tagged with, by scheme."""

    dwcp: list[str] = field(default_factory=list)
    pb: list[str] = field(default_factory=list)
    sdg: list[str] = field(default_factory=list)

    def pairs(self) -> list[tuple[TagScheme, str]]:
        return (
            [(TagScheme.dwcp, c) for c in self.dwcp]
            + [(TagScheme.pb, c) for c in self.pb]
            + [(TagScheme.sdg, c) for c in self.sdg]
        )

    @classmethod
    def of(cls, rows: Iterable[Any]) -> Tags:
        """From stored tag rows (anything with `scheme` and `code`), in the catalogue's order."""
        tags = cls()
        for row in rows:
            getattr(tags, TagScheme(row.scheme).value).append(row.code)
        return tags.sorted()

    def sorted(self) -> Tags:
        return Tags(
            dwcp=sorted(set(self.dwcp)),
            pb=[c for c in PB_OUTCOMES if c in set(self.pb)],
            sdg=[c for c in SDG_TARGETS if c in set(self.sdg)],
        )


def tags_error(tags: Tags) -> str | None:
    """Why these tags cannot be stored, or None: a DWCP code of the wrong shape, a P&B outcome or an
    SDG target off the vetted lists (a form posted by hand, a spreadsheet)."""
    if message := dwcp_error(tags.dwcp):
        return message
    if len({normalise_dwcp(c) for c in tags.dwcp}) > DWCP_MAX:
        return _("At most %(n)s DWCP outcomes.", n=DWCP_MAX)
    if bad := [c for c in tags.pb if c not in PB_OUTCOMES]:
        return _("Not a P&B outcome: %(codes)s. Choose outcomes from 1 to 8.", codes=", ".join(bad))
    if bad := [c for c in tags.sdg if c not in SDG_TARGETS]:
        return _("Not an SDG target of the list: %(codes)s.", codes=", ".join(bad))
    return None


def label(scheme: TagScheme | str, code: str) -> str:
    """What a user reads for a tag: the code and, for the vetted lists, its short label."""
    scheme = TagScheme(scheme)
    if scheme is TagScheme.pb and code in PB_OUTCOMES:
        return _("P&B outcome %(code)s: %(label)s", code=code, label=PB_OUTCOMES[code])
    if scheme is TagScheme.sdg and code in SDG_TARGETS:
        return _("SDG %(code)s %(label)s", code=code, label=SDG_TARGETS[code])
    return _("DWCP %(code)s", code=code)


def labelled(rows: Iterable[Any]) -> list[tuple[str, str, str]]:
    """(scheme, code, label) of stored tags, in the catalogue's order, for a page."""
    tags = Tags.of(rows)
    return [(scheme.value, code, label(scheme, code)) for scheme, code in tags.pairs()]


def pb_choices() -> list[tuple[str, str]]:
    return [(code, f"{code}. {text}") for code, text in PB_OUTCOMES.items()]


def sdg_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} {text}") for code, text in SDG_TARGETS.items()]


def checked(tags: Tags) -> Tags:
    """The tags as they are stored (DWCP codes normalised, repeats dropped, the catalogue's order);
    TagError when a code is refused."""
    if message := tags_error(tags):
        raise TagError(message)
    return Tags(dwcp=[normalise_dwcp(c) or c for c in tags.dwcp], pb=tags.pb, sdg=tags.sdg).sorted()


def apply_tags(owner: Any, tags: Tags, row: Any) -> bool:
    """Make `owner.tags` (a project's or a result's) hold `tags`, each a `row(scheme=, code=)`.
    Rows that stay are kept, so the audit trail records only what was added or removed; no
    commit. Returns
    whether anything changed; TagError when a code is refused."""
    wanted = checked(tags).pairs()
    have = {(TagScheme(t.scheme), t.code): t for t in owner.tags}
    if set(have) == set(wanted):
        return False
    # A row left out is deleted as an orphan of the collection, and recorded deleted in the trail.
    owner.tags = [have.get(pair) or row(scheme=pair[0], code=pair[1]) for pair in wanted]
    return True
