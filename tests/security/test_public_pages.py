"""The public dashboards under attack: what users wrote (project, results, indicators,
organisations, evaluations, recommendations) is read back on the public pages by an anonymous
visitor, escaped and shown as typed; the pages and the IATI file carry the security headers and
are never stored by a cache."""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html

from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    EvaluationStatus,
    Project,
    Recommendation,
    ResponseKind,
    utcnow,
)
from tests.security.test_xss import SCRIPT, TEMPLATE, attacked, page_problems  # noqa: F401 - fixture

PUBLIC_PAGES = ("public.index", "public.project", "public.evaluation")


def _publish(app, world) -> tuple[int, int]:
    """Publish the attacked world's project and close its evaluation, with a management response."""
    with app.app_context():
        project = db.session.get(Project, world.ids["project"])
        if project.published_at is None:
            project.published_at = utcnow()
        evaluation = db.session.get(Evaluation, world.ids["evaluation"])
        if evaluation.status is not EvaluationStatus.closed:
            evaluation.status = EvaluationStatus.closed
            evaluation.closed_at = utcnow()
            evaluation.closed_by_id = world.ids["user_specialist"]
        for rec in db.session.query(Recommendation).filter_by(evaluation_id=evaluation.id):
            if rec.response is None:
                rec.response = ResponseKind.accepted
                rec.responded_by_id = world.ids["user_specialist"]
                rec.responded_at = utcnow()
        db.session.commit()
        ids = project.id, evaluation.id
        db.session.remove()
    return ids


def test_the_public_pages_show_what_users_wrote_as_typed_and_run_none_of_it(attacked):  # noqa: F811
    app, world, clients = attacked
    project_id, evaluation_id = _publish(app, world)
    anonymous = clients["anonymous"]
    urls = [
        "/public/projects",
        f"/public/projects/{project_id}",
        f"/public/projects/{project_id}/evaluations/{evaluation_id}",
    ]
    for url in urls:
        with anonymous.get(url) as resp:
            assert resp.status_code == 200, url
            body = resp.get_data(as_text=True)
            assert "no-store" in resp.headers["Cache-Control"]
            assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Frame-Options"] == "DENY"
        assert page_problems(body) == [], url
        text = lxml_html.document_fromstring(body).text_content()
        assert SCRIPT in text or "<script>alert(1)" in text, url
        assert TEMPLATE in text, url


def test_the_public_iati_file_is_well_formed_whatever_users_wrote(attacked):  # noqa: F811
    app, world, clients = attacked
    _publish(app, world)
    with clients["anonymous"].get("/public/iati/activities.xml") as resp:
        assert resp.status_code == 200
        assert "no-store" in resp.headers["Cache-Control"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        body = resp.get_data()
    root = etree.fromstring(body)  # escaped: the payloads are text, not markup
    assert root.tag == "iati-activities"
    assert b"<script>" not in body
