"""Two-factor sign-in: enrolment, the code step, replay and throttling, recovery codes, who must
use it, resets, and secrets kept out of the audit trail and the logs."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta

import pyotp
import pytest
import segno
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, RecoveryCode, Role, User, UserSession
from tests.conftest import csrf_token
from tests.factories import PASSWORD

STAFF_ROLES = frozenset({"admin", "specialist", "evaluator"})
KEY_RE = re.compile(r'<code id="totp-key" class="key">([A-Z2-7 ]+)</code>')
RECOVERY_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


@pytest.fixture
def totp_enforced(app):
    """The production rule: administrators, specialists and evaluators must use a second factor."""
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = STAFF_ROLES
    return app


def code_for(key: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ahead` time steps from now)."""
    return pyotp.TOTP(key.replace(" ", "")).at(time.time() + 30 * steps_ahead)


def wrong_code(key: str) -> str:
    """Six digits that are none of the codes accepted now."""
    accepted = {code_for(key, steps) for steps in (-1, 0, 1, 2)}
    return next(code for code in ("123456", "654321", "111111") if code not in accepted)


def recovery_codes_stored(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id))
        )


def password_step(client, email: str, password: str = PASSWORD):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    return client.post("/login", data=data)


def code_step(client, code: str):
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token(client)})


def recovery_step(client, recovery_code: str):
    return client.post("/login/code", data={"recovery_code": recovery_code, "csrf_token": csrf_token(client)})


def sign_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client)})


def enrol(client, post) -> tuple[str, list[str]]:
    """Set up two-factor sign-in for the signed-in user: (the key shown, the recovery codes)."""
    assert post("/account/two-factor/start", on=client).status_code == 302
    page = client.get("/account/two-factor/setup").get_data(as_text=True)
    key = KEY_RE.search(page).group(1)
    resp = post("/account/two-factor/setup", {"code": code_for(key)}, on=client)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    codes = RECOVERY_RE.findall(resp.get_data(as_text=True))
    return key, codes


def qr_cells(svg: str) -> set[tuple[int, int]]:
    """The dark modules drawn by the page's SVG path (one rectangle per run in a row)."""
    path = re.search(r'<path[^>]* d="([^"]*)"', svg).group(1)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path)
    assert "".join(f"M{x} {y}h{n}v1h-{n}z" for x, y, n in runs) == path
    return {(int(x) + i, int(y)) for x, y, n in runs for i in range(int(n))}


def qr_cells_of(text: str) -> set[tuple[int, int]]:
    rows = segno.make(text, error="m").matrix_iter(border=4)
    return {(x, y) for y, row in enumerate(rows) for x, dark in enumerate(row) if dark}


def signed_in(client) -> bool:
    resp = client.get("/")
    return resp.status_code == 200


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(db.session.scalars(query))


@pytest.fixture
def enrolled(app, client, make, login, post):
    """A union representative (for whom it is optional) who has set up two-factor sign-in and
    signed out again: (user id, key, recovery codes)."""
    user = make.user("rep@example.org", full_name="Grace Wanjiru")
    login("rep@example.org")
    key, codes = enrol(client, post)
    assert sign_out(client).status_code == 302
    return user, key, codes


# --- enrolment ---------------------------------------------------------------------------------


