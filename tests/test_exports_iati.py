"""The IATI 2.03 activity file: valid against the official schema, its codelists and the Validator's
ruleset checks, for the fixed world, the demo and a generated portfolio; and a checker that fails."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import etree

from mel_app.exports.iati_codes import (
    CURRENCIES,
    DEFAULT_ORGANISATION_TYPE,
    ORGANISATION_TYPES,
    SECTORS,
    activity_identifier,
    even_split,
)
from mel_app.extensions import db
from mel_app.models import Project, ProjectSector
from tests.exports_world import build_world, download
from tests.iati_rules import all_problems, codelist, codelist_problems, rule_problems, schema_problems

SECTOR_SHARES = {"RAF/22/11/NOR": {"16070": 60, "15170": 40}, "RAF/23/05/FIN": {"16020": 100}}


def _classify(app, ids) -> None:
    """Give the world's projects their sectors and donor type, as a specialist does in the project form."""
    with app.app_context():
        for project_id in (ids["project"], ids["other_project"]):
            project = db.session.get(Project, project_id)
            shares = SECTOR_SHARES[project.reference]
            project.sectors = [ProjectSector(code=c, percentage=Decimal(p)) for c, p in shares.items()]
            if project.donor:
                project.donor_iati_type = "10"  # Norway: a government
        db.session.commit()


@pytest.fixture
def world(app, make):
    w = build_world(make)
    _classify(app, w.ids)
    return w


def _iati(client, **scope) -> etree._Element:
    resp, body = download(client, "iati", **scope)
    assert resp.status_code == 200, body[:300]
    assert resp.mimetype == "application/xml"
    assert body.startswith(b"<?xml")
    return etree.fromstring(body)


def _indicator(activity, code):
    return activity.xpath(f"result/indicator[reference/@code='{code}']")[0]


def _activity(root, reference):
    return root.xpath(f"iati-activity[other-identifier[@type='A1']/@ref='{reference}']")[0]


def _assert_publishable(root) -> None:
    problems = all_problems(root)
    assert problems == [], "\n".join(str(p) for p in problems[:30])


def test_the_iati_file_passes_the_schema_the_codelists_and_the_rules(client, login, world):
    login(world.users["specialist"])
    for scope in ({}, {"all_statuses": "y"}, {"period_from": "2026-01-01"}):
        root = _iati(client, **scope)
        _assert_publishable(root)
    assert root.get("version") == "2.03"
    assert len(root.findall("iati-activity")) == 2


def test_the_demo_iati_file_is_publishable(app, client, login, demo):
    login("specialist@example.org", "demo-password-2026")
    root = _iati(client, all_statuses="y")
    _assert_publishable(root)
    assert len(root.findall("iati-activity")) == 4
    # Change stories stay out of the IATI file, consented or not.
    text = etree.tostring(root, encoding="unicode")
    for words in ("Mombasa", "Platform riders", "flower farm", "safety committee", "Most Significant"):
        assert words not in text

    nor = _activity(root, "RAF/22/11/NOR")
    assert nor.findtext("iati-identifier") == "XM-DAC-41302-RAF-22-11-NOR"
    assert [(c.get("code"), c.get("percentage")) for c in nor.findall("recipient-country")] == [
        ("GH", "30"),
        ("KE", "40"),
        ("SN", "30"),
    ]
    assert [(s.get("vocabulary"), s.get("code"), s.get("percentage")) for s in nor.findall("sector")] == [
        ("1", "15170", "40"),
        ("1", "16070", "60"),
    ]
    # The donor with its identifier and type; the partners with the type of their constituency.
    orgs = {
        o.findtext("narrative"): (o.get("role"), o.get("type"), o.get("ref"))
        for o in nor.iter("participating-org")
    }
    assert orgs["Norway"] == ("1", "10", "XM-DAC-8")
    assert orgs["International Labour Organization"] == ("2", "40", "XM-DAC-41302")
    assert orgs["Fictional Federation of Kenya Employers"] == ("4", "70", None)
    assert orgs["Fictional Ministry of Labour and Social Protection, Kenya"] == ("4", "10", None)
    # A planned budget of 4.5 million over five years: one budget per project year, adding up.
    assert nor.get("default-currency") == "USD"
    budgets = nor.findall("budget")
    assert [
        (b.find("period-start").get("iso-date"), b.find("period-end").get("iso-date")) for b in budgets
    ] == [
        ("2022-07-01", "2023-06-30"),
        ("2023-07-01", "2024-06-30"),
        ("2024-07-01", "2025-06-30"),
        ("2025-07-01", "2026-06-30"),
        ("2026-07-01", "2027-06-30"),
    ]
    assert sum(Decimal(b.findtext("value")) for b in budgets) == Decimal("4500000")
    # Several countries without shares: an even split in whole percentages that makes 100.
    ssc = _activity(root, "INT/24/07/SSC")
    assert [c.get("percentage") for c in ssc.findall("recipient-country")] == ["25", "25", "25", "25"]
    rbsa = _activity(root, "GLO/24/51/RBS")
    assert {c.get("percentage") for c in rbsa.findall("recipient-country")} == {"25"}
    assert ssc.find("budget") is None and ssc.get("default-currency") is None


