"""The authorization matrix: every route × every kind of user × GET and POST (see __init__.py)."""

from __future__ import annotations

from collections import defaultdict

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound

from config import TestingConfig
from mel_app import create_app
from mel_app.auth.sessions import start_session
from mel_app.extensions import db
from mel_app.models import AuditEvent, User
from tests.authz.policy import KINDS, Route, derived_unsupported, load_policies
from tests.authz.world import World, audit_head, build_world, changed_since, changed_tables, snapshot
from tests.conftest import csrf_token

METHODS = ("GET", "POST")


# The routes are read from an app built when the tests run (`rules`), not when this module is
# imported: collection stays quick, in every parallel worker. Each policy is a test of its own;
# a policy without a route, or a route without a policy, fails test_every_route_has_a_policy.
POLICIES = load_policies()


@pytest.fixture(scope="session")
def rules() -> dict[str, list]:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    by_endpoint = defaultdict(list)
    for rule in app.url_map.iter_rules():
        by_endpoint[rule.endpoint].append(rule)
    return dict(by_endpoint)


def _sign_in(app, world: World) -> dict:
    """A browser per kind of user, each with its own open session.

    The sessions are opened directly (as the login view does), which keeps the matrix fast;
    signing in through the form is tested elsewhere.
    """
    clients = {"anonymous": app.test_client()}
    with app.app_context():
        tokens = {
            kind: start_session(
                db.session.get(User, world.ids[f"user_{kind}"]), remote_addr=None, user_agent="matrix"
            )
            for kind in KINDS[1:]
        }
        db.session.commit()
        db.session.remove()
    for kind, token in tokens.items():
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = token
        clients[kind] = client
    return clients


def _url(app, endpoint: str, rule, route: Route, world: World) -> str:
    given = route.args(world) if route.args else {}
    args = {**world.url_args(set(rule.arguments) - set(given)), **given}
    with app.test_request_context():
        return url_for(endpoint, **args)


def _data(route: Route, world: World) -> dict:
    return dict(route.data(world) if callable(route.data) else route.data)


def _handled_elsewhere(app, url: str, method: str, endpoint: str) -> bool:
    """Whether another endpoint answers this method on the same URL (e.g. GET index, POST add)."""
    adapter = app.url_map.bind("localhost")
    try:
        matched, _args = adapter.match(url.split("?")[0], method=method)
    except (MethodNotAllowed, NotFound):
        return False
    return matched != endpoint


def _call(client, method: str, url: str, data: dict, *, with_token: bool = True, headers=None) -> int:
    if method == "POST":
        data = {**data, "csrf_token": csrf_token(client)} if with_token else data
        with client.post(url, data=data, headers=headers or {}) as resp:
            return resp.status_code
    with client.get(url, headers=headers or {}) as resp:
        return resp.status_code


def _matches(expected, status: int) -> bool:
    return status in expected if isinstance(expected, tuple) else status == expected


def test_every_route_has_a_policy(rules):
    missing = sorted(set(rules) - set(POLICIES))
    stale = sorted(set(POLICIES) - set(rules))
    assert not missing, (
        f"routes without a policy in tests/authz/policies_*.py: {missing} "
        "(state who may use them; see tests/authz/__init__.py)"
    )
    assert not stale, f"policies for routes that do not exist: {stale}"


def test_every_method_a_route_accepts_has_an_expectation(rules):
    problems = []
    for endpoint, endpoint_rules in rules.items():
        route = POLICIES.get(endpoint)
        if route is None:
            continue
        for rule in endpoint_rules:
            for method in METHODS:
                if method in rule.methods and route.for_method(method) is None:
                    problems.append(f"{endpoint} accepts {method} but its policy says nothing about it")
            extra = rule.methods - {"GET", "HEAD", "OPTIONS", "POST"}
            if endpoint.startswith("api_v1."):
                # The JSON API also changes (PATCH) and removes (DELETE), with a token only: a
                # signed-in browser gets 401 there like everywhere in it (tests/api/ checks it).
                extra -= {"PATCH", "DELETE"}
            if extra:
                problems.append(f"{endpoint} accepts {sorted(extra)}: only GET and POST are used in this app")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("endpoint", sorted(POLICIES))
