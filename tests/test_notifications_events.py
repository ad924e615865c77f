"""Who is told what: every event, crossed with every demo account, through a real SMTP server.

Each event is caused through the services the pages use (in the transaction of the change); the
outbox is then delivered to the test SMTP server, and each demo account either received exactly
the expected message or nothing. The in-app notifications follow the same events.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from mel_app.evaluations import services as evaluations
from mel_app.extensions import db
from mel_app.models import DesignInputItem, DesignItemKind, Disposition, Notification, Status, Visibility
from mel_app.submissions import services as submissions
from tests import notify_world as w
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the fixture

SPECIALIST, UNION, EMPLOYER = "specialist@example.org", "union@example.org", "employer@example.org"
EVALUATOR, OBSERVER, ADMIN = "evaluator@example.org", "observer@example.org", "admin@example.org"


@pytest.fixture(name="demo")
def demo_fixture(app, mail_server):
    w.load(app)
    mail_server.messages.clear()
    return mail_server


def _received(mail_server) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in mail_server.messages:
        found.setdefault(message["To"], []).append(message)
    mail_server.messages.clear()
    return found


def _cause(app, mail_server, action) -> dict[str, list]:
    """Do `action` in one transaction as the pages do, deliver the outbox, return who got what."""
    with app.app_context():
        action()
        db.session.commit()
        db.session.remove()
    w.deliver(app)
    return _received(mail_server)


def _only(received: dict[str, list], expected: set[str], *, subject: str) -> None:
    """Each demo account received one message (with this subject) if expected, else nothing."""
    for email in w.DEMO_EMAILS:
        got = received.get(email, [])
        if email in expected:
            assert len(got) == 1, f"{email} should get one message about {subject!r}, got {len(got)}"
            assert subject in got[0]["Subject"], got[0]["Subject"]
        else:
            assert not got, f"{email} should not be told of {subject!r}: {[m['Subject'] for m in got]}"
    assert set(received) == expected, f"received by {sorted(received)}, expected {sorted(expected)}"


def test_a_report_returned_approved_reopened_and_resubmitted(app, demo):
    def return_it():
        sub = w.report("RAF/22/11/NOR", "F-FKE", Status.submitted)
        submissions.return_submission(
            sub, actor=w.user(SPECIALIST), expected_version=sub.version, comment="Add the women trained."
        )

    received = _cause(app, demo, return_it)
    _only(received, {EMPLOYER}, subject="Returned for changes")
    text = body(received[EMPLOYER][0])
    assert "Add the women trained." in text, "the reviewer's shared comment is in the e-mail"
    assert link_in(received[EMPLOYER][0]).startswith("/submissions/")

    def resubmit():
        sub = w.report("RAF/22/11/NOR", "F-FKE", Status.returned)
        submissions.submit_submission(sub, actor=w.user(EMPLOYER), expected_version=sub.version)

    _only(_cause(app, demo, resubmit), {SPECIALIST}, subject="Submitted for review")

    def approve():
        sub = w.report("RAF/22/11/NOR", "F-FKE", Status.submitted)
        submissions.approve_submission(sub, actor=w.user(SPECIALIST), expected_version=sub.version)

    _only(_cause(app, demo, approve), {EMPLOYER}, subject="Approved")

    def reopen():
        sub = w.report("RAF/22/11/NOR", "F-FKE", Status.approved)
        submissions.reopen_submission(
            sub, actor=w.user(SPECIALIST), expected_version=sub.version, reason="A figure is wrong."
        )

    received = _cause(app, demo, reopen)
    _only(received, {EMPLOYER}, subject="Reopened")
    assert "A figure is wrong." in body(received[EMPLOYER][0])


def test_comments_go_to_the_other_side_and_internal_notes_to_no_constituent(app, demo):
    def ilo_comment():
        sub = w.report("RAF/22/11/NOR", "F-COTU", Status.returned)
        submissions.add_comment(
            sub, actor=w.user(SPECIALIST), body="See section 2.", visibility=Visibility.shared
        )

    received = _cause(app, demo, ilo_comment)
    _only(received, {UNION}, subject="New comment")
    assert "See section 2." in body(received[UNION][0])

    def internal_note():
        sub = w.report("RAF/22/11/NOR", "F-COTU", Status.returned)
        submissions.add_comment(
            sub, actor=w.user(SPECIALIST), body="SECRET internal note", visibility=Visibility.internal
        )

    assert _cause(app, demo, internal_note) == {}, "an ILO-internal note is never sent to anyone"

    def union_comment():
        sub = w.report("RAF/22/11/NOR", "F-COTU", Status.returned)
        submissions.add_comment(
            sub, actor=w.user(UNION), body="Done, please look.", visibility=Visibility.shared
        )

    _only(_cause(app, demo, union_comment), {SPECIALIST}, subject="New comment")
    with app.app_context():
        assert not db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(Notification.title.contains("SECRET"))
        )


def test_design_input_submitted_then_the_ilo_responds(app, demo):
    barbados = "union.barbados@example.org"

    def submit():
        sub = db.session.scalar(
            sa.select(w.Submission).where(
                w.Submission.organisation_id == w.organisation("F-BWU").id,
                w.Submission.status == Status.draft,
            )
        )
        db.session.add(
            DesignInputItem(submission=sub, position=0, kind=DesignItemKind.need, text="Training.")
        )
        db.session.flush()
        submissions.submit_submission(sub, actor=w.user(barbados), expected_version=sub.version)

    _only(_cause(app, demo, submit), {SPECIALIST}, subject="Submitted for review")

    def respond():
        sub = db.session.scalar(
            sa.select(w.Submission).where(
                w.Submission.organisation_id == w.organisation("F-BWU").id,
                w.Submission.status == Status.submitted,
            )
        )
        item = sub.design_items[0]
        submissions.record_responses(
            sub,
            actor=w.user(SPECIALIST),
            expected_version=sub.version,
            responses={item.id: (Disposition.incorporated, "Output 1.2.")},
        )

    received = _cause(app, demo, respond)
    assert set(received) == {barbados}, "only the organisation's reporter; no demo account"
    assert "responded" in received[barbados][0]["Subject"]


def test_scorers_invited_reopened_and_everyone_who_took_part_told_of_the_close(app, demo):
    def open_one():
        from mel_app.models import CriteriaSet, EvaluationKind, Scale

        evaluations.open_evaluation(
            w.project("RAF/22/11/NOR"),
            actor=w.user(SPECIALIST),
            kind=EvaluationKind.final,
            title="Final evaluation 2027",
            criteria_set=db.session.scalar(sa.select(CriteriaSet).where(CriteriaSet.is_default.is_(True))),
            scale=db.session.scalar(sa.select(Scale).where(Scale.is_default.is_(True))),
            deadline=None,
            evaluator_ids=[w.user(EVALUATOR).id],
            organisation_ids=[w.organisation("F-COTU").id, w.organisation("F-FKE").id],
            ilo_staff_ids=[],
        )

    received = _cause(app, demo, open_one)
    # The invited evaluator and the two organisations' reporters; not the specialist who opened it,
    # not the observer, not the administrator.
    _only(received, {EVALUATOR, UNION, EMPLOYER}, subject="Final evaluation 2027")
    assert link_in(received[UNION][0]).endswith("/scorecard")

    def invite_nobody_new():
        evaluation = w.evaluation("Final evaluation 2027")
        evaluations.invite_scorers(
            evaluation,
            actor=w.user(SPECIALIST),
            evaluator_ids=[w.user(EVALUATOR).id],
            organisation_ids=[],
            ilo_staff_ids=[],
        )

    assert _cause(app, demo, invite_nobody_new) == {}, "invited already: not told twice"

    def reopen():
        card = w.scorecard("Mid-term evaluation 2026", UNION)
        evaluations.reopen_scorecard(
            card, actor=w.user(SPECIALIST), expected_version=card.version, reason="Check 3."
        )

    received = _cause(app, demo, reopen)
    _only(received, {UNION}, subject="was reopened")
    assert "Check 3." in body(received[UNION][0])

    def close():
        evaluation = w.evaluation("Mid-term evaluation 2026")
        evaluations.close_evaluation(
            evaluation, actor=w.user(SPECIALIST), expected_version=evaluation.version
        )

    received = _cause(app, demo, close)
    # Its scorers (the specialist closed it and is not told); the observer took no part.
    _only(received, {EVALUATOR, UNION, EMPLOYER}, subject="Evaluation closed")
    # Each is sent to what they may see: the results, except to the employer whose draft scorecard
    # keeps them from the others' scores (blind scoring), who gets the evaluation's page.
    assert link_in(received[EVALUATOR][0]).endswith("/results")
    assert not link_in(received[EMPLOYER][0]).endswith("/results")


def test_a_recommendation_goes_to_those_who_respond_to_it(app, demo):
    def recommend():
        evaluation = w.evaluation("Mid-term evaluation 2026")
        evaluations.add_recommendation(
            evaluation, actor=w.user(EVALUATOR), text="Train more women.", addressed_to="F-COTU"
        )

    _only(_cause(app, demo, recommend), {SPECIALIST}, subject="New recommendation")


def test_the_in_app_notifications_follow_the_same_events(app, demo):
    def return_it():
        sub = w.report("RAF/22/11/NOR", "F-FKE", Status.submitted)
        submissions.return_submission(
            sub, actor=w.user(SPECIALIST), expected_version=sub.version, comment="Fix."
        )

    def told_of_a_return() -> Counter[str]:
        with app.app_context():
            return Counter(
                db.session.scalars(
                    sa.select(w.User.email)
                    .join(Notification, Notification.recipient_id == w.User.id)
                    .where(Notification.kind == "submission_returned")
                )
            )

    before = told_of_a_return()  # the demo's own returned report told the union already
    _cause(app, demo, return_it)
    assert told_of_a_return() - before == Counter({EMPLOYER: 1})
