"""A POST refused by the CSRF check acts on nothing (ASVS V3.5 browser origin separation).

The refusal can be about the Referer alone: over HTTPS, Flask-WTF refuses a POST without a
same-origin Referer even when the form carries a valid token. The error page used to call the
view again to give the user's input back; the view validated its own (valid) token, changed the
password or sent the email, committed, and the page then said "Nothing was saved". These tests
post every form of the app in exactly that situation and compare the database and the mailbox
before and after.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from mel_app.auth.passwords import verify_password
from mel_app.extensions import db
from mel_app.models import AuditEvent, OneTimeToken, User
from tests.authz.world import audit_head, build_world, changed_tables, snapshot
from tests.conftest import csrf_token
from tests.factories import PASSWORD
from tests.security.conftest import KINDS, get_routes, route_url, rules_by_endpoint, sign_in
from tests.security.test_fuzz import _ancestors, _form_pages, form_fields, post_endpoints, users_of
from tests.smtp_server import mail_server_fixture  # noqa: F401 - the mail_server fixture

# A request refused by the CSRF check never reaches a query: no database can change that.
pytestmark = pytest.mark.same_on_every_database

HTTPS = "https://localhost"
# A browser on one of our pages: its own origin, and (as when a policy or a privacy setting
# withholds it) no Referer. Over HTTPS the strict referrer check refuses such a POST.
OWN_ORIGIN_NO_REFERER = {"Origin": HTTPS}
NEW_PASSWORD = "solidarity forever among the workers"
# What a user types into the fields a page shows empty, so that the form would act if accepted.
TYPED = {
    "password": NEW_PASSWORD,
    "confirm": NEW_PASSWORD,
    "current_password": PASSWORD,
    "password_or_code": PASSWORD,
    "reason": "Typed before the token was refused",
    "body": "Typed before the token was refused",
}


def _form_for(app, world, clients, pages, endpoint: str, rule) -> tuple[str, dict[str, list[str]]]:
    url = route_url(app, endpoint, rule, world)
    action = url.split("?")[0]
    candidates = [
        (route_url(app, get_endpoint, next(r for n, r in get_routes(app) if n == get_endpoint), world), kind)
        for get_endpoint, kind in pages.get(endpoint, [])
    ] + [(parent, kind) for parent in [action, *_ancestors(action)] for kind in KINDS]
    for page_url, kind in candidates:
        with clients[kind].get(page_url) as resp:
            if resp.status_code != 200 or not resp.mimetype.startswith("text/html"):
                continue
            found = form_fields(resp.get_data(as_text=True), action, page_url)
        if found:
            return url, found
    return url, {}


def _filled(fields: dict[str, list[str]], email: str) -> MultiDict:
    body = []
    for name, values in fields.items():
        for value in values or [""]:
            if not value and name in TYPED:
                value = TYPED[name]
            if not value and name == "email":
                value = email
            body.append((name, value))
    return MultiDict(body)


def test_no_post_refused_by_the_csrf_check_changes_a_row_sends_mail_or_writes_the_trail(
    app, make, mail_server
):
    world = build_world(app, make)
    clients = sign_in(app, world)
    pages = _form_pages(app, world)
    with app.app_context():
        email = db.session.get(User, world.user_reporter_same_org).email
    before, head, sent = snapshot(app), audit_head(app), len(mail_server.messages)
    problems, tried = [], 0
    for endpoint in post_endpoints(app):
        rule = next(r for r in rules_by_endpoint(app)[endpoint] if "POST" in r.methods)
        url, fields = _form_for(app, world, clients, pages, endpoint, rule)
        for kind in users_of(endpoint):
            client = clients[kind]
            body = _filled(fields, email)
            refusals = {
                # A valid token: only the Referer is missing.
                "no Referer": (csrf_token(client), OWN_ORIGIN_NO_REFERER),
                # A stale token, from one of our own pages (e.g. after signing in again elsewhere).
                "stale token": ("stale", {"Origin": HTTPS, "Referer": f"{HTTPS}/"}),
            }
            # The JSON API takes no cookies and no CSRF token: a browser's session is no
            # credential there, so the same forged POST is refused as unauthenticated.
            refused = 401 if url.startswith("/api/") else 400
            for label, (token, headers) in refusals.items():
                body["csrf_token"] = token
                with client.post(url, data=body, base_url=HTTPS, headers=headers) as resp:
                    tried += 1
                    if resp.status_code != refused:
                        problems.append(f"POST {url} as {kind} ({label}): {resp.status_code}, not refused")
                    elif "Nothing was saved" not in resp.get_data(as_text=True) and len(body) > 1:
                        problems.append(f"POST {url} as {kind} ({label}): the typed text was not given back")
    assert tried > 160, "every form was posted"
    assert changed_tables(before, snapshot(app)) == [], "a refused POST changed the database"
    assert audit_head(app) == head, "a refused POST wrote to the audit trail"
    assert len(mail_server.messages) == sent, "a refused POST sent an email"
    assert not problems, "\n".join(problems)


def test_a_password_change_refused_for_its_referer_changes_nothing_and_can_be_sent_again(
    app, client, make, login
):
    user = make.user("rep@example.org")
    login("rep@example.org")
    head = audit_head(app)
    form = {
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "submit": "Change the password",
        "csrf_token": csrf_token(client),
    }
    resp = client.post("/account/password", data=form, base_url=HTTPS, headers=OWN_ORIGIN_NO_REFERER)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Please send your form again" in page and "Nothing was saved" in page
    assert NEW_PASSWORD not in page and PASSWORD not in page, "no password is written into the page"
    with app.app_context():
        assert verify_password(db.session.get(User, user).password_hash, PASSWORD)[0], "unchanged"
    assert audit_head(app) == head
    # The same form from the page that came back, with its Referer: the password changes now.
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post(
        "/account/password",
        data={**form, "csrf_token": fresh},
        base_url=HTTPS,
        headers={**OWN_ORIGIN_NO_REFERER, "Referer": f"{HTTPS}/account/password"},
    )
    assert resp.status_code == 302
    with app.app_context():
        assert verify_password(db.session.get(User, user).password_hash, NEW_PASSWORD)[0]


def test_a_reset_request_refused_for_its_referer_sends_no_mail_and_keeps_the_email(
    app, client, make, mail_server
):
    make.user("rep@example.org")
    resp = client.post(
        "/auth/reset",
        data={"email": "rep@example.org", "csrf_token": csrf_token(client)},
        base_url=HTTPS,
        headers=OWN_ORIGIN_NO_REFERER,
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Nothing was saved" in page and 'value="rep@example.org"' in page
    assert mail_server.messages == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OneTimeToken)) == 0
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "user.password_reset_requested" not in actions
