"""People acting on the same submission at the same moment, on a real PostgreSQL server.

Twenty threads, each a signed-in browser, start together (a barrier) and post against the same
version. The conditional UPDATE lets exactly one through; the others are told who came first.
SQLite serialises every writer, so these run on PostgreSQL only.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.audit import chain
from mel_app.extensions import db
from mel_app.models import Comment, IndicatorValue, Membership, Role, Status, Submission, User
from tests import concurrency
from tests.conftest import is_postgres
from tests.submissions_world import add_submission, build_world, events, report_payload, state

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: SQLite lets one writer in at a time"),
]

THREADS = 20


def _more_specialists(app, world, count):
    with app.app_context():
        template = db.session.get(User, world.users["specialist"])
        emails = []
        for n in range(count):
            user = User(
                email=f"reviewer{n}@example.org",
                full_name=f"Reviewer {n}",
                organisation_id=template.organisation_id,
                password_hash=template.password_hash,
                session_token=f"token-{n}",
            )
            db.session.add(user)
            db.session.add(Membership(user=user, project_id=world.project, role=Role.specialist))
            emails.append(user.email)
        db.session.commit()
    return emails


def test_twenty_reviewers_approving_or_returning_at_once_exactly_one_wins(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.submitted)
    browsers = concurrency.browsers(app, login, _more_specialists(app, world, THREADS))

    def review(i, client, token):
        if i % 2:
            return client.post(f"/submissions/{sub_id}/approve", data={"version": "1", "csrf_token": token})
        data = {"version": "1", "comment": f"Reviewer {i}: please revise", "csrf_token": token}
        return client.post(f"/submissions/{sub_id}/return", data=data)

    results = concurrency.all_at_once(browsers, review)
    codes = sorted(code for code, _page in results)
    assert codes == [302] + [409] * (THREADS - 1), codes

    status, version = state(app, sub_id)
    assert version == 2, "one transition, one version step"
    assert status in (Status.approved, Status.returned)
    decisive = [e for e in events(app, sub_id) if e.action in ("submission.approve", "submission.return")]
    assert len(decisive) == 1, "exactly one audit event for the one transition"
    verb = "approved" if status is Status.approved else "returned"
    winner = decisive[0].actor_name
    for code, page in results:
        if code == 409:
            assert f"Already {verb} by {winner} at" in page
    with app.app_context():
        comments = db.session.scalars(sa.select(Comment.body).where(Comment.submission_id == sub_id)).all()
        assert len(comments) == (1 if status is Status.returned else 0), "only the winner's comment is kept"
        with db.engine.connect() as conn:
            assert chain.verify(conn).ok, "the audit chain stays whole under contention"


def test_twenty_concurrent_draft_saves_exactly_one_is_saved_and_the_others_are_refused(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    emails = [world.emails["author"], world.emails["colleague"]] * (THREADS // 2)
    browsers = concurrency.browsers(app, login, emails)

    def save(i, client, token):
        data = report_payload(world, 1, achievements=f"Text of editor {i}")
        data["csrf_token"] = token
        return client.post(f"/submissions/{sub_id}/save", data=data)

    results = concurrency.all_at_once(browsers, save)
    codes = [code for code, _page in results]
    assert sorted(codes) == [302] + [409] * (THREADS - 1), sorted(codes)
    winner = codes.index(302)
    assert state(app, sub_id) == (Status.draft, 2)
    saves = [e for e in events(app, sub_id) if e.action == "submission.save"]
    assert len(saves) == 1
    with app.app_context():
        assert db.session.get(Submission, sub_id).narrative["achievements"] == f"Text of editor {winner}"
        values = db.session.scalar(
            sa.select(sa.func.count(IndicatorValue.id)).where(IndicatorValue.submission_id == sub_id)
        )
        assert values == 4, "the winner's values, once each"
    for i, (code, page) in enumerate(results):
        if code == 409:
            assert f"Text of editor {i}" in page, "each refused editor gets their own text back"
            assert f"Text of editor {winner}" in page, "next to the saved one"


def test_twenty_reporters_opening_the_same_report_at_once_get_one_report(app, make, login):
    world = build_world(make)
    browsers = concurrency.browsers(
        app, login, [world.emails["author"], world.emails["colleague"]] * (THREADS // 2)
    )
    url = f"/projects/{world.project}/periods/{world.period}/report"

    results = concurrency.all_at_once(
        browsers, lambda i, client, token: client.post(url, data={"csrf_token": token})
    )
    assert {code for code, _page in results} == {302}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == 1
