"""The app under the production configuration, served over TLS, in Chromium.

The other journeys run over plain HTTP with the testing configuration. Two things only exist in
production over HTTPS: the `__Host-` Secure session cookie, and Flask-WTF's strict referrer check,
which refuses a POST without a same-origin Referer. A page that tells the browser to send no
Referer (as the reset and invitation pages once did) breaks its own form there and nowhere else.
This test serves the app with a certificate made for the test, through a real SMTP server, and
walks what every account goes through: an administrator signs in with a second factor and
invites someone, who accepts from the emailed link, changes the password, forgets it, and resets
it from the emailed link.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from config import ProductionConfig
from mel_app import create_app
from mel_app.extensions import db
from mel_app.models import utcnow
from tests.factories import PASSWORD
from tests.smtp_server import MailServer, body, mail_server_fixture  # noqa: F401 - the mail_server fixture

FIRST_PASSWORD = "solidarity forever among the workers"
SECOND_PASSWORD = "a cooperative bakery on the corner"
THIRD_PASSWORD = "minimum wage boards meet in april"


@pytest.fixture
def certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for localhost, made for this test alone."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments, no user input
        [
            "/usr/bin/openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def tls_server(app, mail_server, certificate) -> Iterator[str]:
    """The production app on the test's database, over HTTPS on localhost, mailing to `mail_server`."""
    prod = create_app(
        ProductionConfig,
        SECRET_KEY="t" * 48,
        PUBLIC_BASE_URL="https://localhost",  # the real port is known once the server listens
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        ARGON2_TIME_COST=app.config["ARGON2_TIME_COST"],
        ARGON2_MEMORY_COST=app.config["ARGON2_MEMORY_COST"],
        ARGON2_PARALLELISM=app.config["ARGON2_PARALLELISM"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=mail_server.port,
        PROXY_FIX_X_FOR=0,  # TLS ends in this server: no proxy in front
    )
    server = make_server("localhost", 0, prod, threaded=True, ssl_context=certificate)
    base = f"https://localhost:{server.server_port}"
    prod.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(5)
    with prod.app_context():
        db.session.remove()
        db.engine.dispose()


def _emailed_link(mail_server: MailServer, to: str, count: int) -> str:
    text = body(mail_server.wait_for(to, count=count)[count - 1])
    match = re.search(r"https://\S+", text)
    assert match, text
    return match.group(0)


def _sign_in(page: Page, journey, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    journey.check(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_invitation_password_change_and_reset_over_https_in_production(
    app, make, mail_server, tls_server, journey
):
    base = tls_server
    secret = pyotp.random_base32()
    org = make.organisation("Fictional Central Organisation of Trade Unions")
    make.user(
        "admin@example.org",
        is_admin=True,
        full_name="Amina Admin",
        totp_secret=secret,
        totp_enabled_at=utcnow(),
    )

    # An administrator signs in with a second factor: the production session cookie is __Host-.
    admin = journey.open(ignore_https_errors=True)
    _sign_in(admin, journey, base, "admin@example.org", PASSWORD)
    expect(admin.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    journey.check(admin)
    admin.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    admin.get_by_role("button", name="Continue").click()
    expect(admin.get_by_role("heading", name="My tasks")).to_be_visible()
    journey.check(admin)
    cookies = {c["name"]: c for c in admin.context.cookies()}
    assert cookies["__Host-mel_session"]["secure"] and cookies["__Host-mel_session"]["httpOnly"]

    admin.goto(base + "/admin/users/invite")
    journey.check(admin)
    admin.get_by_label("Email").fill("grace@example.org")
    admin.get_by_label("Full name").fill("Grace Wanjiru")
    admin.get_by_label("Organisation", exact=True).select_option(str(org))
    admin.get_by_role("button", name="Send the invitation").click()
    expect(admin.get_by_text("An invitation has been sent to grace@example.org")).to_be_visible()
    journey.check(admin)

    # The invitation, from the emailed link: built on PUBLIC_BASE_URL, accepted over HTTPS.
    invitation = _emailed_link(mail_server, "grace@example.org", 1)
    assert invitation.startswith(base + "/auth/invitation/")
    grace = journey.open(ignore_https_errors=True)
    grace.goto(invitation)
    journey.check(grace)
    grace.get_by_label("Your full name").fill("Grace Wanjiru")
    grace.get_by_label("New password", exact=True).fill(FIRST_PASSWORD)
    grace.get_by_label("Repeat the new password").fill(FIRST_PASSWORD)
    grace.get_by_role("button", name="Accept and sign in").click()
    expect(grace.get_by_text("Welcome, Grace Wanjiru. Your account is ready.")).to_be_visible()
    journey.check(grace)

    # A password change on the account page.
    grace.goto(base + "/account")
    journey.check(grace)
    grace.get_by_label("Current password").fill(FIRST_PASSWORD)
    grace.get_by_label("New password", exact=True).fill(SECOND_PASSWORD)
    grace.get_by_label("Repeat the new password").fill(SECOND_PASSWORD)
    grace.get_by_role("button", name="Change the password").click()
    expect(grace.get_by_text("Your password has been changed.")).to_be_visible()
    journey.check(grace)
    grace.get_by_role("button", name="Sign out").click()
    expect(grace.get_by_text("You have signed out.")).to_be_visible()
    journey.check(grace)

    # Forgotten: a reset from the emailed link, then a sign-in with the new password.
    grace.get_by_role("link", name="Forgotten your password?").click()
    journey.check(grace)
    grace.get_by_label("Email").fill("grace@example.org")
    grace.get_by_role("button", name="Send me a link").click()
    expect(grace.get_by_text("If an account exists for grace@example.org")).to_be_visible()
    journey.check(grace)
    reset = _emailed_link(mail_server, "grace@example.org", 2)
    assert reset.startswith(base + "/auth/reset/")
    grace.goto(reset)
    journey.check(grace)
    grace.get_by_label("New password", exact=True).fill(THIRD_PASSWORD)
    grace.get_by_label("Repeat the new password").fill(THIRD_PASSWORD)
    grace.get_by_role("button", name="Save the new password").click()
    expect(
        grace.get_by_text("Your password has been changed. Please sign in with the new one.")
    ).to_be_visible()
    journey.check(grace)
    grace.get_by_label("Email").fill("grace@example.org")
    grace.get_by_label("Password").fill(THIRD_PASSWORD)
    grace.get_by_role("button", name="Sign in").click()
    expect(grace.get_by_role("heading", name="My tasks")).to_be_visible()
    journey.check(grace)
