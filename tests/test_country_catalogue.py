"""One country catalogue for organisations and projects: the same codes, all publishable in the
IATI file, with names in the user's language."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Organisation, Project
from mel_app.projects.countries import COUNTRY_CODES, country_code, country_name
from tests.iati_rules import codelist


def _offered(page: str, field: str) -> set[str]:
    select = page.split(f'name="{field}"', 1)[1].split("</select>", 1)[0]
    return set(re.findall(r'<option[^>]*value="([^"]*)"', select)) - {""}


def _project_form(**kw) -> dict:
    data = {
        "reference": "RER/24/01/EUR",
        "title": "Social dialogue in the Western Balkans",
        "summary": "Unions and employers in the region.",
        "donor": "European Union",
        "funding_modality": "XBDC",
        "countries": ["XK", "AL"],
        "start_date": "2024-01-01",
        "end_date": "2026-12-31",
        "phase": "design",
    }
    data.update(kw)
    return data


def test_every_country_offered_can_be_published_in_the_iati_file():
    assert not COUNTRY_CODES - codelist("Country"), "every code is on IATI's Country codelist"
    assert {"KE", "CI", "SS", "XK"} <= COUNTRY_CODES, "Kosovo is on IATI's list as XK"
    assert not {"EU", "UN", "ZZ", "XA", "AN"} & COUNTRY_CODES, "regions, test codes, withdrawn codes"


def test_a_country_named_in_a_query_string_is_read_through_the_catalogue(app, client, make, login):
    assert [country_code(text) for text in ("KE", " ke ", "xk")] == ["KE", "KE", "XK"]
    assert {country_code(text) for text in ("EU", "", None, "KEN", "K\x00")} == {None}
    # The projects list, filtered by a country typed by hand in the address, in any case.
    make.user("admin@example.org", is_admin=True)
    make.project(reference="RAF/24/01/KEN", countries=["KE"])
    make.project(reference="RAF/24/02/GHA", countries=["GH"])
    login("admin@example.org")
    for asked in ("KE", "ke"):
        page = client.get(f"/projects?country={asked}").get_data(as_text=True)
        assert "RAF/24/01/KEN" in page and "RAF/24/02/GHA" not in page, asked
    page = client.get("/projects?country=EU").get_data(as_text=True)
    assert "RAF/24/01/KEN" in page and "RAF/24/02/GHA" in page, "no known country: no filter"


def test_an_organisation_and_a_project_accept_exactly_the_same_countries(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    for_organisations = _offered(client.get("/admin/organisations/new").get_data(as_text=True), "country")
    for_projects = _offered(client.get("/projects/new").get_data(as_text=True), "countries")
    assert for_organisations == for_projects == COUNTRY_CODES

    # Kosovo: accepted for an organisation and for a project alike.
    resp = post(
        "/admin/organisations/new", {"name": "Fictional Union of Kosovo", "group": "workers", "country": "XK"}
    )
    assert resp.status_code == 302
    resp = post("/projects/new", _project_form())
    assert resp.status_code == 302
    with app.app_context():
        org = db.session.scalar(
            sa.select(Organisation).where(Organisation.name == "Fictional Union of Kosovo")
        )
        project = db.session.scalar(sa.select(Project).where(Project.reference == "RER/24/01/EUR"))
        assert org.country == "XK" and project.country_codes == ["AL", "XK"]

    # A region is refused by both, and what was typed comes back.
    resp = post(
        "/admin/organisations/new",
        {"name": "Fictional European Federation", "group": "workers", "country": "EU"},
    )
    assert resp.status_code == 400 and "Fictional European Federation" in resp.get_data(as_text=True)
    resp = post("/projects/new", _project_form(reference="RER/24/02/EUR", countries=["EU"]))
    assert resp.status_code == 422 and "Unions and employers in the region." in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "germany", "spain"), [("fr", "Allemagne", "Espagne"), ("es", "Alemania", "España")]
)
def test_country_names_are_in_the_users_language(client, make, login, lang, germany, spain):
    make.user("admin@example.org", is_admin=True, preferred_language=lang)
    login("admin@example.org")
    for page in (client.get("/admin/organisations/new"), client.get("/projects/new")):
        text = page.get_data(as_text=True)
        assert germany in text and spain in text
        assert "Germany" not in text and "Spain" not in text
    assert country_name("DE") == "Germany", "English outside a request"
