"""Server-side sessions: revoked at logout, password change, deactivation; idle and absolute timeouts."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, User, UserSession, utcnow
from tests.audit_helpers import changed

COOKIE = "mel_session"


def _copy_cookie(source, app):
    """Another browser holding a copy of `source`'s session cookie (a stolen or replayed cookie)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, source.get_cookie(COOKIE).value)
    return thief


def _session_rows(app, user_id: int) -> list[UserSession]:
    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id)).all()
        db.session.expunge_all()
        return rows


def test_a_session_cookie_replayed_after_logout_is_refused(app, client, make, login, post):
    make.user("rep@example.org")
    login("rep@example.org")
    replay = _copy_cookie(client, app)
    assert replay.get("/").status_code == 200, "a copy works while the session is open"
    post("/logout")
    resp = replay.get("/")
    assert resp.status_code == 302 and resp.location.startswith("/login")


def test_the_cookie_carries_a_fresh_random_token_at_every_login_and_only_its_hash_is_stored(
    app, client, make, login
):
    user = make.user("rep@example.org")
    login("rep@example.org")
    second = app.test_client()
    login("rep@example.org", on=second)
    tokens = []
    for browser in (client, second):
        with browser.session_transaction() as sess:
            tokens.append(sess["_user_id"])
    assert tokens[0] != tokens[1] and all(len(t) >= 40 for t in tokens)
    assert str(user) not in tokens
    stored = {row.token_hash for row in _session_rows(app, user)}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert client.get_cookie("remember_token") is None, "no remember-me cookie"


def test_a_deactivated_users_open_session_loses_access_at_its_next_request(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    rep = make.user("rep@example.org")
    rep_browser = app.test_client()
    login("rep@example.org", on=rep_browser)
    assert rep_browser.get("/").status_code == 200

    login("admin@example.org")
    resp = post(f"/admin/users/{rep}/deactivate", {"reason": "left the union"})
    assert resp.status_code == 302
    assert "1 open session was ended" in client.get(resp.location).get_data(as_text=True)

    resp = rep_browser.get("/")
    assert resp.status_code == 302 and resp.location.startswith("/login")
    assert all(row.revoked_at is not None for row in _session_rows(app, rep))
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deactivate"))
        assert event.reason == "left the union" and changed(event.after) == {"is_active": False}


def test_deactivation_locks_out_even_a_session_the_revocation_missed(app, make, login):
    """The loader checks the account itself too: a deactivated user is never signed in."""
    rep = make.user("rep@example.org")
    browser = app.test_client()
    login("rep@example.org", on=browser)
    with app.app_context():
        db.session.get(User, rep).is_active = False
        db.session.commit()
    assert browser.get("/").status_code == 302


def test_an_admin_can_end_a_users_sessions(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    rep = make.user("rep@example.org")
    phones = [app.test_client(), app.test_client()]
    for phone in phones:
        login("rep@example.org", on=phone)
    login("admin@example.org")
    resp = post(f"/admin/users/{rep}/end-sessions")
    assert resp.status_code == 302
    assert "2 open sessions were ended" in client.get(resp.location).get_data(as_text=True)
    assert [phone.get("/").status_code for phone in phones] == [302, 302]
    assert client.get("/").status_code == 200, "the admin stays signed in"
    login("rep@example.org", on=phones[0])
    assert phones[0].get("/").status_code == 200, "the user can sign in again"


def test_a_password_change_signs_out_the_other_browser_but_not_this_one(app, client, make, login, post):
    make.user("rep@example.org")
    other = app.test_client()
    login("rep@example.org", on=other)
    login("rep@example.org")
    new = "a brand new passphrase for me"
    resp = post(
        "/account/password",
        {"current_password": "correct horse battery staple", "password": new, "confirm": new},
    )
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "Your password has been changed. You have been signed out of 1 other session." in page
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200


def test_signing_out_everywhere_else_from_the_profile(app, client, make, login, post):
    make.user("rep@example.org")
    other = app.test_client()
    login("rep@example.org", on=other)
    login("rep@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "this browser" in page and "Sign out everywhere else" in page
    resp = post("/account/sessions/end-others")
    assert resp.status_code == 302
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200


def _age_session(app, user_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(UserSession).where(UserSession.user_id == user_id).values(**values))
        db.session.commit()


def test_idle_timeout(app, client, make, login):
    user = make.user("rep@example.org")
    login("rep@example.org")
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    assert idle == timedelta(minutes=30)
    _age_session(app, user, last_seen_at=utcnow() - idle + timedelta(minutes=2))
    assert client.get("/").status_code == 200, "28 minutes idle: still signed in"
    (row,) = _session_rows(app, user)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1), "the request counted as activity"
    _age_session(app, user, last_seen_at=utcnow() - idle - timedelta(seconds=1))
    resp = client.get("/")
    assert resp.status_code == 302 and resp.location.startswith("/login")


def test_absolute_timeout_even_when_active(app, client, make, login):
    user = make.user("rep@example.org")
    login("rep@example.org")
    (row,) = _session_rows(app, user)
    assert abs((row.expires_at - row.created_at) - timedelta(hours=12)) < timedelta(seconds=5)
    _age_session(
        app, user, created_at=utcnow() - timedelta(hours=12), expires_at=utcnow() - timedelta(seconds=1)
    )
    assert client.get("/").status_code == 302


def test_login_logout_and_failures_are_audited(app, make, login, post, client):
    make.user("rep@example.org")
    from tests.conftest import csrf_token

    client.post(
        "/login", data={"email": "rep@example.org", "password": "nope", "csrf_token": csrf_token(client)}
    )
    login("rep@example.org")
    post("/logout")
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-3:] == ["user.login_failed", "user.login", "user.logout"]
