"""One app and database per test module, the authorization matrix's world, and its users' browsers.

The attack suite reuses tests/authz: its world (two projects, one user of every kind) and its
policies (which kinds of user may use a route, and the URL arguments of each route), so a new
route is attacked as soon as it has a policy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from flask import url_for

from mel_app.auth.sessions import start_session
from mel_app.extensions import db
from mel_app.models import User
from tests.authz.policy import KINDS, Route, load_policies
from tests.authz.world import World, build_world
from tests.conftest import app_of_its_own
from tests.factories import Factory

POLICIES = load_policies()


def rules_by_endpoint(app) -> dict[str, list]:
    rules = defaultdict(list)
    for rule in app.url_map.iter_rules():
        rules[rule.endpoint].append(rule)
    return dict(rules)


def route_url(app, endpoint: str, rule, world: World) -> str:
    route = POLICIES.get(endpoint, Route())
    given = route.args(world) if route.args else {}
    args = {**world.url_args(set(rule.arguments) - set(given)), **given}
    with app.test_request_context():
        return url_for(endpoint, **args)


def get_routes(app) -> Iterator[tuple[str, object]]:
    for endpoint, rules in sorted(rules_by_endpoint(app).items()):
        for rule in rules:
            if "GET" in rule.methods:
                yield endpoint, rule


def sign_in(app, world: World, *, user_agent: str = "attack suite", **client_kwargs) -> dict:
    """A browser per kind of user (the matrix's way: sessions opened directly), plus anonymous."""
    clients = {"anonymous": app.test_client(**client_kwargs)}
    with app.app_context():
        tokens = {
            kind: start_session(
                db.session.get(User, world.ids[f"user_{kind}"]), remote_addr=None, user_agent=user_agent
            )
            for kind in KINDS[1:]
        }
        db.session.commit()
        db.session.remove()
    for kind, token in tokens.items():
        client = app.test_client(**client_kwargs)
        with client.session_transaction() as sess:
            sess["_user_id"] = token
        clients[kind] = client
    return clients


@pytest.fixture(scope="module")
def module_app(database):
    with app_of_its_own(database) as app:
        yield app


@pytest.fixture(scope="module")
def module_make(module_app) -> Factory:
    return Factory(module_app)


@pytest.fixture(scope="module")
def module_world(module_app, module_make) -> World:
    return build_world(module_app, module_make)


__all__ = ["KINDS", "POLICIES", "build_world", "get_routes", "route_url", "rules_by_endpoint", "sign_in"]
