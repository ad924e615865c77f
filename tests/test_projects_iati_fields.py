"""What the IATI file needs, entered in the project form and the organisation form."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Organisation, OrgGroup, Project, Role


@pytest.fixture
def world(make):
    ilo = make.organisation("ILO", OrgGroup.ilo, country="CH")
    specialist = make.user("spec@example.org", organisation_id=ilo)
    project = make.project("RAF/22/11/NOR", title="Workers rights in Africa", countries=("KE", "GH"))
    make.member(specialist, project, Role.specialist)
    make.user("admin@example.org", is_admin=True)
    return {"project": project, "ilo": ilo}


def _form(**kw):
    data = {
        "reference": "RAF/23/05/FIN",
        "title": "Trade agreements",
        "summary": "Unions and trade.",
        "donor": "Finland",
        "funding_modality": "XBDC",
        "countries": ["ZM", "GH"],
        "start_date": "2024-01-01",
        "end_date": "2027-12-31",
        "phase": "design",
    }
    data.update(kw)
    return data


def _sectors(**shares):
    return {f"sector_{code[1:]}": str(v) for code, v in shares.items()}


def _stamp(page: str) -> str:
    return page.split('name="version" type="hidden" value="')[1].split('"')[0]


def test_sectors_budget_and_donor_are_saved_from_the_new_project_form(app, client, login, post, world):
    login("spec@example.org")
    page = client.get("/projects/new").get_data(as_text=True)
    assert "Labour rights" in page and "Social dialogue" in page  # the vetted sectors are offered
    # A text box: a number box would silently drop "40,5" instead of saying what to type.
    share_input = re.search(r'<input[^>]*name="sector_16070"[^>]*>', page).group(0)
    assert 'type="text"' in share_input
    data = _form(
        budget_amount="1200000.50",
        budget_currency="EUR",
        donor_iati_ref=" xm-dac-18 ",
        donor_iati_type="10",
        **_sectors(s16070=60, s15170=40),
    )
    assert post("/projects/new", data).status_code == 302
    with app.app_context():
        project = db.session.scalar(sa.select(Project).where(Project.reference == "RAF/23/05/FIN"))
        assert {s.code: s.percentage for s in project.sectors} == {"16070": 60, "15170": 40}
        assert (project.budget_amount, project.budget_currency) == (Decimal("1200000.50"), "EUR")
        assert (project.donor_iati_ref, project.donor_iati_type) == ("XM-DAC-18", "10")
        # No shares typed for the countries: an even split in the IATI file.
        assert [c.percentage for c in project.countries] == [None, None]


def test_country_shares_are_edited_and_reset_when_the_countries_change(app, client, login, post, world):
    login("spec@example.org")
    url = f"/projects/{world['project']}/edit"
    page = client.get(url).get_data(as_text=True)
    assert "Share of each country" in page and "Kenya" in page
    base = _form(
        reference="RAF/22/11/NOR", countries=["GH", "KE"], phase="implementation", **_sectors(s16020=100)
    )
    shares = {
        "country_shares-0-code": "GH",
        "country_shares-0-percentage": "30",
        "country_shares-1-code": "KE",
        "country_shares-1-percentage": "70",
    }
    assert post(url, {**base, **shares, "version": _stamp(page)}).status_code == 302
    with app.app_context():
        project = db.session.get(Project, world["project"])
        assert {c.country: c.percentage for c in project.countries} == {"GH": 30, "KE": 70}
    page = client.get(url).get_data(as_text=True)
    assert 'value="70"' in page and 'value="100"' in page  # the stored shares are shown back
    # A third country: the shares on the page were for two, so the split is even again.
    resp = post(url, {**base, **shares, "countries": ["GH", "KE", "ZM"], "version": _stamp(page)})
    assert resp.status_code == 302
    with app.app_context():
        project = db.session.get(Project, world["project"])
        assert {c.country: c.percentage for c in project.countries} == {"GH": None, "KE": None, "ZM": None}
        assert {s.code: s.percentage for s in project.sectors} == {"16020": 100}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (_sectors(s16070=60, s15170=30), "The shares of the sectors add up to 90%; they must make 100%."),
        (_sectors(s16070="40.5"), "Type a whole percentage from 1 to 100, e.g. 40."),
        (_sectors(s16070=140), "A share is from 1 to 100%."),
        ({"budget_amount": "500,000"}, "Choose the currency of the budget."),
        ({"budget_currency": "USD"}, "Give the budget amount, or choose no currency."),
        ({"budget_amount": "-5", "budget_currency": "USD"}, "A budget is more than zero."),
        ({"budget_amount": "12.3456", "budget_currency": "USD"}, "with cents"),
        ({"donor_iati_ref": "XM DAC 8"}, "An IATI organisation identifier is the register"),
        ({"donor_iati_ref": "NO-BRC/971277882"}, "An IATI organisation identifier is the register"),
    ],
)
def test_invalid_iati_fields_are_refused_with_the_input_kept(
    app, client, login, post, world, changes, message
):
    login("spec@example.org")
    resp = post("/projects/new", _form(**changes))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in page
    assert "Unions and trade." in page
    for value in changes.values():
        assert str(value).strip() in page, "what the user typed comes back"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 1


def test_country_shares_that_do_not_make_100_are_refused(app, client, login, post, world):
    login("spec@example.org")
    url = f"/projects/{world['project']}/edit"
    page = client.get(url).get_data(as_text=True)
    base = _form(
        reference="RAF/22/11/NOR", countries=["GH", "KE"], phase="implementation", version=_stamp(page)
    )
    half = {"country_shares-0-code": "GH", "country_shares-0-percentage": "30", "country_shares-1-code": "KE"}
    resp = post(url, {**base, **half})
    assert resp.status_code == 422
    assert "Give every country a share, or leave them all empty for an even split." in resp.get_data(
        as_text=True
    )
    resp = post(url, {**base, **half, "country_shares-1-percentage": "60"})
    assert resp.status_code == 422
    assert "The shares of the countries add up to 90%; they must make 100%." in resp.get_data(as_text=True)
    with app.app_context():
        assert [c.percentage for c in db.session.get(Project, world["project"]).countries] == [None, None]


def test_an_organisation_has_an_iati_identifier_and_type(app, client, login, post, world):
    login("admin@example.org")
    url = f"/admin/organisations/{world['ilo']}/edit"
    page = client.get(url).get_data(as_text=True)
    assert "IATI organisation identifier" in page
    version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    data = {
        "name": "ILO",
        "acronym": "",
        "group": "ilo",
        "country": "CH",
        "parent_id": "",
        "iati_ref": "xm-dac-41302",
        "iati_type": "40",
        "version": version,
    }
    bad = post(url, {**data, "iati_ref": "ILO Geneva"})
    assert bad.status_code == 400
    assert "An IATI organisation identifier is the register" in bad.get_data(as_text=True)
    assert "ILO Geneva" in bad.get_data(as_text=True)
    assert post(url, data).status_code == 302
    with app.app_context():
        org = db.session.get(Organisation, world["ilo"])
        assert (org.iati_ref, org.iati_type) == ("XM-DAC-41302", "40")


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("fr", "Les parts des secteurs totalisent 90 % ; elles doivent faire 100 %."),
        ("es", "Las partes de los sectores suman 90 %; deben sumar 100 %."),
    ],
)
def test_the_share_messages_speak_the_users_language(app, client, login, post, make, world, lang, message):
    user = make.user(f"spec-{lang}@example.org", preferred_language=lang)
    make.member(user, world["project"], Role.specialist)
    login(f"spec-{lang}@example.org")
    page = client.get("/projects/new").get_data(as_text=True)
    assert {"fr": "Pour le fichier IATI", "es": "Para el archivo IATI"}[lang] in page
    resp = post("/projects/new", _form(**_sectors(s16070=60, s15170=30)))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
