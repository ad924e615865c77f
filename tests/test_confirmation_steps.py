"""Confirmation steps: withdrawing a submission, removing a member, closing an evaluation and
approving a framework each go through a page that says what will happen, with "Yes, …" and
"Cancel". A POST that did not come from that page does nothing; the page asks the same permission
as the action (404 for those who may not know of the object, 403 for members without the role)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    EvaluationStatus,
    Membership,
    OrgGroup,
    Project,
    ResultType,
    Role,
    Status,
)
from tests import evaluation_world, submissions_world
from tests.conftest import csrf_token


def _confirmation_page(client, url: str, *, yes: str, cancel: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    form = re.search(rf'<form method="post" action="({re.escape(url)})"[^>]*>(.*?)</form>', page, re.S)
    assert form is not None, "the page posts to the action itself"
    assert 'name="csrf_token"' in form.group(2)
    assert 'name="confirmed" value="yes"' in form.group(2)
    assert f'<button type="submit">{yes}</button>' in form.group(2)
    assert f'<a href="{cancel}">Cancel</a>' in form.group(2), "Cancel goes back where the user came from"
    return page


def _post(client, url: str, data: dict | None = None):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)})


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page) or re.search(
        rf'type="hidden" name="{name}" value="([^"]*)"', page
    )
    assert match, f"no hidden {name}"
    return match.group(1)


# --- withdrawing a submission --------------------------------------------------------------------


@pytest.fixture
def sub_world(app, make):
    world = submissions_world.build_world(make)
    sub_id = submissions_world.add_submission(app, world, Status.draft, complete=False)
    return world, sub_id


def test_withdraw_asks_first_then_withdraws_with_the_reason(app, login, sub_world):
    world, sub_id = sub_world
    author = submissions_world.signed_in(app, login, world, "author")
    detail = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    url = f"/submissions/{sub_id}/withdraw"
    assert f'href="{url}"' in detail, "the submission page leads to the confirmation"
    page = _confirmation_page(author, url, yes="Yes, withdraw it", cancel=f"/submissions/{sub_id}")
    assert "Withdraw this submission?" in page and "for good" in page
    version = _hidden(page, "version")

    resp = _post(author, url, {"version": version, "reason": "Sent by mistake"})
    assert resp.status_code == 303 and resp.location.endswith(url), "without confirmation: back to the page"
    assert submissions_world.state(app, sub_id)[0] is Status.draft, "nothing happened"

    resp = _post(author, url, {"version": version, "reason": "Sent by mistake", "confirmed": "yes"})
    assert resp.status_code == 302
    assert submissions_world.state(app, sub_id)[0] is Status.withdrawn
    events = submissions_world.events(app, sub_id, "submission.withdraw")
    assert len(events) == 1 and events[0].reason == "Sent by mistake"


def test_withdraw_refused_on_the_confirmation_page_keeps_the_reason_and_says_why(app, login, sub_world):
    world, sub_id = sub_world
    author = submissions_world.signed_in(app, login, world, "author")
    url = f"/submissions/{sub_id}/withdraw"
    resp = _post(author, url, {"version": "1", "reason": "r" * 6000, "confirmed": "yes"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "There is a problem" in page and 'href="#reason"' in page
    assert "r" * 6000 in page, "the reason typed comes back"
    assert submissions_world.state(app, sub_id)[0] is Status.draft


@pytest.mark.parametrize(
    ("who", "status"),
    [("author", 200), ("colleague", 403), ("specialist", 403), ("observer", 404), ("outsider", 404)],
)
def test_the_withdraw_page_asks_the_permission_the_action_asks(app, login, sub_world, who, status):
    world, sub_id = sub_world
    client = submissions_world.signed_in(app, login, world, who)
    url = f"/submissions/{sub_id}/withdraw"
    assert client.get(url).status_code == status
    resp = _post(client, url, {"version": "1", "confirmed": "yes"})
    assert resp.status_code == (302 if status == 200 else status)
    expected = Status.withdrawn if who == "author" else Status.draft
    assert submissions_world.state(app, sub_id)[0] is expected


# --- removing a member ---------------------------------------------------------------------------


@pytest.fixture
def members_world(make):
    union = make.organisation("Union", OrgGroup.workers)
    project = make.project("RAF/22/11/NOR")
    other = make.project("RLA/23/05/FIN")
    spec = make.user("spec@example.org")
    rep = make.user("rep@example.org", organisation_id=union, full_name="Rita Reporter")
    make.user("out@example.org")
    observer = make.user("obs@example.org")
    make.partner(project, union)
    make.member(spec, project, Role.specialist)
    membership = make.member(rep, project, Role.reporter, organisation_id=union)
    make.member(observer, project, Role.observer)
    make.member(make.user("other-spec@example.org"), other, Role.specialist)
    return project, membership


def _is_member(app, membership: int) -> bool:
    with app.app_context():
        return db.session.get(Membership, membership) is not None


def test_removing_a_member_asks_first(app, client, login, members_world):
    project, membership = members_world
    login("spec@example.org")
    members = client.get(f"/projects/{project}/members").get_data(as_text=True)
    url = f"/projects/{project}/members/{membership}/remove"
    assert f'href="{url}"' in members
    page = _confirmation_page(client, url, yes="Yes, remove them", cancel=f"/projects/{project}/members")
    assert "Remove Rita Reporter from the project?" in page and "can no longer report for Union" in page

    assert _post(client, url).status_code == 303
    assert _is_member(app, membership), "nothing happened without the confirmation"
    assert _post(client, url, {"confirmed": "yes"}).status_code == 302
    assert not _is_member(app, membership)


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("spec@example.org", 200),
        ("obs@example.org", 403),
        ("rep@example.org", 403),
        ("out@example.org", 404),
        ("other-spec@example.org", 404),
    ],
)
def test_the_remove_page_asks_the_permission_the_action_asks(
    app, client, login, members_world, email, status
):
    project, membership = members_world
    login(email)
    url = f"/projects/{project}/members/{membership}/remove"
    assert client.get(url).status_code == status
    resp = _post(client, url, {"confirmed": "yes"})
    assert resp.status_code == (302 if status == 200 else status)
    assert _is_member(app, membership) is (status != 200)


# --- closing an evaluation -----------------------------------------------------------------------


@pytest.fixture
def ev_world(app, make):
    world = evaluation_world.build_world(app, make)
    return world, evaluation_world.add_evaluation(app, world)


def _evaluation_status(app, evaluation_id: int) -> EvaluationStatus:
    with app.app_context():
        return db.session.get(Evaluation, evaluation_id).status


def test_closing_an_evaluation_asks_first_and_says_who_is_left_out(app, client, login, ev_world):
    world, evaluation_id = ev_world
    evaluation_world.add_scorecard(
        app, evaluation_id, world.users["union1"], evaluation_world.ScorerGroup.workers, {}, submitted=False
    )
    login(world.emails["specialist"])
    detail = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    url = f"/evaluations/{evaluation_id}/close"
    assert f'href="{url}"' in detail
    page = _confirmation_page(
        client, url, yes="Yes, close the evaluation", cancel=f"/evaluations/{evaluation_id}"
    )
    assert "0 of 1 scorecards are submitted" in page
    version = _hidden(page, "version")

    assert _post(client, url, {"version": version}).status_code == 303
    assert _evaluation_status(app, evaluation_id) is EvaluationStatus.open
    assert _post(client, url, {"version": version, "confirmed": "yes"}).status_code == 302
    assert _evaluation_status(app, evaluation_id) is EvaluationStatus.closed
    # Closed: the page says so instead of asking again.
    again = client.get(url)
    assert again.status_code == 302 and again.location.endswith(f"/evaluations/{evaluation_id}")


@pytest.mark.parametrize(
    ("who", "status"),
    [("specialist", 200), ("evaluator", 403), ("union1", 403), ("admin", 403), ("outsider", 404)],
)
def test_the_close_page_asks_the_permission_the_action_asks(app, client, login, ev_world, who, status):
    world, evaluation_id = ev_world
    login(world.emails[who])
    url = f"/evaluations/{evaluation_id}/close"
    assert client.get(url).status_code == status
    with app.app_context():
        version = db.session.get(Evaluation, evaluation_id).version
    resp = _post(client, url, {"version": str(version), "confirmed": "yes"})
    assert resp.status_code == (302 if status == 200 else status)
    expected = EvaluationStatus.closed if status == 200 else EvaluationStatus.open
    assert _evaluation_status(app, evaluation_id) is expected


# --- approving a results framework ---------------------------------------------------------------


@pytest.fixture
def fw_world(make):
    union = make.organisation("Union", OrgGroup.workers)
    project = make.project("RAF/22/11/NOR")
    make.member(make.user("spec@example.org"), project, Role.specialist)
    make.member(make.user("rep@example.org", organisation_id=union), project, Role.reporter, union)
    make.member(make.user("eval@example.org"), project, Role.evaluator)
    make.user("out@example.org")
    make.user("admin@example.org", is_admin=True)
    outcome = make.result(project, "1", type=ResultType.outcome, title="Stronger unions")
    make.indicator(outcome, "1.a", title="Members")
    return project


def _approved(app, project: int) -> bool:
    with app.app_context():
        return db.session.get(Project, project).framework_approved


def test_approving_a_framework_asks_first(app, client, login, fw_world):
    project = fw_world
    login("spec@example.org")
    framework = client.get(f"/projects/{project}/framework").get_data(as_text=True)
    url = f"/projects/{project}/framework/approve"
    assert f'href="{url}"' in framework
    page = _confirmation_page(
        client, url, yes="Yes, approve the framework", cancel=f"/projects/{project}/framework"
    )
    assert "every change to its results and indicators asks for a reason" in page
    assert _post(client, url).status_code == 303
    assert not _approved(app, project)
    assert _post(client, url, {"confirmed": "yes"}).status_code == 302
    assert _approved(app, project)


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("spec@example.org", 200),
        ("rep@example.org", 403),
        ("eval@example.org", 403),
        ("admin@example.org", 403),
        ("out@example.org", 404),
    ],
)
def test_the_approve_page_asks_the_permission_the_action_asks(app, client, login, fw_world, email, status):
    project = fw_world
    login(email)
    url = f"/projects/{project}/framework/approve"
    assert client.get(url).status_code == status
    resp = _post(client, url, {"confirmed": "yes"})
    assert resp.status_code == (302 if status == 200 else status)
    assert _approved(app, project) is (status == 200)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 1