def test_a_generated_portfolio_iati_file_is_publishable(app, client, login, runner, make):
    result = runner.invoke(args=["seed-load", "--scale", "0.1", "--seed", "3", "--as-of", "2026-11-27"])
    assert result.exit_code == 0, result.output
    admin = make.user("iati-admin@example.org", is_admin=True, full_name="Ida Admin")
    assert admin
    login("iati-admin@example.org")
    root = _iati(client, all_statuses="y")
    activities = root.findall("iati-activity")
    assert len(activities) == 5
    _assert_publishable(root)
    # The generator covers the cases the rules are about.
    assert any(len(a.findall("sector")) > 1 for a in activities)
    assert any(len(a.findall("recipient-country")) > 1 for a in activities)
    assert any(a.find("budget") is not None for a in activities)


def test_results_and_indicators_use_the_iati_codelists(client, login, world):
    login(world.users["evaluator"])
    root = _iati(client)
    (activity,) = root.findall("iati-activity")
    assert activity.findtext("iati-identifier") == "XM-DAC-41302-RAF-22-11-NOR"
    other = activity.find("other-identifier")
    assert (other.get("type"), other.get("ref")) == ("A1", "RAF/22/11/NOR")
    # Two countries, no shares given: an even split.
    countries = [(c.get("code"), c.get("percentage")) for c in activity.findall("recipient-country")]
    assert countries == [("CI", "50"), ("KE", "50")]
    assert activity.find("activity-status").get("code") == "2"  # implementation
    types = {r.findtext("title/narrative"): r.get("type") for r in activity.findall("result")}
    # Result type: 1 output, 2 outcome, 3 impact; a result without indicators is left out.
    assert types == {
        "Rights at work are respected": "3",
        "Unions represent more women": "2",
        "Organising campaigns": "1",
    }
    # References on the indicators only (rule 8.11.1).
    assert activity.xpath("result/reference") == []
    measures = {i.find("reference").get("code"): i.get("measure") for i in activity.iter("indicator")}
    # Measure: 1 unit, 2 percentage, 3 nominal (yes/no), 5 qualitative.
    assert measures == {"1.a": "1", "1.b": "2", "1.1.a": "3", "0.a": "5"}
    types = {o.findtext("narrative"): o.get("type") for o in activity.findall("participating-org")}
    assert types["Kenya Union Centre"] == "22"  # a trade union: national NGO
    assert types["Employers of Côte d'Ivoire"] == "70"  # an employers' organisation: private sector


def test_baselines_targets_and_actuals_with_sex_dimensions(client, login, world):
    login(world.users["evaluator"])
    (activity,) = _iati(client).findall("iati-activity")
    members = _indicator(activity, "1.a")
    assert members.get("ascending") == "1"
    baseline = members.find("baseline")
    assert (baseline.get("year"), baseline.get("iso-date"), baseline.get("value")) == (
        "2024",
        "2024-01-01",
        "100",
    )
    periods = members.findall("period")
    actual_period = next(p for p in periods if p.find("actual") is not None)
    assert actual_period.find("period-start").get("iso-date") == "2025-07-01"
    assert actual_period.find("period-end").get("iso-date") == "2025-12-31"
    actuals = {
        (a.find("dimension").get("value") if a.find("dimension") is not None else "total"): a.get("value")
        for a in actual_period.findall("actual")
    }
    assert actuals == {"total": "200", "female": "110", "male": "90"}
    target_period = next(p for p in periods if p.find("target") is not None)
    assert target_period.find("target").get("value") == "300"
    # From the start of the activity to the target date, inside the activity.
    assert target_period.find("period-start").get("iso-date") == "2024-01-01"
    assert target_period.find("period-end").get("iso-date") == "2027-12-31"
    # Approved reports only: the submitted 2026 H1 report is not published.
    assert len([p for p in periods if p.find("actual") is not None]) == 1

    share = _indicator(activity, "1.b")
    assert share.find("period/actual").get("value") == "35.25"
    story = _indicator(activity, "0.a")
    assert story.get("ascending") is None and story.find("baseline") is None
    comment = story.find("period/actual/comment/narrative").text
    assert "Unions were heard at the national council." in comment


