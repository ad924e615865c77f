"""The public dashboards in a browser: a visitor who has not signed in reads the demo's public
project, its closed evaluation and the list, on a desktop, on a 360 px phone (no sideways
scrolling, touch targets) and without JavaScript, in every language; axe finds nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mel_app.extensions import db
from mel_app.models import Evaluation, EvaluationStatus, Project

LANGUAGES = ["en", "fr", "es", "pt"]
TITLES = {
    "en": "Public project dashboards",
    "fr": "Tableaux de bord publics des projets",
    "es": "Tableros públicos de los proyectos",
    "pt": "Painéis públicos dos projetos",
}


def _public_ids(app) -> tuple[int, int]:
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id).where(Project.published_at.is_not(None)))
        evaluation_id = db.session.scalar(
            sa.select(Evaluation.id).where(
                Evaluation.project_id == project_id, Evaluation.status == EvaluationStatus.closed
            )
        )
    return project_id, evaluation_id


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("screen", ["desktop", "phone", "no-js"], indirect=True)
def test_a_visitor_reads_the_public_dashboards(app, demo, live_server, journey, lang):
    project_id, evaluation_id = _public_ids(app)
    page = journey.open(locale=lang, extra_http_headers={"Accept-Language": lang})
    page.goto(live_server + "/public/projects")
    journey.check(page)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[lang])
    page.locator(f"main a[href='/public/projects/{project_id}']").click()
    journey.check(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trade and Investment")
    assert page.locator("main svg").count() > 0  # the progress charts, drawn on the server
    page.locator(f"main a[href='/public/projects/{project_id}/evaluations/{evaluation_id}']").click()
    journey.check(page)
    expect(page.locator("#recommendations li").first).to_be_visible()
