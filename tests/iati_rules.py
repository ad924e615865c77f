"""Check an IATI 2.03 activity file the way the IATI Validator does, from files in the repository.

Three layers, each returning a list of problems (empty when the file is publishable):
- `schema_problems`: the official 2.03 XML Schema (`tests/iati/schema/`);
- `codelist_problems`: every coded attribute against the official codelist (`tests/iati/codelists/`);
- `rule_problems`: the checks of the Validator's 2.03 ruleset (IATI-Rulesets, rulesets/standard.json)
  that apply to the elements this app writes, named by the ruleset's rule ids, plus two of ours
  ("dates" — result periods inside the activity's dates; "org-type" — every participating
  organisation has a type).

Where the ruleset reads percentages as floating-point numbers, this checker adds them exactly
(decimals), which is stricter. Source and licence of the vendored files: `tests/iati/README.md`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

IATI_DIR = Path(__file__).resolve().parent / "iati"
SCHEMA_FILE = IATI_DIR / "schema" / "iati-activities-schema.xsd"
CODELIST_DIR = IATI_DIR / "codelists"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FORBIDDEN_IN_IDS = re.compile(r"[/&|?]")
NON_QUALITATIVE = {"1", "2", "3", "4"}


@dataclass(frozen=True)
class Problem:
    rule: str
    activity: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.activity}: {self.message}"


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of a vendored codelist, without the withdrawn ones."""
    root = etree.parse(str(CODELIST_DIR / f"{name}.xml")).getroot()
    return frozenset(
        item.findtext("code").strip()
        for item in root.iter("codelist-item")
        if item.get("status", "active") != "withdrawn"
    )


def schema_problems(root: etree._Element) -> list[Problem]:
    validator = schema()
    if validator.validate(root):
        return []
    return [Problem("schema", f"line {e.line}", e.message) for e in validator.error_log]


# (XPath from the activity to the coded attributes, codelist). Sector codes are checked only for
# vocabulary 1 (the OECD DAC list); other vocabularies have lists of their own.
CODED = [
    ("@xml:lang", "Language"),
    (".//narrative/@xml:lang", "Language"),
    ("@default-currency", "Currency"),
    ("reporting-org/@type", "OrganisationType"),
    ("participating-org/@type", "OrganisationType"),
    ("participating-org/@role", "OrganisationRole"),
    ("other-identifier/@type", "OtherIdentifierType"),
    ("description/@type", "DescriptionType"),
    ("activity-status/@code", "ActivityStatus"),
    ("activity-date/@type", "ActivityDateType"),
    ("recipient-country/@code", "Country"),
    ("sector/@vocabulary", "SectorVocabulary"),
    ("sector[@vocabulary='1' or not(@vocabulary)]/@code", "Sector"),
    ("budget/@type", "BudgetType"),
    ("budget/@status", "BudgetStatus"),
    ("budget/value/@currency", "Currency"),
    ("result/@type", "ResultType"),
    ("result/reference/@vocabulary", "ResultVocabulary"),
    ("result/indicator/@measure", "IndicatorMeasure"),
    ("result/indicator/reference/@vocabulary", "IndicatorVocabulary"),
]


def _id(activity: etree._Element) -> str:
    return (activity.findtext("iati-identifier") or "?").strip()


def codelist_problems(root: etree._Element) -> list[Problem]:
    problems = []
    for activity in root.iter("iati-activity"):
        for path, name in CODED:
            codes = codelist(name)
            for value in activity.xpath(path):
                if str(value) not in codes:
                    problems.append(Problem(name, _id(activity), f"{path} = {value!r} is not on {name}"))
    return problems


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text is not None else None
    except InvalidOperation:
        return None


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _percentages(
    problems: list[Problem], activity: etree._Element, elements, *, what: str, many: str
) -> None:
    """One of several elements each carries a percentage, and together they make 100."""
    ident = _id(activity)
    shares = [_decimal(e.get("percentage")) for e in elements]
    for e, share in zip(elements, shares, strict=True):
        if e.get("percentage") is not None and (share is None or not 0 <= share <= 100):
            problems.append(
                Problem("12.1.1", ident, f"{what} percentage {e.get('percentage')!r} not in 0–100")
            )
    if len(elements) == 1:
        if shares[0] is not None and shares[0] != 100:
            problems.append(
                Problem(f"{many}.4", ident, f"a single {what} has percentage {shares[0]}, not 100")
            )
        return
    if len(elements) > 1:
        if any(s is None for s in shares):
            problems.append(Problem(f"{many}.1", ident, f"several {what}s, not all with a percentage"))
        elif sum(shares) != 100:
            problems.append(
                Problem(f"{many}.2", ident, f"{what} percentages add up to {sum(shares)}, not 100")
            )