def test_route_policy(rules, shared_app, shared_make, endpoint):
    if endpoint not in rules:
        pytest.skip(f"{endpoint} is no route of the app (test_every_route_has_a_policy fails on it)")
    # Each route gets a world of its own, in a database shared by all routes (see conftest.py).
    app, make = shared_app, shared_make
    route = POLICIES[endpoint]
    world = build_world(app, make)
    clients = _sign_in(app, world)
    head = audit_head(app)
    problems = []
    for rule in rules[endpoint]:
        for method in METHODS:
            url = _url(app, endpoint, rule, route, world)
            if method in rule.methods:
                expected = route.for_method(method)
                if expected is None:
                    continue  # reported by test_every_method_a_route_accepts_has_an_expectation
            elif _handled_elsewhere(app, url, method, endpoint):
                continue  # that endpoint's own policy covers it
            else:
                expected = route.for_method(method) or derived_unsupported()
            for kind in KINDS:
                url = _url(app, endpoint, rule, route, world)
                status = _call(clients[kind], method, url, _data(route, world))
                if not _matches(expected[kind], status):
                    problems.append(f"{method} {url} as {kind}: expected {expected[kind]}, got {status}")
                if changed_since(app, head):
                    # Something changed (e.g. a member was removed): the next user gets a new world.
                    world = build_world(app, make)
                    clients = _sign_in(app, world)
                head = audit_head(app)
    assert not problems, f"{endpoint}:\n" + "\n".join(problems)


def _post_routes(rules):
    for endpoint, endpoint_rules in sorted(rules.items()):
        if endpoint.startswith("api_v1."):
            continue  # the JSON API reads no cookie and takes no CSRF token (tests/api/ checks it)
        for rule in endpoint_rules:
            if rule.methods - {"GET", "HEAD", "OPTIONS"}:
                yield endpoint, rule


# Refused by the CSRF check before any view runs: no database can change that.
@pytest.mark.same_on_every_database
def test_post_without_csrf_token_is_refused(app, make, rules):
    """Every non-GET route refuses a POST without the token (400), for everyone, and nothing changes.

    Both without an Origin (as from another site) and from one of our own pages (where the form
    comes back with the user's input): refused either way.
    """
    world = build_world(app, make)
    clients = _sign_in(app, world)
    before = snapshot(app)
    problems = []
    own_page = {"Origin": "http://localhost", "Referer": "http://localhost/"}
    for endpoint, rule in _post_routes(rules):
        route = POLICIES.get(endpoint, Route())
        url = _url(app, endpoint, rule, route, world)
        for kind in KINDS:
            for headers in ({}, own_page):
                status = _call(
                    clients[kind], "POST", url, _data(route, world), with_token=False, headers=headers
                )
                if status != 400:
                    problems.append(
                        f"POST {url} without a token as {kind} ({headers or 'no origin'}): {status}"
                    )
    changed = changed_tables(before, snapshot(app))
    assert not problems, "\n".join(problems)
    assert not changed, f"a POST without a CSRF token changed {changed}"


# A download by GET writes its event to the trail (who read which file) and nothing else.
GET_DOWNLOAD_EVENTS = frozenset(
    {"attachment.download", "framework.download", "portfolio.download", "story_evidence.download"}
)


# Whether a view writes on a GET is its own code's doing, whichever database it writes to.
@pytest.mark.same_on_every_database
def test_no_get_route_changes_a_row(app, make, rules):
    world = build_world(app, make)
    clients = _sign_in(app, world)
    problems = []
    for endpoint, endpoint_rules in sorted(rules.items()):
        route = POLICIES.get(endpoint, Route())
        for rule in endpoint_rules:
            if "GET" not in rule.methods:
                continue
            url = _url(app, endpoint, rule, route, world)
            before = snapshot(app)
            head = audit_head(app)
            for kind in KINDS:
                _call(clients[kind], "GET", url, {})
            changed = changed_tables(before, snapshot(app))
            if changed == ["audit_event"] and _new_actions(app, head) <= GET_DOWNLOAD_EVENTS:
                continue
            if changed:
                problems.append(f"GET {url} changed {changed}")
    assert not problems, "\n".join(problems)


def _new_actions(app, head: int) -> set[str]:
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.id > head)))
        db.session.remove()
    return actions
