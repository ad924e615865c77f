"""Emailed links under the production configuration, over HTTPS, as a browser follows them.

- The pages of a reset or invitation link post their form back with a Referer the browser is
  allowed to send by the page's Referrer-Policy; over HTTPS the CSRF check needs it.
- The links are built on PUBLIC_BASE_URL, never on the Host header; production refuses to start
  without it.
- Setting or changing a password ends every link mailed before.
- Every way of signing in is in the audit trail as `user.login`.
"""

from __future__ import annotations

import inspect
import re
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from lxml import html as lxml_html

from config import ProductionConfig
from mel_app import create_app
from mel_app.auth import services
from mel_app.auth.passwords import verify_password
from mel_app.extensions import db
from mel_app.models import AuditEvent, User, UserSession, utcnow
from tests.conftest import csrf_token
from tests.factories import PASSWORD
from tests.smtp_server import link_in, mail_server_fixture  # noqa: F401 - the mail_server fixture

PUBLIC = "https://mel.example.org"
NEW_PASSWORD = "solidarity forever among the workers"


@pytest.fixture
def production(app, mail_server):
    """The production configuration on the test's database, mailing through the real SMTP server."""
    prod = create_app(
        ProductionConfig,
        SECRET_KEY="p" * 48,
        PUBLIC_BASE_URL=PUBLIC,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        ARGON2_TIME_COST=app.config["ARGON2_TIME_COST"],
        ARGON2_MEMORY_COST=app.config["ARGON2_MEMORY_COST"],
        ARGON2_PARALLELISM=app.config["ARGON2_PARALLELISM"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=mail_server.port,
    )
    yield prod
    with prod.app_context():
        db.session.remove()
        db.engine.dispose()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def referer_sent(policy: str | None, page_url: str, target_url: str) -> str | None:
    """The Referer a browser sends from `page_url` to `target_url` (W3C Referrer Policy).

    Only the parts this app's pages can meet: a same-origin form post, or a cross-origin one.
    """
    policy = (policy or "").split(",")[-1].strip() or "strict-origin-when-cross-origin"
    same = _origin(page_url) == _origin(target_url)
    full = page_url.split("#")[0]
    origin_only = _origin(page_url) + "/"
    if policy == "no-referrer":
        return None
    if policy == "same-origin":
        return full if same else None
    if policy in ("origin", "strict-origin"):
        return origin_only
    if policy in ("origin-when-cross-origin", "strict-origin-when-cross-origin"):
        return full if same else origin_only
    return full  # unsafe-url, no-referrer-when-downgrade (both HTTPS here)


class Browser:
    """A test client that posts a page's form the way a browser does: the fields of the page, its
    token, an Origin header, and the Referer the page's Referrer-Policy allows."""

    def __init__(self, app, base: str = PUBLIC):
        self.client = app.test_client()
        self.base = base
        self.url = ""
        self.page = ""
        self.policy: str | None = None

    def open(self, path_or_url: str):
        url = urljoin(self.base + "/", path_or_url)
        resp = self.client.get(urlsplit(url).path, base_url=_origin(url))
        self.url, self.page, self.policy = (
            url,
            resp.get_data(as_text=True),
            resp.headers.get("Referrer-Policy"),
        )
        return resp

    def submit(self, **typed: str):
        """Fill the page's POST form (its first one with a field named after `typed`) and send it."""
        document = lxml_html.document_fromstring(self.page)
        for form in document.iter("form"):
            if (form.get("method") or "").lower() != "post":
                continue
            names = {el.get("name") for el in form.iter("input", "textarea", "select")}
            if not set(typed) <= names:
                continue
            data = {el.get("name"): el.get("value", "") for el in form.iter("input") if el.get("name")}
            data.update(typed)
            target = urljoin(self.url, form.get("action") or self.url)
            referer = referer_sent(self.policy, self.url, target)
            headers = {"Origin": _origin(self.url) if referer else "null"}
            if referer:
                headers["Referer"] = referer
            return self.client.post(
                urlsplit(target).path, data=data, base_url=_origin(target), headers=headers
            )
        raise AssertionError(f"no form with {sorted(typed)} on {self.url}")


def _password_is(app, user_id: int, password: str) -> bool:
    with app.app_context():
        return verify_password(db.session.get(User, user_id).password_hash, password)[0]


def _actions(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user_id))
                .order_by(AuditEvent.id)
            )
        )


