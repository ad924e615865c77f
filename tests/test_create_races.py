"""Every "create it unless it exists" path, raced: no 500, one row, the loser told it exists.

A service checks that the row is absent, then inserts it; two people passing the check at the same
moment used to give the second one a 500 (IntegrityError). Each path is raced two ways:

- on both databases, deterministically: a second browser makes the same request at the worst
  moment, just before the first one's insert reaches the database (after its checks);
- on PostgreSQL, for real: eight browsers post at once (SQLite lets one writer in at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from mel_app.extensions import db
from mel_app.models import (
    CriteriaSet,
    Membership,
    Organisation,
    ReportingPeriod,
    Result,
    Scale,
    Scorecard,
    User,
)
from tests.conftest import csrf_token, is_postgres
from tests.evaluation_world import add_evaluation, build_world


@dataclass
class Race:
    who: str  # the world's user who posts
    url: Callable  # (world, evaluation_id) -> url
    data: Callable  # (world) -> form data
    model: type  # what the create inserts (the second browser goes when it is about to)
    count: Callable  # (world) -> a select of how many rows were made
    expected: int  # how many rows the winner makes
    loser_says: str


RACES = {
    "member with an existing account": Race(
        "specialist",
        lambda w, e: f"/projects/{w.project}/members",
        lambda w: {
            "email": w.emails["outsider"],
            "full_name": "",
            "role": "evaluator",
            "organisation_id": "",
        },
        Membership,
        lambda w: sa.select(sa.func.count(Membership.id)).where(Membership.user_id == w.users["outsider"]),
        1,
        "This person has this role in the project already.",
    ),
    "member invited by email": Race(
        "specialist",
        lambda w, e: f"/projects/{w.project}/members",
        lambda w: {"email": "newcomer@example.org", "full_name": "New Comer", "role": "observer"},
        User,
        lambda w: (
            sa.select(sa.func.count(Membership.id))
            .join(User, User.id == Membership.user_id)
            .where(User.email == "newcomer@example.org")
        ),
        1,
        "This person has this role in the project already.",
    ),
    "account invited by an administrator": Race(
        "admin",
        lambda w, e: "/admin/users/invite",
        lambda w: {
            "email": "invitee@example.org",
            "full_name": "Ines Invitee",
            "organisation_id": "",
            "preferred_language": "en",
        },
        User,
        lambda w: sa.select(sa.func.count(User.id)).where(User.email == "invitee@example.org"),
        1,
        "An account with this email exists already.",
    ),
    "organisation": Race(
        "admin",
        lambda w, e: "/admin/organisations/new",
        lambda w: {"name": "Fictional Dockworkers Union", "acronym": "", "group": "workers", "country": ""},
        Organisation,
        lambda w: sa.select(sa.func.count(Organisation.id)).where(
            Organisation.name == "Fictional Dockworkers Union"
        ),
        1,
        "An organisation with this name exists already.",
    ),
    "reporting periods": Race(
        "specialist",
        lambda w, e: f"/projects/{w.project}/periods/generate",
        lambda w: {"frequency": "yearly", "due_days": "30"},
        ReportingPeriod,
        lambda w: sa.select(sa.func.count(ReportingPeriod.id)).where(ReportingPeriod.project_id == w.project),
        4,  # 2024 to 2027
        "periods were left out because they overlap existing ones",
    ),
    "scorecards of an evaluation": Race(
        "specialist",
        lambda w, e: f"/evaluations/{e}/invite",
        lambda w: {"evaluators": str(w.users["evaluator"])},
        Scorecard,
        lambda w: sa.select(sa.func.count(Scorecard.id)),
        1,
        "Everyone chosen was already invited.",
    ),
    "result of the framework": Race(
        "specialist",
        lambda w, e: f"/projects/{w.project}/framework/results/new",
        lambda w: {"type": "outcome", "code": "9", "title": "Better wages", "parent_id": ""},
        Result,
        lambda w: sa.select(sa.func.count(Result.id)).where(
            Result.project_id == w.project, Result.code == "9"
        ),
        1,
        "Another result of this project has the code 9.",
    ),
    "criteria set": Race(
        "admin",
        lambda w, e: "/admin/criteria-sets/new",
        lambda w: {"name": "Decent work criteria", "criteria-0-code": "R", "criteria-0-name": "Relevance"},
        CriteriaSet,
        lambda w: sa.select(sa.func.count(CriteriaSet.id)).where(CriteriaSet.name == "Decent work criteria"),
        1,
        "Another criteria set already has this name.",
    ),
    "scale": Race(
        "admin",
        lambda w, e: "/admin/scales/new",
        lambda w: {"name": "Four points", **{f"points-{n}-label": f"Point {n + 1}" for n in range(4)}},
        Scale,
        lambda w: sa.select(sa.func.count(Scale.id)).where(Scale.name == "Four points"),
        1,
        "Another scale already has this name.",
    ),
}


@pytest.fixture
def arena(app, make, login):
    world = build_world(app, make)
    evaluation = add_evaluation(app, world)

    def browser(who: str):
        client = app.test_client()
        login(world.emails[who], on=client)
        return client

    return world, evaluation, browser


def _post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def _count(app, race: Race, world) -> int:
    with app.app_context():
        return db.session.scalar(race.count(world))


@contextmanager
def someone_else_first(model: type, competitor: Callable[[], object]):
    """Run `competitor` (a request of its own) once, just before this request inserts a `model`."""
    state = {"done": False, "answer": None}

    def before_flush(session, _context, _instances):
        if state["done"] or not any(isinstance(obj, model) for obj in session.new):
            return
        state["done"] = True
        # Another thread, so another request with its own session and connection, as in production;
        # this one waits for it to finish, as if it had been a moment slower.
        thread = threading.Thread(target=lambda: state.update(answer=competitor()))
        thread.start()
        thread.join(60)

    event.listen(Session, "before_flush", before_flush)
    try:
        yield state
    finally:
        event.remove(Session, "before_flush", before_flush)


@pytest.mark.parametrize("name", sorted(RACES))
def test_a_create_overtaken_between_its_check_and_its_insert_says_it_exists(app, arena, name):
    world, evaluation, browser = arena
    race = RACES[name]
    url, data = race.url(world, evaluation), race.data(world)
    first, second = browser(race.who), browser(race.who)
    with someone_else_first(race.model, lambda: _post(second, url, data)) as other:
        resp = _post(first, url, data)
    assert other["done"], "the second browser went in before the first one's insert"
    assert other["answer"].status_code in (200, 302)
    assert resp.status_code < 500
    page = resp.get_data(as_text=True)
    if resp.status_code == 302:
        page = first.get(resp.headers["Location"]).get_data(as_text=True)
    assert race.loser_says in page
    assert _count(app, race, world) == race.expected


RACERS = 8


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: SQLite lets one writer in at a time")
@pytest.mark.parametrize("name", sorted(RACES))
def test_eight_people_creating_the_same_thing_at_once_make_one(app, arena, name):
    world, evaluation, browser = arena
    race = RACES[name]
    url, data = race.url(world, evaluation), race.data(world)
    browsers = [browser(race.who) for _n in range(RACERS)]
    tokens = [csrf_token(client) for client in browsers]
    barrier = threading.Barrier(RACERS)
    results: list = [None] * RACERS
    errors: list = []

    def run(i):
        try:
            barrier.wait(timeout=60)
            resp = browsers[i].post(url, data={**data, "csrf_token": tokens[i]})
            page = resp.get_data(as_text=True)
            if resp.status_code == 302:
                page = browsers[i].get(resp.headers["Location"]).get_data(as_text=True)
            results[i] = (resp.status_code, page)
        except Exception as exc:  # reported below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    codes = sorted(code for code, _page in results)
    assert all(code < 500 for code in codes), codes
    assert _count(app, race, world) == race.expected
    told = sum(race.loser_says in page for _code, page in results)
    assert told == RACERS - 1, f"{told} of {RACERS - 1} losers were told: {codes}"
