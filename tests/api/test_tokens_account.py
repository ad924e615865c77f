"""Personal access tokens on the account page: created with the secret shown once, listed with
their last use, revoked; staff need two-factor sign-in; every step is in the audit trail."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

import pyotp
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import ApiToken, AuditEvent, Role, utcnow
from tests.api.helpers import bearer
from tests.conftest import csrf_token
from tests.factories import PASSWORD


def _secret_in(page: str) -> str:
    match = re.search(r'id="new-token" type="text" readonly value="(mel_[^"]+)"', page)
    assert match, "the new token is shown"
    return match.group(1)


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_reporter_creates_a_token_sees_it_once_and_uses_it(app, client, make, login, post):
    org = make.organisation("Union")
    make.user("rep@example.org", organisation_id=org)
    login("rep@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "/account/tokens" in page
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "You have no tokens." in page and "Name of the token" in page

    resp = post(
        "/account/tokens", {"name": "Quarterly export", "scopes": ["read", "report"], "expires_in": "30"}
    )
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    page = resp.get_data(as_text=True)
    secret = _secret_in(page)
    assert secret.startswith("mel_") and len(secret) >= 40
    assert "Quarterly export" in page and "read report" in page and "never" in page

    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken))
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest(), "only the hash is stored"
        assert secret not in {token.name, token.hint, token.scopes}
        assert 29 <= (token.expires_at - utcnow()).days <= 30
    assert "api_token.create" in _actions(app)

    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again, "the secret is shown only once"
    assert secret[:8] in again, "its first characters tell it apart"

    resp = app.test_client().get("/api/v1/me", headers=bearer(secret))
    assert resp.status_code == 200 and resp.json["email"] == "rep@example.org"
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "never" not in page, "the last use is listed"


def test_a_token_needs_a_name_and_a_scope_and_a_csrf_token(app, client, make, login, post):
    make.user("rep@example.org")
    login("rep@example.org")
    resp = post("/account/tokens", {"name": "", "expires_in": "90"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Choose at least one." in page and "mel_" not in page
    resp = post("/account/tokens", {"name": "x", "scopes": ["read"], "expires_in": "10000"})
    assert resp.status_code == 400, "only the offered expiries"
    resp = client.post("/account/tokens", data={"name": "x", "scopes": ["read"], "expires_in": "90"})
    assert resp.status_code == 400, "no CSRF token, no token"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_revoking_a_token_stops_it_at_once_and_is_audited(app, client, make, login, post):
    make.user("rep@example.org")
    other = make.user("other@example.org")
    login("rep@example.org")
    secret = _secret_in(
        post("/account/tokens", {"name": "s", "scopes": ["read"], "expires_in": "90"}).get_data(as_text=True)
    )
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200

    # Someone else's token cannot be revoked from here.
    from tests.api.helpers import make_token

    make_token(app, other)
    with app.app_context():
        others_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == other))
    assert post(f"/account/tokens/{others_id}/revoke").status_code == 404

    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 400, "CSRF checked"
    resp = post(f"/account/tokens/{token_id}/revoke")
    assert resp.status_code == 302
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "has been revoked" in page and "revoked" in page
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert "api_token.revoke" in _actions(app)
    assert post(f"/account/tokens/{token_id}/revoke").status_code == 404, "once"


def test_staff_need_two_factor_sign_in_to_create_and_to_use_tokens(app, make, post):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = frozenset({"admin", "specialist", "evaluator"})
    project = make.project()
    specialist = make.user("ilo@example.org")
    make.member(specialist, project, Role.specialist)

    # Without a second factor the specialist is sent to set it up, and cannot post a token.
    browser = app.test_client()
    browser.post(
        "/login", data={"email": "ilo@example.org", "password": PASSWORD, "csrf_token": csrf_token(browser)}
    )
    resp = post("/account/tokens", {"name": "s", "scopes": ["read"], "expires_in": "90"}, on=browser)
    assert resp.status_code == 302 and urlsplit(resp.location).path == "/account/two-factor"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0

    # With it on, the token is created.
    secret_2fa = pyotp.random_base32()
    make.user("ilo2@example.org", totp_secret=secret_2fa, totp_enabled_at=utcnow())
    with app.app_context():
        from mel_app.models import User

        second = db.session.scalar(sa.select(User.id).where(User.email == "ilo2@example.org"))
    make.member(second, project, Role.specialist)
    browser = app.test_client()
    browser.post(
        "/login", data={"email": "ilo2@example.org", "password": PASSWORD, "csrf_token": csrf_token(browser)}
    )
    resp = browser.post(
        "/login/code", data={"code": pyotp.TOTP(secret_2fa).now(), "csrf_token": csrf_token(browser)}
    )
    assert resp.status_code == 302
    resp = post(
        "/account/tokens", {"name": "s", "scopes": ["read", "review"], "expires_in": "90"}, on=browser
    )
    assert resp.status_code == 200
    secret = _secret_in(resp.get_data(as_text=True))
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200

    # Should their second factor be reset later, the token waits until it is on again.
    with app.app_context():
        from mel_app.models import User

        user = db.session.get(User, second)
        user.totp_enabled_at = None
        db.session.commit()
    resp = app.test_client().get("/api/v1/me", headers=bearer(secret))
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"


def test_a_reporter_without_a_staff_role_needs_no_second_factor(app, client, make, login):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = frozenset({"admin", "specialist", "evaluator"})
    project = make.project()
    org = make.organisation("Union")
    reporter = make.user("rep@example.org", organisation_id=org)
    make.member(reporter, project, Role.reporter, organisation_id=org)
    login("rep@example.org")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "Create the token" in page