# --- 3: the forms of emailed links work over HTTPS ---------------------------------------------


def test_a_password_reset_from_the_emailed_link_works_over_https_in_production(
    app, production, make, mail_server
):
    user = make.user("rep@example.org")
    browser = Browser(production)
    assert browser.open("/auth/reset").status_code == 200
    resp = browser.submit(email="rep@example.org")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    (message,) = mail_server.wait_for("rep@example.org")
    link = re.search(r"https://\S+", message.get_body(preferencelist=("plain",)).get_content()).group(0)
    assert link.startswith(f"{PUBLIC}/auth/reset/")

    page = browser.open(link)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] != "no-referrer", "the form must post with a Referer"
    resp = browser.submit(password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert urlsplit(resp.location).path == "/login"
    assert _password_is(app, user, NEW_PASSWORD)

    browser.open("/login")
    assert browser.submit(email="rep@example.org", password=NEW_PASSWORD).status_code == 302


def test_an_invitation_from_the_emailed_link_is_accepted_over_https_in_production(app, production, make):
    with production.app_context():
        pending = User(
            email="kwame@example.org", full_name="Kwame", password_hash=None, session_token="k" * 32
        )
        db.session.add(pending)
        db.session.flush()
        token = services.invite(pending, actor=None)
        db.session.commit()
        user = pending.id
    browser = Browser(production)
    assert browser.open(f"/auth/invitation/{token}").status_code == 200
    resp = browser.submit(full_name="Kwame Mensah", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _password_is(app, user, NEW_PASSWORD)
    assert "Welcome, Kwame Mensah" in browser.open("/").get_data(as_text=True)


def test_every_page_with_a_form_lets_the_browser_send_a_same_origin_referer(app, production, make):
    """Over HTTPS a POST without a same-origin Referer is refused: no page may withhold it."""
    make.user("rep@example.org")
    with production.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "rep@example.org"))
        reset = services.request_password_reset("rep@example.org", remote_addr=None)[1]
        pending = User(
            email="kwame@example.org", full_name="Kwame", password_hash=None, session_token="k" * 32
        )
        db.session.add(pending)
        db.session.flush()
        invitation = services.invite(pending, actor=None)
        db.session.commit()
        assert user is not None
    browser = Browser(production)
    pages = ["/login", "/auth/reset", f"/auth/reset/{reset}", f"/auth/invitation/{invitation}"]
    for path in pages:
        browser.open(path)
        assert "<form" in browser.page
        sent = referer_sent(browser.policy, browser.url, browser.url)
        assert sent and _origin(sent) == PUBLIC, (
            f"{path} sends {browser.policy!r}: no Referer on its own form"
        )
    browser.open("/login")
    browser.submit(email="rep@example.org", password=PASSWORD)
    for path in ["/", "/account", "/account/two-factor"]:
        assert browser.open(path).status_code == 200, path
        sent = referer_sent(browser.policy, browser.url, browser.url)
        assert sent and _origin(sent) == PUBLIC, f"{path} sends {browser.policy!r}"


# --- 6: links on PUBLIC_BASE_URL, never on the Host header ---------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "   ", "mel.example.org", "http://mel.example.org", "https://", "https://mel.example.org/app"],
)
def test_production_refuses_to_start_without_an_https_public_base_url(value):
    with pytest.raises(SystemExit) as exc:
        create_app(ProductionConfig, SECRET_KEY="x" * 40, PUBLIC_BASE_URL=value)
    assert "PUBLIC_BASE_URL" in str(exc.value)


def test_a_reset_asked_with_another_host_header_mails_a_link_on_the_public_address(
    production, make, mail_server
):
    make.user("rep@example.org")
    browser = Browser(production, base="https://attacker.example")
    browser.open("/auth/reset")
    resp = browser.submit(email="rep@example.org")
    assert resp.status_code == 302
    (message,) = mail_server.wait_for("rep@example.org")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "attacker.example" not in text
    assert re.search(rf"{re.escape(PUBLIC)}/auth/reset/[A-Za-z0-9_-]{{40,}}", text)