def test_a_target_after_the_end_of_the_project_ends_with_the_project(app, client, login, world):
    with app.app_context():
        project = db.session.get(Project, world["project"])
        project.end_date = project.end_date.replace(year=2026, month=12, day=31)
        db.session.commit()
    login(world.users["evaluator"])
    (activity,) = _iati(client).findall("iati-activity")
    target_period = next(
        p for p in _indicator(activity, "1.a").findall("period") if p.find("target") is not None
    )
    assert target_period.find("period-end").get("iso-date") == "2026-12-31"
    assert [p for p in rule_problems(activity.getparent()) if p.rule == "dates"] == []


def test_non_ascii_names_survive(client, login, world):
    login(world.users["evaluator"])
    (activity,) = _iati(client).findall("iati-activity")
    names = [n.text for n in activity.findall("participating-org/narrative")]
    assert "Fédération des Travailleurs de Côte d'Ivoire — Ünion «Solidarité»" in names


# --- the codes the app offers are the official ones --------------------------------------------


def test_the_codes_offered_in_the_forms_are_on_the_official_codelists():
    assert set(SECTORS) <= codelist("Sector")
    assert set(ORGANISATION_TYPES) <= codelist("OrganisationType")
    assert set(DEFAULT_ORGANISATION_TYPE.values()) <= set(ORGANISATION_TYPES)
    assert set(CURRENCIES) <= codelist("Currency")


def test_identifiers_and_even_splits():
    assert activity_identifier("XM-DAC-41302", "RAF/04/M55/NET") == "XM-DAC-41302-RAF-04-M55-NET"
    for n in range(1, 12):
        shares = even_split(n)
        assert sum(shares) == 100 and max(shares) - min(shares) <= 1


# --- the checker fails on broken files -----------------------------------------------------------

VALID = """<?xml version="1.0" encoding="UTF-8"?>
<iati-activities version="2.03" generated-datetime="2026-01-01T00:00:00Z">
 <iati-activity last-updated-datetime="2026-01-01T00:00:00Z" xml:lang="en" default-currency="USD"
   hierarchy="1">
  <iati-identifier>XM-DAC-41302-RAF-22-11-NOR</iati-identifier>
  <reporting-org ref="XM-DAC-41302" type="40">
   <narrative>International Labour Organization</narrative>
  </reporting-org>
  <title><narrative>Workers' rights</narrative></title>
  <description type="1"><narrative>Unions organise women workers.</narrative></description>
  <participating-org role="1" type="10" ref="XM-DAC-8"><narrative>Norway</narrative></participating-org>
  <participating-org role="4" type="22"><narrative>Kenya Union Centre</narrative></participating-org>
  <other-identifier ref="RAF/22/11/NOR" type="A1">
   <owner-org ref="XM-DAC-41302"><narrative>International Labour Organization</narrative></owner-org>
  </other-identifier>
  <activity-status code="2"/>
  <activity-date type="1" iso-date="2024-01-01"/>
  <activity-date type="3" iso-date="2025-12-31"/>
  <recipient-country code="KE" percentage="60"/>
  <recipient-country code="GH" percentage="40"/>
  <sector vocabulary="1" code="16070" percentage="70"/>
  <sector vocabulary="1" code="15170" percentage="30"/>
  <budget type="1" status="1">
   <period-start iso-date="2024-01-01"/><period-end iso-date="2024-12-31"/>
   <value currency="USD" value-date="2024-01-01">500000</value>
  </budget>
  <result type="2" aggregation-status="0">
   <title><narrative>Unions represent more women</narrative></title>
   <indicator measure="1" ascending="1">
    <title><narrative>Women members</narrative></title>
    <reference vocabulary="99" code="1.a"/>
    <baseline year="2024" value="100"/>
    <period>
     <period-start iso-date="2024-07-01"/><period-end iso-date="2024-12-31"/>
     <target value="300"/>
     <actual value="200"/>
    </period>
   </indicator>
  </result>
 </iati-activity>
</iati-activities>
"""


def _set(path, attr, value):
    def mutate(activity):
        for element in activity.xpath(path):
            if value is None:
                del element.attrib[attr]
            else:
                element.set(attr, value)

    return mutate


def _remove(path):
    def mutate(activity):
        for element in activity.xpath(path):
            element.getparent().remove(element)

    return mutate


def _identifier(text):
    def mutate(activity):
        activity.find("iati-identifier").text = text

    return mutate


def _add_result_reference(activity):
    result = activity.find("result")
    result.insert(1, etree.fromstring('<reference vocabulary="99" code="1"/>'))


def _long_budget(activity):
    activity.find("budget/period-end").set("iso-date", "2025-06-30")