def test_enrolment_shows_a_server_made_svg_qr_code_and_the_key_then_needs_a_first_code(
    app, client, make, login, post
):
    user = make.user("rep@example.org")
    login("rep@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "Set up two-factor sign-in" in page
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "optional for your account" in page
    assert post("/account/two-factor/start").status_code == 302

    resp = client.get("/account/two-factor/setup")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    svg = re.search(r'<figure class="qr">\s*<svg role="img" aria-label="[^"]+"[^>]*>.*?</svg>', page, re.S)
    assert svg, "the QR code is inline SVG with a text alternative"
    assert "<script" not in page and "data:image" not in page and "<img" not in page
    key = KEY_RE.search(page).group(1)
    with app.app_context():
        secret = db.session.get(User, user).totp_secret
        assert not db.session.get(User, user).two_factor_enabled, "not on before the first code"
    assert key.replace(" ", "") == secret, "the manual key is the secret, in groups of four"
    # What a phone reads from the picture: the otpauth address with this key, account and issuer.
    uri = pyotp.TOTP(secret).provisioning_uri(name="rep@example.org", issuer_name="ACTRAV MEL")
    assert qr_cells(svg.group(0)) == qr_cells_of(uri)
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field
    assert re.search(r'<label for="code">', page), "labelled through the form macro"

    resp = post("/account/two-factor/setup", {"code": wrong_code(key)})
    assert resp.status_code == 400 and "That code is not right" in resp.get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(User, user).two_factor_enabled

    resp = post("/account/two-factor/setup", {"code": code_for(key)})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    codes = RECOVERY_RE.findall(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "They are shown only now" in page
    with app.app_context():
        assert db.session.get(User, user).two_factor_enabled
    stored = recovery_codes_stored(app, user)
    assert len(stored) == 10
    assert not any(code.replace("-", "") in h or code in h for code in codes for h in stored), "stored hashed"
    assert len({h.split("$")[0] for h in stored}) == 10, "each code has its own salt"
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "10 of 10" in page
    assert client.get("/account/two-factor/setup").status_code == 302, "nothing to set up any more"


# --- the sign-in step ----------------------------------------------------------------------------


def test_signing_in_asks_for_the_code_and_nobody_is_signed_in_before_it(app, client, enrolled):
    user, key, _codes = enrolled
    with app.app_context():
        sessions_before = db.session.scalar(
            sa.select(sa.func.count(UserSession.id)).where(UserSession.user_id == user)
        )
    resp = password_step(client, "rep@example.org")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/code")
    page = client.get("/login/code").get_data(as_text=True)
    assert "rep@example.org" in page
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field
    assert "Use a recovery code" in page
    # Between the two steps nothing but the code step is open, and no session exists.
    assert client.get("/projects").status_code == 302
    assert client.get("/account").headers["Location"].startswith("/login")
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count(UserSession.id)).where(UserSession.user_id == user))
            == sessions_before
        )

    logins_before = len(events(app, "user.login"))
    resp = code_step(client, code_for(key, 1))
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert signed_in(client)
    assert len(events(app, "user.login")) == logins_before + 1


def test_a_wrong_code_is_refused_and_recorded(app, client, enrolled):
    user, key, _codes = enrolled
    password_step(client, "rep@example.org")
    wrong = wrong_code(key)
    resp = code_step(client, wrong)
    assert resp.status_code == 401
    assert "That code is not right" in resp.get_data(as_text=True)
    assert not signed_in(client)
    resp = code_step(client, "12ab")
    assert resp.status_code == 401, "not even six digits: refused the same way, never a 500"
    failures = [e for e in events(app, "user.login_failed") if e.entity_id == str(user)]
    assert [e.reason for e in failures] == ["wrong second-factor code"] * 2


def test_a_code_works_only_once_even_inside_its_window(app, client, enrolled):
    _user, key, _codes = enrolled
    code = code_for(key, 1)
    password_step(client, "rep@example.org")
    assert code_step(client, code).status_code == 302
    sign_out(client)

    other = app.test_client()
    password_step(other, "rep@example.org")
    resp = code_step(other, code)
    assert resp.status_code == 401
    assert "That code has already been used" in resp.get_data(as_text=True)
    assert not signed_in(other)
    # An older code of the allowed drift is refused too: time steps only move forward.
    resp = code_step(other, code_for(key, -1))
    assert resp.status_code == 401


def test_the_enrolment_code_cannot_sign_in_afterwards(app, client, make, login, post):
    make.user("rep@example.org")
    login("rep@example.org")
    assert post("/account/two-factor/start").status_code == 302
    key = KEY_RE.search(client.get("/account/two-factor/setup").get_data(as_text=True)).group(1)
    code = code_for(key)
    assert post("/account/two-factor/setup", {"code": code}).status_code == 200
    sign_out(client)
    password_step(client, "rep@example.org")
    assert code_step(client, code).status_code == 401


def test_wrong_codes_are_throttled_with_a_clear_message(app, client, enrolled):
    user, key, codes = enrolled
    limit = app.config["TWO_FACTOR_FAILURES_PER_ACCOUNT"]
    assert limit == 5
    password_step(client, "rep@example.org")
    wrong = wrong_code(key)
    for _n in range(limit):
        assert code_step(client, wrong).status_code == 401
    resp = code_step(client, code_for(key, 1))
    assert resp.status_code == 429, "even the right code waits"
    assert "please try again in 15 minutes" in resp.get_data(as_text=True)
    assert recovery_step(client, codes[0]).status_code == 429, "recovery codes wait too"
    assert not signed_in(client)
    # A fresh password does not open the lock: it is kept per account, not per browser.
    other = app.test_client()
    password_step(other, "rep@example.org")
    assert code_step(other, code_for(key, 1)).status_code == 429
    assert [e.reason for e in events(app, "user.login_throttled") if e.entity_id == str(user)]


