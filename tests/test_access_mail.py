"""Invitations and password resets by emailed one-time links, through a real SMTP server."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, OneTimeToken, User, utcnow
from tests.factories import PASSWORD
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the mail_server fixture

NEW_PASSWORD = "solidarity forever among the workers"


def _actions(app, entity_id=None) -> list[str]:
    with app.app_context():
        stmt = sa.select(AuditEvent.action).order_by(AuditEvent.id)
        if entity_id is not None:
            stmt = stmt.where(AuditEvent.entity_type == "user", AuditEvent.entity_id == str(entity_id))
        return list(db.session.scalars(stmt))


def _user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def test_an_invited_user_follows_the_emailed_link_chooses_a_password_and_is_in(
    app, client, make, login, post, mail_server
):
    org = make.organisation("Fictional Union of Ghana")
    make.user("admin@example.org", is_admin=True, full_name="Amina Admin")
    login("admin@example.org")
    resp = post(
        "/admin/users/invite",
        {
            "email": "Kwame@Example.org",
            "full_name": "Kwame Mensah",
            "organisation_id": str(org),
            "preferred_language": "en",
        },
    )
    assert resp.status_code == 302
    assert "An invitation has been sent to kwame@example.org" in client.get(resp.location).get_data(
        as_text=True
    )

    (message,) = mail_server.wait_for("kwame@example.org")
    assert message["Subject"] == "You are invited to ACTRAV MEL"
    assert "Amina Admin invites you" in body(message)
    assert "expires in 72 hours" in body(message)
    link = link_in(message)
    assert re.fullmatch(r"/auth/invitation/[A-Za-z0-9_-]{40,}", link)

    browser = app.test_client()
    page = browser.get(link)
    assert page.status_code == 200
    assert "kwame@example.org" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "same-origin"
    resp = post(
        link, {"full_name": "Kwame Mensah", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, on=browser
    )
    assert resp.status_code == 302 and resp.location == "/"
    home = browser.get("/").get_data(as_text=True)
    assert "Welcome, Kwame Mensah" in home

    # The link worked once; the password works from now on.
    again = browser.get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    login("kwame@example.org", NEW_PASSWORD, on=app.test_client())
    user_id = _user_id(app, "kwame@example.org")
    assert {"user.invite", "user.invitation_accepted"} <= set(_actions(app, user_id))


def test_a_reused_invitation_link_is_refused_even_by_post(app, make, post, mail_server):
    admin = make.user("admin@example.org", is_admin=True)
    user = make.user("new@example.org")
    with app.app_context():
        from mel_app.auth.services import invite

        u = db.session.get(User, user)
        u.password_hash = None
        token = invite(u, actor=db.session.get(User, admin))
        db.session.commit()
    browser = app.test_client()
    data = {"full_name": "New Person", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(f"/auth/invitation/{token}", data, on=browser).status_code == 302
    other = app.test_client()
    resp = post(f"/auth/invitation/{token}", {**data, "password": "another fine passphrase"}, on=other)
    assert resp.status_code == 410
    assert "already been used" in resp.get_data(as_text=True)


def test_an_expired_invitation_link_is_refused_with_a_clear_message(app, make, post):
    user = make.user("late@example.org")
    with app.app_context():
        from mel_app.auth.services import invite

        u = db.session.get(User, user)
        u.password_hash = None
        token = invite(u, actor=None)
        row = db.session.scalar(sa.select(OneTimeToken).where(OneTimeToken.user_id == user))
        assert abs(row.expires_at - (utcnow() + timedelta(hours=72))) < timedelta(minutes=1)
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    browser = app.test_client()
    resp = browser.get(f"/auth/invitation/{token}")
    assert resp.status_code == 410
    page = resp.get_data(as_text=True)
    assert "This link has expired" in page and "send a new invitation" in page
    data = {"full_name": "Late", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(f"/auth/invitation/{token}", data, on=browser).status_code == 410
    with app.app_context():
        assert db.session.get(User, user).password_hash is None


def test_an_unknown_link_is_refused(client):
    resp = client.get("/auth/invitation/not-a-token-at-all")
    assert resp.status_code == 404
    assert "This link is not valid" in resp.get_data(as_text=True)
    assert client.get("/auth/reset/" + "x" * 200).status_code == 404


def test_a_weak_password_is_refused_and_the_link_still_works(app, make, post):
    user = make.user("weak@example.org", full_name="Grace Wanjiru")
    with app.app_context():
        from mel_app.auth.services import invite

        u = db.session.get(User, user)
        u.password_hash = None
        token = invite(u, actor=None)
        db.session.commit()
    browser = app.test_client()
    for weak, message in [
        ("short pass", "at least 12 characters"),
        ("passwordpassword", "too common or too easy to guess"),
        ("GraceWanjiru2026", "too common or too easy to guess"),
    ]:
        resp = post(
            f"/auth/invitation/{token}",
            {"full_name": "Grace Wanjiru", "password": weak, "confirm": weak},
            on=browser,
        )
        assert resp.status_code == 400, weak
        page = resp.get_data(as_text=True)
        assert message in page, weak
        assert weak not in page, "a password is never sent back"
        assert 'value="Grace Wanjiru"' in page, "the name typed is kept"
    resp = post(
        f"/auth/invitation/{token}",
        {"full_name": "Grace Wanjiru", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
        on=browser,
    )
    assert resp.status_code == 400 and "not the same" in resp.get_data(as_text=True)
    data = {"full_name": "Grace Wanjiru", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(f"/auth/invitation/{token}", data, on=browser).status_code == 302


def test_password_reset_end_to_end_signs_out_every_session(app, make, login, post, mail_server):
    make.user("rep@example.org", full_name="Grace Wanjiru")
    other_browser = app.test_client()
    login("rep@example.org", on=other_browser)
    assert other_browser.get("/").status_code == 200

    browser = app.test_client()
    resp = post("/auth/reset", {"email": "REP@example.org "}, on=browser)
    assert resp.status_code == 302
    page = browser.get(resp.location).get_data(as_text=True)
    assert "If an account exists for REP@example.org" in page

    (message,) = mail_server.wait_for("rep@example.org")
    assert message["Subject"] == "Choose a new password for ACTRAV MEL"
    assert "expires in 60 minutes" in body(message)
    link = link_in(message)
    assert browser.get(link).status_code == 200
    resp = post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, on=browser)
    assert resp.status_code == 302 and resp.location == "/login"

    assert other_browser.get("/").status_code == 302, "a reset ends every open session"
    assert browser.get(link).status_code == 410, "the link works once"
    fresh = app.test_client()
    from tests.conftest import csrf_token

    old = fresh.post(
        "/login", data={"email": "rep@example.org", "password": PASSWORD, "csrf_token": csrf_token(fresh)}
    )
    assert old.status_code == 401
    login("rep@example.org", NEW_PASSWORD, on=fresh)
    actions = _actions(app, _user_id(app, "rep@example.org"))
    assert "user.password_reset_requested" in actions and "user.password_reset" in actions


def test_a_reset_request_says_the_same_for_an_unknown_email_and_sends_nothing(app, make, post, mail_server):
    make.user("known@example.org")
    pages = []
    for email in ("known@example.org", "nobody@example.org"):
        browser = app.test_client()
        resp = post("/auth/reset", {"email": email}, on=browser)
        assert resp.status_code == 302
        page = browser.get(resp.location).get_data(as_text=True).replace(email, "EMAIL")
        pages.append(re.sub(r'name="csrf_token"[^>]*', "", page))
    assert pages[0] == pages[1]
    mail_server.wait_for("known@example.org")
    assert [m["To"] for m in mail_server.messages] == ["known@example.org"]


def test_a_deactivated_account_gets_no_reset_link(app, make, post, mail_server):
    make.user("gone@example.org", is_active=False)
    make.user("here@example.org")
    assert post("/auth/reset", {"email": "gone@example.org"}).status_code == 302
    assert post("/auth/reset", {"email": "here@example.org"}).status_code == 302
    mail_server.wait_for("here@example.org")
    assert [m["To"] for m in mail_server.messages] == ["here@example.org"]


def test_an_expired_reset_link_is_refused_and_offers_a_new_one(app, make, post, mail_server):
    make.user("rep@example.org")
    post("/auth/reset", {"email": "rep@example.org"})
    link = link_in(mail_server.wait_for("rep@example.org")[0])
    with app.app_context():
        row = db.session.scalar(sa.select(OneTimeToken))
        assert abs(row.expires_at - (utcnow() + timedelta(hours=1))) < timedelta(minutes=1)
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    resp = app.test_client().get(link)
    assert resp.status_code == 410
    page = resp.get_data(as_text=True)
    assert "This link has expired" in page and 'href="/auth/reset"' in page


def test_asking_twice_leaves_only_the_newest_link_working(app, make, post, mail_server):
    make.user("rep@example.org")
    post("/auth/reset", {"email": "rep@example.org"})
    post("/auth/reset", {"email": "rep@example.org"})
    first, second = (link_in(m) for m in mail_server.wait_for("rep@example.org", count=2))
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200


def test_reset_requests_are_throttled_per_email(app, make, post, mail_server):
    make.user("rep@example.org")
    for _ in range(app.config["PASSWORD_RESETS_PER_ACCOUNT"]):
        assert post("/auth/reset", {"email": "rep@example.org"}, on=app.test_client()).status_code == 302
    resp = post("/auth/reset", {"email": "rep@example.org"}, on=app.test_client())
    assert resp.status_code == 429
    assert "try again in 60 minutes" in resp.get_data(as_text=True)


def test_links_are_built_on_the_configured_address_not_the_host_header(app, make, mail_server):
    app.config.update(PUBLIC_BASE_URL="https://mel.example.org/", WTF_CSRF_ENABLED=False)
    make.user("rep@example.org")
    resp = app.test_client().post(
        "/auth/reset", data={"email": "rep@example.org"}, headers={"Host": "evil.example.com"}
    )
    assert resp.status_code == 302
    text = body(mail_server.wait_for("rep@example.org")[0])
    assert "https://mel.example.org/auth/reset/" in text and "evil" not in text


def test_without_a_mail_server_the_message_goes_to_the_log(app, make, post, caplog):
    assert not app.config["MAIL_SERVER"]
    make.user("rep@example.org")
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        assert post("/auth/reset", {"email": "rep@example.org"}).status_code == 302
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "MAIL_SERVER is not set" in logged and "To: rep@example.org" in logged
    link = re.search(r"http://localhost(/auth/reset/\S+)", logged).group(1)
    assert app.test_client().get(link).status_code == 200, "the demo can follow the logged link"


def test_an_unreachable_mail_server_keeps_the_invitation_and_says_so(app, make, login, post, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1)  # nothing listens there
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    caplog.set_level(logging.CRITICAL, logger=app.logger.name)
    resp = post(
        "/admin/users/invite",
        {"email": "new@example.org", "full_name": "New Person", "preferred_language": "fr"},
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert "could not be sent" in resp.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "new@example.org"))
        assert user is not None and user.password_hash is None and user.preferred_language == "fr"


def test_an_invitation_accepted_another_way_cannot_set_the_password_again(app, make, post, mail_server):
    """Invited, then chose a password through "forgotten password": the old invitation is spent."""
    user = make.user("rep@example.org")
    with app.app_context():
        from mel_app.auth.services import invite

        u = db.session.get(User, user)
        u.password_hash = None
        token = invite(u, actor=None)
        db.session.commit()
    post("/auth/reset", {"email": "rep@example.org"}, on=app.test_client())
    reset_link = link_in(mail_server.wait_for("rep@example.org")[0])
    assert (
        post(
            reset_link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, on=app.test_client()
        ).status_code
        == 302
    )
    browser = app.test_client()
    assert browser.get(f"/auth/invitation/{token}").status_code == 410
    data = {"full_name": "Someone", "password": "a takeover passphrase", "confirm": "a takeover passphrase"}
    assert post(f"/auth/invitation/{token}", data, on=browser).status_code == 410
