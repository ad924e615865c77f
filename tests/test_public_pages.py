"""Public project dashboards and the public IATI file: a project's specialists publish it; anyone
then reads its approved figures and closed evaluations, and nothing else; unpublished, it is gone."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urljoin

import pytest
import sqlalchemy as sa
from lxml import etree

from mel_app.extensions import db
from mel_app.models import AuditEvent, IndicatorValue, Project, ProjectSector, User
from tests.exports_world import build_world
from tests.iati_rules import all_problems

SUBMITTED_VALUE = Decimal("424242")
RETURNED_VALUE = Decimal("737373")


@pytest.fixture
def world(app, make):
    w = build_world(make)
    with app.app_context():
        # Distinctive figures in the reports sent to the ILO but not approved.
        for sub_id, value in (
            (w["sub_submitted"], SUBMITTED_VALUE),
            (w["sub_returned"], RETURNED_VALUE),
            (w["sub_draft"], Decimal("515151")),
            (w["sub_withdrawn"], Decimal("626262")),
        ):
            for row in db.session.scalars(
                sa.select(IndicatorValue).where(IndicatorValue.submission_id == sub_id)
            ):
                row.value = value
                row.women = row.men = None
        # Sectors and the donor's type, as a specialist gives them in the project form.
        project = db.session.get(Project, w["project"])
        project.sectors = [ProjectSector(code="16070", percentage=Decimal(100))]
        project.donor_iati_type = "10"
        db.session.commit()
    return w


def _publish(client, login, post, world, project_key="project"):
    login(world.users["specialist"])
    url = f"/projects/{world[project_key]}/publish"
    assert client.get(url).status_code == 200  # the confirmation page
    resp = post(url, {"confirmed": "yes"})
    assert resp.status_code == 302
    client.post("/logout", data={"csrf_token": _token(client)})


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client)


def _unpublish(client, login, post, world):
    login(world.users["specialist"])
    resp = post(f"/projects/{world['project']}/unpublish", {"confirmed": "yes"})
    assert resp.status_code == 302
    client.post("/logout", data={"csrf_token": _token(client)})


def _people(app):
    with app.app_context():
        return [(u.full_name, u.email) for u in db.session.scalars(sa.select(User))]


def _assert_nothing_private(app, text: str) -> None:
    for forbidden in (
        "424242",
        "424,242",
        "737373",
        "737,373",
        "515151",  # the draft's value
        "626262",  # the withdrawn report's value
        "Justified by",  # score justifications
        "draft, never exported",
        "secret of another project",
        "Final evaluation (open)",
        "Count women shop stewards",  # design input
    ):
        assert forbidden not in text, forbidden
    for name, email in _people(app):
        assert email not in text
        if name:
            assert name not in text, name


def test_a_published_project_shows_approved_data_only_without_sign_in(app, client, login, post, world):
    _publish(client, login, post, world)
    listing = client.get("/public/projects")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "RAF/22/11/NOR" in page and "Trade agreements" not in page
    assert "/public/iati/activities.xml" in page
    assert "no-store" in listing.headers["Cache-Control"]
    # Every link of the public pages leads to a public page, without signing in.
    for href in etree.HTML(page).xpath("//main//a/@href"):
        assert client.get(urljoin("http://localhost/public/projects", href)).status_code == 200, href
    client.get("/public/projects?lang=en")  # the language links above chose each language in turn

    resp = client.get(f"/public/projects/{world['project']}")
    assert resp.status_code == 200
    assert "no-store" in resp.headers["Cache-Control"]
    html = resp.get_data(as_text=True)
    assert "Workers&#39; rights in West Africa" in html or "Workers' rights in West Africa" in html
    assert "Women members" in html and "Employers of Côte d&#39;Ivoire" in html
    assert "<svg" in html  # the progress charts, drawn on the server
    assert "Mid-term evaluation" in html
    assert "Sign out" not in html
    _assert_nothing_private(app, html)

    evaluation = client.get(f"/public/projects/{world['project']}/evaluations/{world['evaluation_closed']}")
    assert evaluation.status_code == 200
    ev_html = evaluation.get_data(as_text=True)
    assert "Train more women organisers" in ev_html and "Two more campaigns" in ev_html
    assert "Individual scores" not in ev_html
    # One scorecard per group in this evaluation: only the "All groups" lines are public.
    rows = etree.HTML(ev_html).xpath("//table[contains(@class,'stats')]//th[@scope='row']")
    assert rows and {"".join(r.itertext()).strip() for r in rows} == {"All groups"}
    _assert_nothing_private(app, ev_html)
    # An open evaluation is not public.
    assert (
        client.get(f"/public/projects/{world['project']}/evaluations/{world['evaluation_open']}").status_code
        == 404
    )


def test_the_public_figures_are_the_project_pages_figures(app, client, login, post, world):
    _publish(client, login, post, world)
    login(world.users["observer"])
    inside = client.get(f"/projects/{world['project']}").get_data(as_text=True)
    outside = client.get(f"/public/projects/{world['project']}").get_data(as_text=True)

    def figures(html):
        shown = "//strong[contains(@class,'figure') or contains(@class,'progress-share')]"
        return ["".join(el.itertext()) for el in etree.HTML(html).xpath(shown)]

    assert figures(outside) == figures(inside)
    assert figures(outside)


def test_the_public_iati_file_holds_the_published_projects_approved_data(app, client, login, post, world):
    assert client.get("/public/iati/activities.xml").status_code == 404  # nothing public yet
    _publish(client, login, post, world)
    resp = client.get("/public/iati/activities.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    body = resp.get_data()
    root = etree.fromstring(body)
    problems = all_problems(root)
    assert problems == [], "\n".join(str(p) for p in problems[:30])
    refs = root.xpath("iati-activity/other-identifier[@type='A1']/@ref")
    assert refs == ["RAF/22/11/NOR"]
    text = body.decode()
    assert "424242" not in text and "737373" not in text
    assert "Trade agreements" not in text
    for name, email in _people(app):
        assert email not in text and (not name or name not in text)


def test_unpublishing_removes_the_project_at_once(app, client, login, post, world):
    _publish(client, login, post, world)
    url = f"/public/projects/{world['project']}"
    assert client.get(url).status_code == 200
    _unpublish(client, login, post, world)
    client.get("/public/projects")  # shows the specialist's last message
    gone = client.get(url)
    missing = client.get("/public/projects/999999")
    assert gone.status_code == 404 and missing.status_code == 404
    assert gone.get_data() == missing.get_data()  # the same page: existence is not revealed
    assert "RAF/22/11/NOR" not in client.get("/public/projects").get_data(as_text=True)
    assert client.get("/public/iati/activities.xml").status_code == 404
    with app.app_context():
        actions = list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.action.in_(("project.publish", "project.unpublish")))
                .order_by(AuditEvent.id)
            )
        )
        assert actions == ["project.publish", "project.unpublish"]


def test_an_unpublished_project_answers_404(client, world):
    assert client.get(f"/public/projects/{world['project']}").status_code == 404
    assert (
        client.get(
            f"/public/projects/{world['project']}/evaluations/{world['evaluation_closed']}"
        ).status_code
        == 404
    )


@pytest.mark.parametrize("who", ["observer", "evaluator", "reporter", "nobody", "admin"])
def test_only_the_projects_specialists_may_publish(app, client, login, post, world, who):
    login(world.users[who])
    url = f"/projects/{world['project']}/publish"
    expected = 404 if who == "nobody" else 403
    assert client.get(url).status_code == expected
    assert post(url, {"confirmed": "yes"}).status_code == expected
    with app.app_context():
        assert db.session.get(Project, world["project"]).published_at is None


def test_publishing_needs_the_confirmation_step(app, client, login, post, world):
    login(world.users["specialist"])
    url = f"/projects/{world['project']}/publish"
    resp = post(url, {})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(url)
    assert client.post(url, data={"confirmed": "yes"}).status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.get(Project, world["project"]).published_at is None


def test_public_pages_speak_the_visitors_language(client, login, post, world):
    _publish(client, login, post, world)
    url = f"/public/projects/{world['project']}"
    french = client.get(url, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="fr"' in french
    spanish = client.get(url + "?lang=es").get_data(as_text=True)
    assert 'lang="es"' in spanish