def rule_problems(root: etree._Element, *, now: datetime | None = None) -> list[Problem]:
    now = now or datetime.now(UTC)
    problems: list[Problem] = []
    for activity in root.iter("iati-activity"):
        problems.extend(_activity_problems(activity, now))
    return problems


def _activity_problems(activity: etree._Element, now: datetime) -> list[Problem]:  # noqa: C901, PLR0912
    problems: list[Problem] = []
    ident = _id(activity)

    def fail(rule: str, message: str) -> None:
        problems.append(Problem(rule, ident, message))

    # Identifiers (1.x)
    raw_identifier = activity.findtext("iati-identifier") or ""
    org_ref = activity.xpath("string(reporting-org/@ref)")
    if raw_identifier != raw_identifier.strip():
        fail("1.3.1", "the iati-identifier starts or ends with spaces")
    if FORBIDDEN_IN_IDS.search(raw_identifier) or re.search(r"\s", raw_identifier.strip()):
        fail("1.3.13", f"the iati-identifier {raw_identifier!r} contains / & | ? or a space")
    if raw_identifier.strip() == org_ref:
        fail("1.1.3", "the iati-identifier is the reporting organisation's identifier")
    if not org_ref or not raw_identifier.startswith(f"{org_ref}-"):
        fail("1.1.21", f"the iati-identifier does not begin with {org_ref!r} and a hyphen")
    if FORBIDDEN_IN_IDS.search(org_ref) or org_ref != org_ref.strip():
        fail("1.14.13", f"the reporting-org identifier {org_ref!r} contains / & | ? or spaces")
    for org in activity.findall("participating-org"):
        ref = org.get("ref")
        if ref is None and not org.xpath("narrative/text()"):
            fail("6.10.1", "a participating-org has neither an identifier nor a name")
        if ref is not None and (FORBIDDEN_IN_IDS.search(ref) or ref != ref.strip() or not ref):
            fail("1.8.13", f"participating-org identifier {ref!r} contains / & | ?, spaces or nothing")
        if org.get("type") is None:
            fail("org-type", f"participating-org {org.xpath('string(narrative)')!r} has no @type")
    for owner in activity.findall("other-identifier/owner-org"):
        ref = owner.get("ref")
        if ref is None and not owner.xpath("narrative/text()"):
            fail("6.8.1", "an other-identifier owner-org has neither an identifier nor a name")
        if ref is not None and FORBIDDEN_IN_IDS.search(ref):
            fail("1.11.13", f"owner-org identifier {ref!r} contains / & | ?")

    # Language and narratives (4.x)
    if activity.get(XML_LANG) is None and activity.xpath(".//narrative[not(@xml:lang)]"):
        fail("4.1.1", "no default language and a narrative without xml:lang")
    for title in activity.iter("title"):
        if not "".join(title.xpath("narrative/text()")).strip():
            fail("4.3.1", "a title without narrative text")
    for description in activity.iter("description"):
        if not "".join(description.xpath("narrative/text()")).strip():
            fail("4.4.1", "a description without narrative text")

    # Dates (6.11.1, 11.x)
    updated = activity.get("last-updated-datetime")
    if updated:
        moment = datetime.fromisoformat(updated.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if moment > now:
            fail("11.1.1", f"last-updated-datetime {updated} is in the future")
    dates = {t: _date(activity.xpath(f"string(activity-date[@type='{t}']/@iso-date)")) for t in "1234"}
    if dates["1"] is None and dates["2"] is None:
        fail("6.11.1", "no planned or actual start date")
    if dates["1"] and dates["3"] and not dates["1"] < dates["3"]:
        fail("11.1.2", "the planned start is not before the planned end")
    if dates["2"] and dates["4"] and not dates["2"] < dates["4"]:
        fail("11.1.3", "the actual start is not before the actual end")
    for kind, rule in (("2", "11.1.4"), ("4", "11.1.5")):
        if dates[kind] and dates[kind] > now.date():
            fail(rule, f"activity-date type {kind} is in the future")

    # Countries and sectors (2.x, 3.x, 6.2.2, 12.x)
    countries = activity.findall("recipient-country")
    regions = activity.findall("recipient-region")
    if not countries and not regions:
        fail("3.7.1", "no recipient country or region")
    if regions:
        by_vocabulary = defaultdict(list)
        for region in regions:
            by_vocabulary[region.get("vocabulary", "1")].append(region)
        for group in by_vocabulary.values():
            _percentages(problems, activity, countries + group, what="country or region", many="3.4")
    else:
        _percentages(problems, activity, countries, what="recipient-country", many="3.1")
    sectors = activity.findall("sector")
    if not sectors and not activity.findall("transaction/sector"):
        fail("6.2.2", "no sector")
    by_vocabulary = defaultdict(list)
    for sector in sectors:
        by_vocabulary[sector.get("vocabulary") or "1"].append(sector)
    for group in by_vocabulary.values():
        _percentages(problems, activity, group, what="sector", many="2.1")
    for sector in sectors:
        share = _decimal(sector.get("percentage"))
        if sector.get("percentage") is not None and (share is None or not 0 <= share <= 100):
            fail("12.3.1", f"sector percentage {sector.get('percentage')!r} not in 0–100")

    # Money (7.x, 8.6.3)
    has_default_currency = activity.get("default-currency") is not None
    for value in activity.xpath("budget/value | planned-disbursement/value | transaction/value"):
        if not has_default_currency and value.get("currency") is None:
            fail("7.8.1", "a value without currency and no default-currency")
    for budget in activity.findall("budget"):
        start = _date(budget.xpath("string(period-start/@iso-date)"))
        end = _date(budget.xpath("string(period-end/@iso-date)"))
        if start and end and not start < end:
            fail("8.6.3", f"budget period {start} – {end} does not start before it ends")
        if start and end and end > _one_year_after(start):
            fail("7.5.3", f"budget period {start} – {end} is longer than one year")

    # Results (8.x) and our "dates" rule: every result period inside the activity.
    first_day = min((d for d in (dates["1"], dates["2"]) if d), default=None)
    last_day = max((d for d in (dates["3"], dates["4"]) if d), default=None)
    for indicator in activity.xpath("result/indicator"):
        code = indicator.xpath("string(reference/@code)") or indicator.xpath("string(title/narrative)")
        if indicator.find("reference") is not None and indicator.getparent().find("reference") is not None:
            fail("8.11.1", f"indicator {code}: reference on both the result and the indicator")
        measure = indicator.get("measure")
        for path, rule in (("baseline", "8.8"), ("period/target", "8.9"), ("period/actual", "8.10")):
            for element in indicator.xpath(path):
                value = element.get("value")
                if measure in NON_QUALITATIVE and value is None:
                    fail(f"{rule}.1", f"indicator {code}: {path} without a value")
                elif measure in NON_QUALITATIVE and _decimal(value) is None:
                    fail(f"{rule}.2", f"indicator {code}: {path} value {value!r} is not a number")
                elif measure == "5" and value is not None:
                    fail(f"{rule}.3", f"indicator {code}: qualitative {path} with a value")
        for period in indicator.findall("period"):
            start = _date(period.xpath("string(period-start/@iso-date)"))
            end = _date(period.xpath("string(period-end/@iso-date)"))
            if start and end and not start < end:
                fail("8.6.1", f"indicator {code}: period {start} – {end} does not start before it ends")
            if (start and first_day and start < first_day) or (end and last_day and end > last_day):
                fail("dates", f"indicator {code}: period {start} – {end} outside the activity")
    return problems


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def all_problems(root: etree._Element, *, now: datetime | None = None) -> list[Problem]:
    return schema_problems(root) + codelist_problems(root) + rule_problems(root, now=now)
