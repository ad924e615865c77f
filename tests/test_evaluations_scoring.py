"""Opening an evaluation, inviting scorers, filling, submitting, reopening and closing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Evaluation,
    EvaluationStatus,
    Score,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
)
from tests.evaluation_world import add_evaluation, add_scorecard, build_world


@pytest.fixture
def world(app, make):
    return build_world(app, make)


def _open_form(world, **extra):
    form = {
        "title": "Mid-term evaluation 2026",
        "kind": "mid_term",
        "criteria_set_id": str(world.criteria_set),
        "scale_id": str(world.scale),
        "deadline": "",
    }
    form.update(extra)
    return form


def _cards(app, evaluation_id):
    with app.app_context():
        return {
            card.scorer_id: (card.group, card.status)
            for card in db.session.scalars(
                sa.select(Scorecard).where(Scorecard.evaluation_id == evaluation_id)
            )
        }


def test_a_specialist_opens_an_evaluation_and_invites_each_group(app, client, login, post, world):
    u, o = world.users, world.orgs
    login(world.emails["specialist"])
    page = client.get(f"/projects/{world.project}/evaluations/new").get_data(as_text=True)
    # Candidates: the evaluator; the partner organisations with reporters; ILO staff (the
    # specialist, and the observer who works for the ILO) — never the donor observer.
    assert "Eva Evaluator" in page and "Fictional Union Centre" in page and "Ivo Officer" in page
    assert "Olga Observer" not in page

    data = _open_form(world)
    data["evaluators"] = [str(u["evaluator"])]
    data["organisations"] = [str(o["union"]), str(o["government"])]
    data["ilo_staff"] = [str(u["specialist"]), str(u["ilo_officer"])]
    resp = post(f"/projects/{world.project}/evaluations/new", data)
    assert resp.status_code == 302
    evaluation_id = int(re.search(r"/evaluations/(\d+)$", resp.headers["Location"]).group(1))
    assert _cards(app, evaluation_id) == {
        u["evaluator"]: (ScorerGroup.independent, ScorecardStatus.draft),
        u["union1"]: (ScorerGroup.workers, ScorecardStatus.draft),
        u["union2"]: (ScorerGroup.workers, ScorecardStatus.draft),
        u["government"]: (ScorerGroup.government, ScorecardStatus.draft),
        u["specialist"]: (ScorerGroup.ilo, ScorecardStatus.draft),
        u["ilo_officer"]: (ScorerGroup.ilo, ScorecardStatus.draft),
    }
    with app.app_context():
        actions = set(
            db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == u["specialist"]))
        )
    assert {"evaluation.open", "scorecard.invite"} <= actions

    # Later, the employers are invited too; nobody gets a second scorecard.
    resp = post(
        f"/evaluations/{evaluation_id}/invite",
        {"organisations": [str(o["employers"]), str(o["union"])]},
    )
    assert resp.status_code == 302
    cards = _cards(app, evaluation_id)
    assert len(cards) == 7 and cards[u["employer"]] == (ScorerGroup.employers, ScorecardStatus.draft)


def test_opening_needs_someone_to_score_and_keeps_the_input(app, client, login, post, world):
    login(world.emails["specialist"])
    resp = post(f"/projects/{world.project}/evaluations/new", _open_form(world, title="Kept title"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Invite at least one person to score" in html and 'value="Kept title"' in html
    # Someone who is not a candidate (the outsider) is refused, not silently invited.
    data = _open_form(world, evaluators=[str(world.users["outsider"])])
    assert post(f"/projects/{world.project}/evaluations/new", data).status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evaluation)) == 0


@pytest.mark.parametrize(
    ("who", "status"), [("evaluator", 403), ("union1", 403), ("outsider", 404), ("admin", 403)]
)
def test_only_specialists_open_evaluations(app, client, login, post, world, who, status):
    login(world.emails[who])
    assert client.get(f"/projects/{world.project}/evaluations/new").status_code == status
    data = _open_form(world, evaluators=[str(world.users["evaluator"])])
    assert post(f"/projects/{world.project}/evaluations/new", data).status_code == status


def _score_form(world, version, *, point="5", justification="Seen in the reports", action="save", skip=()):
    form = {"version": str(version)}
    form["submit_card" if action == "submit" else "save"] = "x"
    for code, criterion_id in world.criteria.items():
        if code in skip:
            continue
        form[f"point_{criterion_id}"] = point
        form[f"justification_{criterion_id}"] = f"{justification} ({code})"
    return form


def _scores(app, card_id):
    with app.app_context():
        return {
            s.criterion_id: (s.point, s.cannot_assess, s.justification)
            for s in db.session.scalars(sa.select(Score).where(Score.scorecard_id == card_id))
        }


def test_save_a_draft_then_submit_with_every_criterion_justified(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    card_id = add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, submitted=False)
    login(world.emails["union1"])
    home = client.get("/").get_data(as_text=True)
    assert "Scorecards to fill" in home and f"/evaluations/{evaluation_id}/scorecard" in home

    rel, coh = world.criteria["REL"], world.criteria["COH"]
    draft = {"version": "1", "save": "x", f"point_{rel}": "6", f"justification_{rel}": "Our priorities"}
    draft[f"point_{coh}"] = "na"
    assert post(f"/evaluations/{evaluation_id}/scorecard", draft).status_code == 302
    assert _scores(app, card_id) == {rel: (6, False, "Our priorities"), coh: (None, True, "")}

    # Submitting an incomplete scorecard is refused, with the answers kept on the page.
    incomplete = {**draft, "version": "2", "submit_card": "x"}
    del incomplete["save"]
    resp = post(f"/evaluations/{evaluation_id}/scorecard", incomplete)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Give a justification." in html and "Our priorities" in html
    assert _cards(app, evaluation_id)[world.users["union1"]][1] is ScorecardStatus.draft

    form = _score_form(world, 2, action="submit")
    form[f"point_{coh}"] = "na"
    assert post(f"/evaluations/{evaluation_id}/scorecard", form).status_code == 302
    scores = _scores(app, card_id)
    assert len(scores) == 10 and scores[coh] == (None, True, "Seen in the reports (COH)")
    assert _cards(app, evaluation_id)[world.users["union1"]][1] is ScorecardStatus.submitted
    assert "Scorecards to fill" not in client.get("/").get_data(as_text=True)

    # Submitted: the page is read-only and a further POST is refused.
    page = client.get(f"/evaluations/{evaluation_id}/scorecard").get_data(as_text=True)
    assert "Submit my scorecard" not in page and "You have submitted your scorecard" in page
    resp = post(f"/evaluations/{evaluation_id}/scorecard", _score_form(world, 3, point="1", action="submit"))
    assert resp.status_code == 409
    assert _scores(app, card_id)[rel][0] == 5


def test_a_stale_scorecard_is_refused_and_the_typed_text_comes_back(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, submitted=False)
    login(world.emails["union1"])
    assert (
        post(f"/evaluations/{evaluation_id}/scorecard", _score_form(world, 1, point="3")).status_code == 302
    )
    # A second tab still holds version 1.
    resp = post(
        f"/evaluations/{evaluation_id}/scorecard", _score_form(world, 1, justification="Second tab text")
    )
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed this at" in html and "Nothing of yours was lost" in html
    assert "Second tab text (REL)" in html
    # The page now carries the stored version, so saving again is a deliberate choice.
    assert re.search(r'<input[^>]*name="version"[^>]*value="2"', html)
    rel = world.criteria["REL"]
    assert _scores_for(app, evaluation_id, world.users["union1"])[rel] == 3


def _scores_for(app, evaluation_id, user_id):
    with app.app_context():
        card = db.session.scalar(
            sa.select(Scorecard).where(
                Scorecard.evaluation_id == evaluation_id, Scorecard.scorer_id == user_id
            )
        )
        return {s.criterion_id: s.point for s in card.scores}


def test_a_closed_evaluation_refuses_scores_on_the_page_and_by_direct_post(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    card_id = add_scorecard(
        app, evaluation_id, world.users["union1"], ScorerGroup.workers, {"REL": 4}, submitted=False
    )
    login(world.emails["specialist"])
    with app.app_context():
        version = db.session.get(Evaluation, evaluation_id).version
    assert (
        post(f"/evaluations/{evaluation_id}/close", {"version": str(version), "confirmed": "yes"}).status_code
        == 302
    )
    with app.app_context():
        evaluation = db.session.get(Evaluation, evaluation_id)
        assert (
            evaluation.status is EvaluationStatus.closed
            and evaluation.closed_by_id == world.users["specialist"]
        )
    # Closing twice: refused with an explanation.
    assert (
        post(f"/evaluations/{evaluation_id}/close", {"version": str(version), "confirmed": "yes"}).status_code
        == 409
    )

    post("/logout")
    login(world.emails["union1"])
    assert "Scorecards to fill" not in client.get("/").get_data(as_text=True)
    page = client.get(f"/evaluations/{evaluation_id}/scorecard").get_data(as_text=True)
    assert "This evaluation is closed" in page
    assert "Submit my scorecard" not in page and '<form method="post" action="/evaluations' not in page
    resp = post(f"/evaluations/{evaluation_id}/scorecard", _score_form(world, 1, point="1", action="submit"))
    assert resp.status_code == 409
    assert "This evaluation is closed" in resp.get_data(as_text=True)
    assert _scores(app, card_id) == {world.criteria["REL"]: (4, False, "Reason for REL")}
    assert _cards(app, evaluation_id)[world.users["union1"]][1] is ScorecardStatus.draft


def test_closing_races_a_submission_without_losing_either(app, client, login, post, world):
    """The scorer's page was loaded before the close; their submit after it is refused."""
    evaluation_id = add_evaluation(app, world)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, submitted=False)
    with app.app_context():
        evaluation = db.session.get(Evaluation, evaluation_id)
        evaluation.status = EvaluationStatus.closed
        evaluation.closed_by_id = world.users["specialist"]
        from mel_app.models import utcnow

        evaluation.closed_at = utcnow()
        db.session.commit()
    login(world.emails["union1"])
    resp = post(f"/evaluations/{evaluation_id}/scorecard", _score_form(world, 1, action="submit"))
    assert resp.status_code == 409