BROKEN = [
    ("6.2.2", _remove("sector")),
    ("2.1.1", _set("sector[1]", "percentage", None)),
    ("2.1.2", _set("sector[1]", "percentage", "60")),
    ("2.1.4", lambda a: (_remove("sector[2]")(a), _set("sector", "percentage", "70")(a))),
    ("3.1.1", _set("recipient-country[1]", "percentage", None)),
    ("3.1.2", _set("recipient-country[1]", "percentage", "50")),
    (
        "3.1.4",
        lambda a: (_remove("recipient-country[2]")(a), _set("recipient-country", "percentage", "60")(a)),
    ),
    ("12.1.1", _set("recipient-country[1]", "percentage", "160")),
    ("8.11.1", _add_result_reference),
    ("1.3.13", _identifier("XM-DAC-41302-RAF/22/11/NOR")),
    ("1.1.21", _identifier("RAF-22-11-NOR")),
    ("1.1.3", _identifier("XM-DAC-41302")),
    ("OtherIdentifierType", _set("other-identifier", "type", "B01")),
    ("OrganisationType", _set("participating-org[2]", "type", "99")),
    ("org-type", _set("participating-org[2]", "type", None)),
    ("Sector", _set("sector[1]", "code", "99999")),
    ("Country", _set("recipient-country[1]", "code", "XX")),
    ("Currency", _set("budget/value", "currency", "XYZ")),
    ("ActivityStatus", _set("activity-status", "code", "9")),
    ("IndicatorMeasure", _set("result/indicator", "measure", "7")),
    ("ResultType", _set("result", "type", "5")),
    ("7.5.3", _long_budget),
    ("7.8.1", lambda a: (_set(".", "default-currency", None)(a), _set("budget/value", "currency", None)(a))),
    ("8.8.1", _set("result/indicator/baseline", "value", None)),
    ("8.9.1", _set("result/indicator/period/target", "value", None)),
    ("8.10.1", _set("result/indicator/period/actual", "value", None)),
    ("8.6.1", _set("result/indicator/period/period-end", "iso-date", "2024-06-30")),
    ("dates", _set("result/indicator/period/period-end", "iso-date", "2026-06-30")),
    ("6.11.1", _remove("activity-date[@type='1']")),
    ("11.1.2", _set("activity-date[@type='3']", "iso-date", "2023-12-31")),
    ("4.1.1", _set(".", "{http://www.w3.org/XML/1998/namespace}lang", None)),
    ("Language", _set(".", "{http://www.w3.org/XML/1998/namespace}lang", "xx")),
    ("schema", _remove("title")),
]


def test_the_checker_accepts_the_valid_example():
    assert all_problems(etree.fromstring(VALID.encode())) == []


@pytest.mark.parametrize(("rule", "mutate"), BROKEN, ids=[rule for rule, _ in BROKEN])
def test_the_checker_catches_a_broken_file(rule, mutate):
    root = etree.fromstring(VALID.encode())
    mutate(root.find("iati-activity"))
    root = copy.deepcopy(root)
    rules = {p.rule for p in schema_problems(root) + codelist_problems(root) + rule_problems(root)}
    assert rule in rules, rules


def test_outcomes_stories_and_rounds_leave_the_iati_file_as_it_is(app, client, login, demo):
    """The participatory records (outcome statements and their substantiation, change stories, their
    domains, evidence and selection rounds) never reach the IATI file: on the demo, which has all of
    them, the file is the same once they are all gone."""
    from mel_app.models import (
        ChangeStory,
        OutcomeContributor,
        OutcomeStatement,
        OutcomeSubstantiation,
        RoundCandidate,
        RoundMember,
        SelectionRound,
        StoryDomain,
        StoryEvidence,
        StoryProposal,
    )

    models = (
        StoryProposal,
        RoundCandidate,
        RoundMember,
        SelectionRound,
        StoryEvidence,
        ChangeStory,
        StoryDomain,
        OutcomeSubstantiation,
        OutcomeContributor,
        OutcomeStatement,
    )
    with app.app_context():
        counts = {m.__tablename__: db.session.query(m).count() for m in models}
    assert all(counts[t] for t in ("outcome_statement", "outcome_substantiation", "change_story")), counts
    assert all(counts[t] for t in ("selection_round", "story_proposal", "round_candidate")), counts
    login("admin@example.org", "demo-password-2026")

    def iati() -> bytes:
        root = _iati(client, all_statuses="y")
        root.attrib.pop("generated-datetime", None)
        # Without the provenance comment (when, by whom, the head of the audit trail).
        return etree.tostring(root, method="c14n", with_comments=False)

    before = iati()
    with app.app_context():
        for model in models:
            db.session.execute(sa.delete(model))
        db.session.commit()
    assert iati() == before