# --- 11: a new password ends the links mailed before ---------------------------------------------


def _reset_link(client, mail_server, email: str, count: int = 1) -> str:
    resp = client.post("/auth/reset", data={"email": email, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    return link_in(mail_server.wait_for(email, count=count)[-1])


def test_a_reset_link_stops_working_when_the_user_changes_their_password(
    app, client, make, login, post, mail_server
):
    user = make.user("rep@example.org")
    link = _reset_link(app.test_client(), mail_server, "rep@example.org")
    login("rep@example.org")
    resp = post(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert resp.status_code == 302
    stranger = app.test_client()
    page = stranger.get(link)
    assert page.status_code == 410, "the link mailed before the change no longer opens the form"
    resp = stranger.post(
        link,
        data={
            "password": "someone else's choice 2026",
            "confirm": "someone else's choice 2026",
            "csrf_token": csrf_token(stranger),
        },
    )
    assert resp.status_code == 410
    assert _password_is(app, user, NEW_PASSWORD)


def test_a_reset_link_asked_for_while_invited_stops_working_once_the_invitation_is_accepted(
    app, make, mail_server
):
    with app.app_context():
        pending = User(
            email="kwame@example.org", full_name="Kwame", password_hash=None, session_token="k" * 32
        )
        db.session.add(pending)
        db.session.flush()
        invitation = services.invite(pending, actor=None)
        db.session.commit()
    reset = _reset_link(app.test_client(), mail_server, "kwame@example.org")
    browser = app.test_client()
    resp = browser.post(
        f"/auth/invitation/{invitation}",
        data={
            "full_name": "Kwame",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(browser),
        },
    )
    assert resp.status_code == 302
    assert app.test_client().get(reset).status_code == 410


# --- 16: every way in is a user.login event ------------------------------------------------------

# The views that sign a user in (call flask_login.login_user), each walked by a test below.
SIGN_IN_VIEWS = {"auth.login", "auth.second_step", "auth.accept_invitation"}


def test_every_view_that_signs_a_user_in_is_walked_here(app):
    signing_in = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if "login_user(" in inspect.getsource(inspect.unwrap(view))
    }
    assert signing_in == SIGN_IN_VIEWS, "a new way to sign in: check that it records user.login here"


def _sessions_and_logins(app, user_id: int) -> tuple[int, int]:
    with app.app_context():
        sessions = db.session.scalar(
            sa.select(sa.func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
        )
        logins = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "user.login",
                AuditEvent.entity_type == "user",
                AuditEvent.entity_id == str(user_id),
                AuditEvent.actor_id == user_id,
            )
        )
    return sessions, logins


def test_accepting_an_invitation_signs_in_with_a_login_event(app, make):
    with app.app_context():
        pending = User(
            email="kwame@example.org", full_name="Kwame", password_hash=None, session_token="k" * 32
        )
        db.session.add(pending)
        db.session.flush()
        token = services.invite(pending, actor=None)
        db.session.commit()
        user = pending.id
    browser = app.test_client()
    resp = browser.post(
        f"/auth/invitation/{token}",
        data={
            "full_name": "Kwame",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(browser),
        },
    )
    assert resp.status_code == 302
    assert browser.get("/").status_code == 200, "signed in"
    assert _sessions_and_logins(app, user) == (1, 1)
    actions = _actions(app, user)
    assert actions.index("user.invitation_accepted") < actions.index("user.login")


def test_signing_in_with_a_password_or_a_second_factor_records_a_login_event(app, make, login):
    import pyotp

    plain = make.user("rep@example.org")
    login("rep@example.org", on=app.test_client())
    assert _sessions_and_logins(app, plain) == (1, 1)

    secret = pyotp.random_base32()
    with_code = make.user("ilo@example.org", totp_secret=secret, totp_enabled_at=utcnow())
    browser = app.test_client()
    resp = browser.post(
        "/login", data={"email": "ilo@example.org", "password": PASSWORD, "csrf_token": csrf_token(browser)}
    )
    assert urlsplit(resp.location).path == "/login/code"
    assert _sessions_and_logins(app, with_code) == (0, 0), "no session before the code"
    resp = browser.post(
        "/login/code", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(browser)}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _sessions_and_logins(app, with_code) == (1, 1)