def test_a_recovery_code_signs_in_once(app, client, enrolled):
    user, _key, codes = enrolled
    password_step(client, "rep@example.org")
    resp = recovery_step(client, codes[0].upper().replace("-", " "))
    assert resp.status_code == 302, "typed in capitals, with a space: still the same code"
    page = client.get("/").get_data(as_text=True)
    assert "You have 9 recovery codes left." in page
    assert "9 of 10" in client.get("/account/two-factor").get_data(as_text=True)
    logins = [e for e in events(app, "user.login") if e.entity_id == str(user)]
    assert logins[-1].reason == "with a recovery code"
    sign_out(client)

    password_step(client, "rep@example.org")
    resp = recovery_step(client, codes[0])
    assert resp.status_code == 401
    assert "That recovery code is not right, or it has already been used." in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert recovery_step(client, codes[1]).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(app, client, enrolled, login, post):
    _user, key, codes = enrolled
    password_step(client, "rep@example.org")
    assert code_step(client, code_for(key, 1)).status_code == 302
    resp = post("/account/two-factor/recovery-codes", {"codes-password_or_code": "not my password"})
    assert resp.status_code == 400 and "neither your password" in resp.get_data(as_text=True)
    resp = post("/account/two-factor/recovery-codes", {"codes-password_or_code": PASSWORD})
    assert resp.status_code == 200
    fresh = RECOVERY_RE.findall(resp.get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    sign_out(client)
    password_step(client, "rep@example.org")
    assert recovery_step(client, codes[2]).status_code == 401, "the old codes stopped working"
    assert recovery_step(client, fresh[0]).status_code == 302
    assert len(events(app, "user.recovery_codes_issued")) == 2


def test_the_code_step_expires(app, client, enrolled):
    _user, key, _codes = enrolled
    password_step(client, "rep@example.org")
    app.config["TWO_FACTOR_PENDING"] = timedelta(seconds=0)
    time.sleep(1.1)
    resp = client.get("/login/code")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert "the code was not given in time" in client.get("/login").get_data(as_text=True)
    assert code_step(client, code_for(key, 1)).status_code == 302
    assert not signed_in(client)


def test_cancelling_the_code_step_forgets_the_password_step(client, enrolled):
    _user, key, _codes = enrolled
    password_step(client, "rep@example.org")
    resp = sign_out(client)
    assert resp.status_code == 302
    assert "Sign-in cancelled." in client.get("/login").get_data(as_text=True)
    assert client.get("/login/code").headers["Location"].startswith("/login")
    code_step(client, code_for(key, 1))
    assert not signed_in(client)


# --- who must use it ---------------------------------------------------------------------------


@pytest.fixture
def one_of_each(make):
    project = make.project("RAF/22/11/NOR")
    org = make.organisation("Fictional Union")
    people = {"admin": make.user("admin@example.org", is_admin=True)}
    for role in Role:
        people[role.value] = make.user(f"{role.value}@example.org")
        make.member(people[role.value], project, role, organisation_id=org if role is Role.reporter else None)
    return people


@pytest.mark.parametrize(
    ("who", "required"),
    [("admin", True), ("specialist", True), ("evaluator", True), ("reporter", False), ("observer", False)],
)
def test_who_must_set_up_two_factor_sign_in(totp_enforced, client, one_of_each, who, required):
    resp = password_step(client, f"{who}@example.org")
    assert resp.status_code == 302
    if required:
        assert resp.headers["Location"].endswith("/account/two-factor/setup")
    else:
        assert resp.headers["Location"] == "/"
        assert signed_in(client)


def test_a_required_role_without_a_second_factor_reaches_only_its_set_up(
    app, totp_enforced, client, one_of_each, post
):
    resp = password_step(client, "specialist@example.org")
    assert resp.headers["Location"].endswith("/account/two-factor/setup")
    page = client.get("/account/two-factor/setup").get_data(as_text=True)
    assert "Your role requires two-factor sign-in" in page
    assert 'href="/projects"' not in page, "no navigation to pages that are not open yet"
    assert "Sign out" in page
    for url in ("/", "/projects", "/account", "/evaluations", "/audit"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/two-factor"), url
    assert post("/account", {"full_name": "Changed", "preferred_language": "en"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User.full_name).where(User.email == "specialist@example.org")) != (
            "Changed"
        )
    assert post("/account/two-factor/off", {"off-password_or_code": PASSWORD}).status_code == 302
    # Signing out stays possible.
    assert sign_out(client).status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")

    # Once set up, the app opens; the second factor cannot be turned off while the role needs it.
    password_step(client, "specialist@example.org")
    key = KEY_RE.search(client.get("/account/two-factor/setup").get_data(as_text=True)).group(1)
    assert post("/account/two-factor/setup", {"code": code_for(key)}).status_code == 200
    assert signed_in(client)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "cannot be turned off" in page and "Turn off two-factor sign-in" not in page
    resp = post("/account/two-factor/off", {"off-password_or_code": PASSWORD})
    assert resp.status_code == 403
    with app.app_context():
        account = db.session.scalar(sa.select(User).where(User.email == "specialist@example.org"))
        assert account.two_factor_enabled


def test_someone_signed_in_who_becomes_a_specialist_must_set_it_up_at_the_next_page(
    app, totp_enforced, client, make, login
):
    user = make.user("rep@example.org")
    login("rep@example.org")
    assert signed_in(client)
    make.member(user, make.project("RAF/22/11/NOR"), Role.specialist)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/two-factor")


def test_a_user_turns_off_their_optional_second_factor_with_their_password(app, client, enrolled, post):
    user, key, _codes = enrolled
    password_step(client, "rep@example.org")
    assert code_step(client, code_for(key, 1)).status_code == 302
    resp = post("/account/two-factor/off", {"off-password_or_code": "wrong password"})
    assert resp.status_code == 400
    assert "neither your password nor a current code" in resp.get_data(as_text=True)
    resp = post("/account/two-factor/off", {"off-password_or_code": PASSWORD})
    assert resp.status_code == 302
    with app.app_context():
        account = db.session.get(User, user)
        assert not account.two_factor_enabled and account.totp_secret is None
    assert recovery_codes_stored(app, user) == []
    assert [e.actor_id for e in events(app, "user.two_factor_disabled")] == [user]
    sign_out(client)
    assert password_step(client, "rep@example.org").headers["Location"] == "/", "password alone again"


def test_a_current_code_also_confirms_turning_it_off(app, client, enrolled, post):
    _user, key, codes = enrolled
    password_step(client, "rep@example.org")
    assert recovery_step(client, codes[0]).status_code == 302  # the enrolment used the current code
    assert post("/account/two-factor/off", {"off-password_or_code": code_for(key, 1)}).status_code == 302


# --- demo accounts -------------------------------------------------------------------------------


def test_demo_accounts_sign_in_with_their_password_alone(app, totp_enforced, runner, client, post):
    from mel_app.demo import DEMO_PASSWORD

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    for email in ("admin@example.org", "specialist@example.org", "evaluator@example.org"):
        resp = password_step(client, email, DEMO_PASSWORD)
        assert resp.headers["Location"] == "/", email
        assert signed_in(client)
        sign_out(client)

    # Offered: a demo account may try the set-up, and still signs in with its password alone.
    password_step(client, "specialist@example.org", DEMO_PASSWORD)
    assert "This is a demo account" in client.get("/account/two-factor").get_data(as_text=True)
    enrol(client, post)
    sign_out(client)
    assert password_step(client, "specialist@example.org", DEMO_PASSWORD).headers["Location"] == "/"

    # Where the demo switch is off (production), demo accounts are treated like any other.
    app.config["DEMO_ACCOUNTS_SKIP_2FA"] = False
    other = app.test_client()
    resp = password_step(other, "evaluator@example.org", DEMO_PASSWORD)
    assert resp.headers["Location"].endswith("/account/two-factor/setup")


# --- administrators' reset ---------------------------------------------------------------------


def test_an_administrator_resets_a_lost_second_factor_and_it_is_audited(app, make, enrolled, login):
    user, key, codes = enrolled
    make.user("admin@example.org", is_admin=True, full_name="Ada Admin")
    admin = app.test_client()
    login("admin@example.org", on=admin)
    page = admin.get(f"/admin/users/{user}").get_data(as_text=True)
    assert "Reset two-factor sign-in" in page and "10 recovery codes left." in page

    url = f"/admin/users/{user}/two-factor/reset"
    resp = admin.post(url, data={"reset-reason": "lost phone", "csrf_token": csrf_token(admin)})
    assert resp.status_code == 400, "the confirmation box is required"
    assert "Tick the box" in resp.get_data(as_text=True)
    resp = admin.post(url, data={"reset-reason": "lost phone"})
    assert resp.status_code == 400, "no CSRF token, no reset"
    with app.app_context():
        assert db.session.get(User, user).two_factor_enabled

    resp = admin.post(
        url, data={"reset-confirm": "y", "reset-reason": "lost phone", "csrf_token": csrf_token(admin)}
    )
    assert resp.status_code == 302
    with app.app_context():
        account = db.session.get(User, user)
        assert account.totp_secret is None and not account.two_factor_enabled
    assert recovery_codes_stored(app, user) == []
    [event] = events(app, "user.two_factor_reset")
    assert (event.actor_name, event.entity_type, event.entity_id, event.reason) == (
        "Ada Admin",
        "user",
        str(user),
        "lost phone",
    )
    trail = admin.get("/audit?action=user.two_factor_reset").get_data(as_text=True)
    assert "Two-factor sign-in reset" in trail and "lost phone" in trail
    history = admin.get(f"/history/user/{user}").get_data(as_text=True)
    assert "Two-factor sign-in reset" in history and "Two-factor sign-in turned on" in history

    # The user signs in with the password alone, and no recovery code works any more.
    client = app.test_client()
    assert password_step(client, "rep@example.org").headers["Location"] == "/"
    assert signed_in(client)
    assert admin.post(url, data={"reset-confirm": "y", "csrf_token": csrf_token(admin)}).status_code == 409


def test_an_administrator_cannot_reset_their_own_second_factor(app, client, make, login, post):
    admin = make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    enrol(client, post)
    resp = post(f"/admin/users/{admin}/two-factor/reset", {"reset-confirm": "y"})
    assert resp.status_code == 403
    assert "Reset two-factor sign-in" not in client.get(f"/admin/users/{admin}").get_data(as_text=True)


# --- secrets stay secret -------------------------------------------------------------------------


def test_the_secret_and_recovery_codes_never_reach_the_audit_trail_or_the_logs(
    app, client, make, login, post, caplog
):
    caplog.set_level(logging.DEBUG)
    user = make.user("rep@example.org")
    login("rep@example.org")
    key, codes = enrol(client, post)
    secret = key.replace(" ", "")
    sign_out(client)
    password_step(client, "rep@example.org")
    code_step(client, wrong_code(key))
    code_step(client, code_for(key, 1))
    resp = post("/account/two-factor/recovery-codes", {"codes-password_or_code": PASSWORD})
    fresh = RECOVERY_RE.findall(resp.get_data(as_text=True))
    sign_out(client)
    password_step(client, "rep@example.org")
    recovery_step(client, fresh[0])
    post("/account/two-factor/off", {"off-password_or_code": PASSWORD})

    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent)).scalars().all()
        hashes = [h for h in db.session.scalars(sa.select(RecoveryCode.code_hash))]
        trail = json.dumps(
            [[e.action, e.before, e.after, e.reason, e.entity_id] for e in rows], default=str
        ).lower()
    actions = {e.action for e in rows if e.entity_id == str(user)}
    assert {
        "user.two_factor_setup_started",
        "user.two_factor_enabled",
        "user.recovery_codes_issued",
        "user.login",
        "user.login_failed",
        "user.two_factor_disabled",
    } <= actions
    assert "totp_enabled_at" in trail, "the switch itself is recorded"
    secrets_ = [secret.lower(), *(c.replace("-", "") for c in codes + fresh), *codes, *fresh, *hashes]
    assert not [s for s in secrets_ if s.lower() in trail]
    assert "totp_secret" not in trail and "totp_last_step" not in trail and "code_hash" not in trail
    logs = caplog.text.lower()
    assert not [s for s in secrets_ if s.lower() in logs]