def test_a_specialist_reopens_a_submitted_scorecard_with_a_reason(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    card_id = add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, all_criteria=True)
    url = f"/evaluations/{evaluation_id}/scorecards/{card_id}/reopen"

    login(world.emails["evaluator"])  # not a specialist
    assert post(url, {"version": "1", "reason": "x"}).status_code == 403
    post("/logout")

    login(world.emails["specialist"])
    resp = post(url, {"version": "1", "reason": ""})
    assert resp.status_code == 422
    assert post(url, {"version": "1", "reason": "Please add the evidence for EFF"}).status_code == 302
    assert _cards(app, evaluation_id)[world.users["union1"]][1] is ScorecardStatus.draft
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "scorecard.reopen"))
        assert event.reason == "Please add the evidence for EFF" and event.entity_id == str(card_id)
    # Reopening again (it is a draft now) is refused.
    assert post(url, {"version": "2", "reason": "again"}).status_code == 409

    post("/logout")
    login(world.emails["union1"])
    page = client.get(f"/evaluations/{evaluation_id}/scorecard").get_data(as_text=True)
    assert "Please add the evidence for EFF" in page and "Submit my scorecard" in page
    assert "Scorecards to fill" in client.get("/").get_data(as_text=True)


def test_scores_may_point_at_indicators_and_approved_reports_of_the_project(
    app, client, login, make, post, world
):
    result = make.result(world.project)
    indicator = make.indicator(result, code="1.a", title="Collective agreements signed")
    other_project = make.project()
    other_indicator = make.indicator(make.result(other_project), code="9.z")
    period = make.period(world.project)
    approved = make.submission(
        world.project, world.orgs["union"], world.users["union1"], period_id=period, status="draft"
    )
    with app.app_context():
        from mel_app.models import Status, Submission, utcnow

        sub = db.session.get(Submission, approved)
        sub.status, sub.submitted_at, sub.approved_at = Status.approved, utcnow(), utcnow()
        sub.approved_by_id = world.users["specialist"]
        db.session.commit()
    evaluation_id = add_evaluation(app, world)
    card_id = add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, submitted=False)
    login(world.emails["union1"])
    page = client.get(f"/evaluations/{evaluation_id}/scorecard").get_data(as_text=True)
    assert "Indicator 1.a: Collective agreements signed" in page and "Approved report 2026 H1" in page
    rel = world.criteria["REL"]
    form = _score_form(world, 1)
    form[f"evidence_{rel}"] = [f"indicator:{indicator}", f"submission:{approved}"]
    assert post(f"/evaluations/{evaluation_id}/scorecard", form).status_code == 302
    with app.app_context():
        score = db.session.scalar(
            sa.select(Score).where(Score.scorecard_id == card_id, Score.criterion_id == rel)
        )
        assert score.evidence == [
            {"type": "indicator", "id": indicator},
            {"type": "submission", "id": approved},
        ]
    # Another project's indicator is not a valid choice.
    form = _score_form(world, 2)
    form[f"evidence_{rel}"] = [f"indicator:{other_indicator}"]
    assert post(f"/evaluations/{evaluation_id}/scorecard", form).status_code == 422


def test_nobody_but_the_invited_scorer_fills_a_scorecard(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, submitted=False)
    login(world.emails["union2"])  # a member, not invited
    assert client.get(f"/evaluations/{evaluation_id}/scorecard").status_code == 403
    assert post(f"/evaluations/{evaluation_id}/scorecard", _score_form(world, 1)).status_code == 403
    post("/logout")
    login(world.emails["outsider"])
    assert client.get(f"/evaluations/{evaluation_id}").status_code == 404
    assert client.get(f"/evaluations/{evaluation_id}/scorecard").status_code == 404


def test_a_specialist_sees_who_has_submitted_but_not_draft_scores(app, client, login, world):
    evaluation_id = add_evaluation(app, world)
    draft = add_scorecard(
        app, evaluation_id, world.users["union1"], ScorerGroup.workers, {"REL": 2}, submitted=False
    )
    login(world.emails["specialist"])
    detail = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Una Union" in detail and "Not submitted yet" in detail
    page = client.get(f"/evaluations/{evaluation_id}/scorecards/{draft}").get_data(as_text=True)
    assert "Reason for REL" not in page and "shown once it is submitted" in page
