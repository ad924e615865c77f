"""Criteria sets and scales (administrators), recommendations and management responses."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    CriteriaSet,
    Criterion,
    Recommendation,
    ResponseKind,
    Scale,
    ScalePoint,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    utcnow,
)
from tests.evaluation_world import add_evaluation, add_scorecard, build_world


@pytest.fixture
def world(app, make):
    return build_world(app, make)


def _scale_form(name, labels, rubrics=None):
    form = {"name": name}
    for i in range(10):
        form[f"points-{i}-label"] = labels[i] if i < len(labels) else ""
        form[f"points-{i}-rubric"] = (rubrics or {}).get(i, "")
    return form


def _version(client, url) -> str:
    """The version the edit form at `url` was loaded with."""
    return re.search(
        r'name="version" type="hidden" value="(\d+)"', client.get(url).get_data(as_text=True)
    ).group(1)


def _points(app, scale_id):
    with app.app_context():
        return [
            (p.value, p.label, p.rubric)
            for p in db.session.scalars(
                sa.select(ScalePoint).where(ScalePoint.scale_id == scale_id).order_by(ScalePoint.value)
            )
        ]


def test_an_admin_creates_and_changes_a_scale_of_four_to_ten_points(app, client, login, post, world):
    login(world.emails["admin"])
    assert client.get("/admin/scales").status_code == 200
    resp = post("/admin/scales/new", _scale_form("Four points", ["Poor", "Fair", "Good"]))
    assert resp.status_code == 422 and "Label from 4 to 10 points" in resp.get_data(as_text=True)
    resp = post("/admin/scales/new", _scale_form("Gappy", ["Poor", "", "Good", "Very good", "Excellent"]))
    assert resp.status_code == 422 and "without gaps" in resp.get_data(as_text=True)

    resp = post(
        "/admin/scales/new",
        _scale_form("Four points", ["Poor", "Fair", "Good", "Very good"], {3: "All targets met"}),
    )
    assert resp.status_code == 302
    scale_id = int(re.search(r"/admin/scales/(\d+)$", resp.headers["Location"]).group(1))
    assert _points(app, scale_id) == [
        (1, "Poor", ""),
        (2, "Fair", ""),
        (3, "Good", ""),
        (4, "Very good", "All targets met"),
    ]
    # Not yet in use: it can change, down to fewer points or up to ten.
    labels = [f"Level {i}" for i in range(1, 11)]
    url = f"/admin/scales/{scale_id}"
    assert (
        post(url, {**_scale_form("Ten points", labels), "version": _version(client, url)}).status_code == 302
    )
    assert [p[1] for p in _points(app, scale_id)] == labels
    form = _scale_form("Ten points", labels[:5])
    assert post(url, {**form, "version": _version(client, url)}).status_code == 302
    assert len(_points(app, scale_id)) == 5
    with app.app_context():
        actions = list(
            db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "scale"))
        )
    assert "scale.create" in actions and "scale.update" in actions


def test_a_scale_in_use_cannot_be_edited_only_copied(app, client, login, post, world):
    add_evaluation(app, world)
    before = _points(app, world.scale)
    login(world.emails["admin"])
    page = client.get(f"/admin/scales/{world.scale}").get_data(as_text=True)
    assert "cannot be changed" in page and "Copy this scale" in page and 'name="name"' not in page

    resp = post(f"/admin/scales/{world.scale}", _scale_form("Hacked", ["a", "b", "c", "d"]))
    assert resp.status_code == 409
    assert _points(app, world.scale) == before
    with app.app_context():
        assert db.session.get(Scale, world.scale).name != "Hacked"

    resp = post(f"/admin/scales/{world.scale}/copy")
    assert resp.status_code == 302
    copy_id = int(re.search(r"/admin/scales/(\d+)$", resp.headers["Location"]).group(1))
    assert [p[:2] for p in _points(app, copy_id)] == [p[:2] for p in before]
    url = f"/admin/scales/{copy_id}"
    resp = post(url, {**_scale_form("Adapted scale", ["a", "b", "c", "d"]), "version": _version(client, url)})
    assert resp.status_code == 302
    assert _points(app, world.scale) == before


def test_a_criteria_set_in_use_cannot_be_edited_only_copied(app, client, login, post, world):
    add_evaluation(app, world)
    login(world.emails["admin"])
    resp = post(
        f"/admin/criteria-sets/{world.criteria_set}",
        {
            "name": "Changed",
            "criteria-0-code": "X",
            "criteria-0-name": "Only one",
            "criteria-0-position": "1",
        },
    )
    assert resp.status_code == 409
    with app.app_context():
        assert len(db.session.get(CriteriaSet, world.criteria_set).criteria) == 10

    resp = post(f"/admin/criteria-sets/{world.criteria_set}/copy")
    copy_id = int(re.search(r"/admin/criteria-sets/(\d+)$", resp.headers["Location"]).group(1))
    page = client.get(f"/admin/criteria-sets/{copy_id}").get_data(as_text=True)
    assert "Copy of OECD DAC" in page and 'value="REL"' in page
    with app.app_context():
        rel = db.session.scalar(
            sa.select(Criterion).where(Criterion.criteria_set_id == copy_id, Criterion.code == "REL")
        )
        coh = db.session.scalar(
            sa.select(Criterion).where(Criterion.criteria_set_id == copy_id, Criterion.code == "COH")
        )
        rel_id, coh_id = rel.id, coh.id
    # Keep two criteria, swap their codes, add one, drop the others.
    form = {
        "name": "Short set",
        "description": "For quick reviews",
        "criteria-0-id": str(rel_id),
        "criteria-0-code": "COH",
        "criteria-0-name": "Coherence first",
        "criteria-0-position": "20",
        "criteria-1-id": str(coh_id),
        "criteria-1-code": "REL",
        "criteria-1-name": "Relevance",
        "criteria-1-position": "10",
        "criteria-2-id": "",
        "criteria-2-code": "voice",
        "criteria-2-name": "Voice of members",
        "criteria-2-position": "30",
        "version": _version(client, f"/admin/criteria-sets/{copy_id}"),
    }
    assert post(f"/admin/criteria-sets/{copy_id}", form).status_code == 302
    with app.app_context():
        criteria = db.session.get(CriteriaSet, copy_id).criteria
        assert [(c.code, c.name) for c in criteria] == [
            ("REL", "Relevance"),
            ("COH", "Coherence first"),
            ("VOICE", "Voice of members"),
        ]


def test_criteria_set_validation_keeps_the_input(app, client, login, post, world):
    login(world.emails["admin"])
    resp = post(
        "/admin/criteria-sets/new",
        {
            "name": "Dupes",
            "criteria-0-code": "A",
            "criteria-0-name": "One",
            "criteria-1-code": "a",
            "criteria-1-name": "Two",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Each code may be used once" in html and 'value="Dupes"' in html
    resp = post(
        "/admin/criteria-sets/new", {"name": "No name", "criteria-0-code": "A", "criteria-0-name": ""}
    )
    assert resp.status_code == 422 and "Give a name." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CriteriaSet)) == 1


@pytest.mark.parametrize("who", ["specialist", "evaluator", "union1"])
def test_only_administrators_manage_criteria_and_scales(app, client, login, post, world, who):
    login(world.emails[who])
    for url in ("/admin/criteria-sets", "/admin/scales", f"/admin/scales/{world.scale}"):
        assert client.get(url).status_code == 403
    assert post(f"/admin/scales/{world.scale}/copy").status_code == 403
    assert "Criteria and scales" not in client.get("/").get_data(as_text=True)


def test_make_default_moves_the_flag(app, client, login, post, world):
    login(world.emails["admin"])
    resp = post(f"/admin/scales/{world.scale}/copy")
    copy_id = int(re.search(r"/admin/scales/(\d+)$", resp.headers["Location"]).group(1))
    assert post(f"/admin/scales/{copy_id}/default").status_code == 302
    with app.app_context():
        assert db.session.get(Scale, copy_id).is_default and not db.session.get(Scale, world.scale).is_default


def test_an_evaluator_recommends_only_once_their_own_scorecard_is_in(app, client, login, post, world):
    """Recommendations sit beside the results, which an evaluator reads only after scoring."""
    evaluation_id = add_evaluation(app, world)
    card = add_scorecard(
        app, evaluation_id, world.users["evaluator"], ScorerGroup.independent, submitted=False
    )
    login(world.emails["evaluator"])
    resp = post(f"/evaluations/{evaluation_id}/recommendations", {"text": "Train more women organisers."})
    assert resp.status_code == 403
    assert "Add a recommendation" not in client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    with app.app_context():
        scorecard = db.session.get(Scorecard, card)
        scorecard.status, scorecard.submitted_at = ScorecardStatus.submitted, utcnow()
        db.session.commit()
    resp = post(f"/evaluations/{evaluation_id}/recommendations", {"text": "Train more women organisers."})
    assert resp.status_code == 302
    assert "Train more women organisers." in client.get(resp.location).get_data(as_text=True)


def test_recommendations_and_the_management_response(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    login(world.emails["union1"])
    assert post(f"/evaluations/{evaluation_id}/recommendations", {"text": "x"}).status_code == 403
    post("/logout")

    login(world.emails["evaluator"])
    resp = post(f"/evaluations/{evaluation_id}/recommendations", {"text": "", "addressed_to": "ILO"})
    assert resp.status_code == 422
    resp = post(
        f"/evaluations/{evaluation_id}/recommendations",
        {"text": "Hand the research network over to the federation.", "addressed_to": "ILO ACTRAV"},
    )
    assert resp.status_code == 302
    with app.app_context():
        rec_id = db.session.scalar(sa.select(Recommendation.id))
    url = f"/recommendations/{rec_id}/edit"
    form = {"text": "Hand the network over.", "addressed_to": "ILO", "version": _version(client, url)}
    assert post(url, form).status_code == 302
    assert post(f"/recommendations/{rec_id}/response", {"response": "accepted"}).status_code == 403
    post("/logout")

    login(world.emails["specialist"])
    assert client.get(f"/recommendations/{rec_id}/response").status_code == 200
    version = _version(client, f"/recommendations/{rec_id}/response")
    resp = post(
        f"/recommendations/{rec_id}/response",
        {"response": "accepted", "action_status": "not_started", "version": version},
    )
    assert resp.status_code == 422 and "Say what action is planned" in resp.get_data(as_text=True)
    resp = post(
        f"/recommendations/{rec_id}/response",
        {
            "response": "partially_accepted",
            "planned_action": "Hand over in two countries first.",
            "due_date": "2027-06-30",
            "action_status": "in_progress",
            "version": version,
        },
    )
    assert resp.status_code == 302
    detail = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Partially accepted" in detail and "Hand over in two countries first." in detail
    with app.app_context():
        rec = db.session.get(Recommendation, rec_id)
        assert (
            rec.response is ResponseKind.partially_accepted
            and rec.responded_by_id == world.users["specialist"]
        )
        actions = list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.entity_type == "recommendation")
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["recommendation.create", "recommendation.update", "recommendation.respond"]
    post("/logout")

    # Once answered, the evaluator can no longer change the text.
    login(world.emails["evaluator"])
    assert post(f"/recommendations/{rec_id}/edit", {"text": "Changed"}).status_code == 403


def test_the_audit_chain_stays_valid_through_an_evaluation(app, client, login, post, runner, world):
    login(world.emails["specialist"])
    data = {
        "title": "Final evaluation",
        "kind": "final",
        "criteria_set_id": str(world.criteria_set),
        "scale_id": str(world.scale),
        "evaluators": [str(world.users["evaluator"])],
    }
    resp = post(f"/projects/{world.project}/evaluations/new", data)
    evaluation_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert (
        post(f"/evaluations/{evaluation_id}/close", {"version": "1", "confirmed": "yes"}).status_code == 302
    )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
