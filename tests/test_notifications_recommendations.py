"""A recommendation addressed to a partner organisation: its reporters on the project are told
(once they may read the results), and reminded of the planned action; nobody else is."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from mel_app.demo import DEMO_PASSWORD
from mel_app.evaluations import services as evaluations
from mel_app.extensions import db
from mel_app.models import ActionStatus, Notification, Recommendation, ResponseKind, Role
from tests import notify_world as w
from tests.conftest import csrf_token
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the fixture
from tests.test_notifications_events import (  # noqa: F401 - the fixture
    EMPLOYER,
    EVALUATOR,
    SPECIALIST,
    UNION,
    _cause,
    demo_fixture,
)
from tests.test_notifications_reminders import DUE, _run

MIDTERM = "Mid-term evaluation 2026"  # RAF/22/11/NOR, open: F-COTU (union) and F-FKE (employer) report
FINAL = "Final independent evaluation"  # RAF/23/05/FIN, closed; F-FKE is not one of its partners


def _subjects(received: dict[str, list]) -> dict[str, list[str]]:
    return {to: sorted(m["Subject"] for m in messages) for to, messages in received.items()}


def _recommend(evaluation_title: str, acronym: str | None, text: str, addressed_to: str = ""):
    def action():
        evaluations.add_recommendation(
            w.evaluation(evaluation_title),
            actor=w.user(EVALUATOR),
            text=text,
            addressed_to=addressed_to,
            addressed_organisation_id=w.organisation(acronym).id if acronym else None,
        )

    return action


def _rec(text: str) -> Recommendation:
    return db.session.scalar(sa.select(Recommendation).where(Recommendation.text == text))


def test_the_addressed_organisations_reporters_are_told_and_nobody_else(app, demo, make):
    with app.app_context():
        cotu, ssc = w.organisation("F-COTU").id, w.project("INT/24/07/SSC").id
    # Reports for the same organisation, but on another project: not told.
    outsider = make.user("outsider@example.org", organisation_id=cotu)
    make.member(outsider, ssc, Role.reporter, cotu)

    # The evaluation is open: its results (and recommendations) are not yet open to the union's
    # reporters, so only those who respond to it are told for now.
    received = _cause(app, demo, _recommend(MIDTERM, "F-COTU", "Train more women.", "donor"))
    assert _subjects(received) == {SPECIALIST: ["New recommendation: “Mid-term evaluation 2026”"]}
    assert "Addressed to: Fictional Central Organisation of Trade Unions, Kenya (F-COTU); donor" in body(
        received[SPECIALIST][0]
    )

    def close():
        evaluation = w.evaluation(MIDTERM)
        evaluations.close_evaluation(
            evaluation, actor=w.user(SPECIALIST), expected_version=evaluation.version
        )

    received = _subjects(_cause(app, demo, close))
    # Now they may read it: the union's reporter is told of the recommendation to F-COTU; the
    # employers' reporter is told only that the evaluation closed; the outsider, nothing.
    assert received.pop(UNION) == [
        "A recommendation to F-COTU: “Mid-term evaluation 2026”",
        "Evaluation closed: “Mid-term evaluation 2026”",
    ]
    assert all(
        subjects == ["Evaluation closed: “Mid-term evaluation 2026”"] for subjects in received.values()
    )
    assert set(received) == {EMPLOYER, EVALUATOR}

    # Made after the close, to the employers: their reporter may still not read the results (their
    # own scorecard is a draft: blind scoring), so is not told; it is checked when the message is made.
    received = _cause(app, demo, _recommend(MIDTERM, "F-FKE", "Sign the agreement."))
    assert _subjects(received) == {SPECIALIST: ["New recommendation: “Mid-term evaluation 2026”"]}

    def readdress():
        rec = _rec("Sign the agreement.")
        evaluations.update_recommendation(
            rec,
            actor=w.user(EVALUATOR),
            text=rec.text,
            addressed_to="",
            addressed_organisation_id=w.organisation("F-COTU").id,
        )

    # Addressed to the union instead: its reporter is told at once, with the text and a link.
    received = _cause(app, demo, readdress)
    assert _subjects(received) == {UNION: ["A recommendation to F-COTU: “Mid-term evaluation 2026”"]}
    assert "Sign the agreement." in body(received[UNION][0])
    assert link_in(received[UNION][0]).endswith("#recommendations")

    def reword():
        rec = _rec("Sign the agreement.")
        evaluations.update_recommendation(
            rec,
            actor=w.user(EVALUATOR),
            text="Sign the agreement this year.",
            addressed_to="",
            addressed_organisation_id=rec.addressed_organisation_id,
        )

    assert _cause(app, demo, reword) == {}, "the same addressee: not told again"
    with app.app_context():
        kinds = set(
            db.session.scalars(
                sa.select(Notification.kind)
                .join(w.User, w.User.id == Notification.recipient_id)
                .where(w.User.email == UNION)
            )
        )
    assert "recommendation_addressed" in kinds


def test_the_planned_action_reminders_go_to_the_addressed_organisations_reporters_too(app, demo):
    def close_and_recommend():
        evaluation = w.evaluation(MIDTERM)
        evaluations.close_evaluation(
            evaluation, actor=w.user(SPECIALIST), expected_version=evaluation.version
        )
        _recommend(MIDTERM, "F-COTU", "Train more women.")()

    _cause(app, demo, close_and_recommend)
    with app.app_context():
        specialist_id = w.user(SPECIALIST).id
        rec = _rec("Train more women.")
        rec.response, rec.planned_action = ResponseKind.accepted, "Run two trainings."
        rec.due_date, rec.action_status = DUE, ActionStatus.in_progress
        rec.responded_by_id = specialist_id
        db.session.commit()
        db.session.remove()

    def planned(day) -> dict[str, list]:
        found: dict[str, list] = {}
        for to, messages in _run(app, demo, day).items():
            chosen = [m for m in messages if "Planned action" in m["Subject"]]
            if chosen:
                found[to] = chosen
        return found

    received = planned(DUE - timedelta(days=7))
    assert set(received) == {SPECIALIST, UNION}, "the specialist, and the union's reporter; not the employer"
    assert link_in(received[UNION][0]).endswith("#recommendations")
    assert link_in(received[SPECIALIST][0]).endswith("/results")
    assert set(planned(DUE + timedelta(days=1))) == {SPECIALIST, UNION}


def test_the_form_offers_the_projects_partners_and_refuses_any_other_organisation(app, demo, client, login):
    with app.app_context():
        evaluation_id = w.evaluation(FINAL).id
        fke, cotu = w.organisation("F-FKE").id, w.organisation("F-COTU").id
    login(EVALUATOR, DEMO_PASSWORD)
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    options = re.findall(r'<option value="(\d*)"', page)
    assert str(cotu) in options and str(fke) not in options, "the project's partners only"

    response = client.post(
        f"/evaluations/{evaluation_id}/recommendations",
        data={
            "csrf_token": csrf_token(client),
            "text": "Publish the findings.",
            "addressed_organisation_id": str(fke),  # not a partner of this project
            "addressed_to": "the donor",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "can be addressed only to a partner organisation of this project" in page
    assert "Publish the findings." in page and 'value="the donor"' in page, "what was typed is kept"
    with app.app_context():
        assert _rec("Publish the findings.") is None

    response = client.post(
        f"/evaluations/{evaluation_id}/recommendations",
        data={
            "csrf_token": csrf_token(client),
            "text": "Publish the findings.",
            "addressed_organisation_id": str(cotu),
            "addressed_to": "the donor",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Addressed to: Fictional Central Organisation of Trade Unions, Kenya (F-COTU); the donor" in page
    with app.app_context():
        rec_id = _rec("Publish the findings.").id
    edit = client.get(f"/recommendations/{rec_id}/edit").get_data(as_text=True)
    assert re.search(rf'<option selected value="{cotu}"|<option value="{cotu}" selected', edit), edit
