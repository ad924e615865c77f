"""Cookies in production, safe `next` redirects, CSRF (the user's text kept), password rules."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from config import ProductionConfig
from mel_app import create_app
from mel_app.auth.passwords import password_problem
from mel_app.extensions import db
from mel_app.models import User
from tests.conftest import csrf_token
from tests.factories import PASSWORD

OWN_PAGE = {"Origin": "http://localhost", "Referer": "http://localhost/account"}


@pytest.fixture
def production_app(app):
    prod = create_app(
        ProductionConfig,
        SECRET_KEY="p" * 48,
        PUBLIC_BASE_URL="https://mel.example.org",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        ARGON2_TIME_COST=app.config["ARGON2_TIME_COST"],
        ARGON2_MEMORY_COST=app.config["ARGON2_MEMORY_COST"],
        ARGON2_PARALLELISM=app.config["ARGON2_PARALLELISM"],
    )
    yield prod
    with prod.app_context():
        db.engine.dispose()


def test_every_cookie_in_production_is_host_prefixed_secure_httponly_and_lax(production_app, make):
    make.user("rep@example.org")
    client = production_app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    cookies = []
    resp = client.get("/login", **https)
    cookies += resp.headers.getlist("Set-Cookie")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', resp.get_data(as_text=True)).group(
        1
    )
    resp = client.post(
        "/login", data={"email": "rep@example.org", "password": PASSWORD, "csrf_token": token}, **https
    )
    assert resp.status_code == 302
    cookies += resp.headers.getlist("Set-Cookie")
    page = client.get("/", **https)
    assert page.status_code == 200
    cookies += page.headers.getlist("Set-Cookie")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(
        1
    )
    resp = client.post("/logout", data={"csrf_token": token}, **https)
    assert resp.status_code == 302
    cookies += resp.headers.getlist("Set-Cookie")

    assert cookies, "the app sets a session cookie"
    for cookie in cookies:
        name = cookie.split("=", 1)[0]
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert name.startswith("__Host-"), cookie
        assert "secure" in attributes and "httponly" in attributes, cookie
        assert attributes.get("samesite") == "SameSite=Lax", cookie
        assert attributes.get("path") == "Path=/" and "domain" not in attributes, cookie
        assert not name.lower().startswith("remember"), cookie


def test_production_trusts_the_proxy_for_the_client_address_and_https(production_app, make):
    make.user("rep@example.org")
    client = production_app.test_client()
    resp = client.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"})
    assert resp.status_code == 200
    assert "Secure" in resp.headers["Set-Cookie"]


BAD_NEXT = [
    "//evil.com",
    "//evil.com/path",
    "///evil.com",
    "/\\evil.com",
    "\\/evil.com",
    "\\\\evil.com",
    "https://evil.com",
    "http://evil.com/",
    "HTTPS://evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.com",
    " //evil.com",
    "/\t/evil.com",
    "/%0A/evil.com",
    "/no-such-page",
]


@pytest.mark.parametrize("target", BAD_NEXT)
def test_an_unsafe_next_is_ignored(client, make, target):
    make.user("rep@example.org")
    resp = client.post(
        "/login",
        data={
            "email": "rep@example.org",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(client),
        },
    )
    assert resp.status_code == 302
    assert resp.location == "/", target


@pytest.mark.parametrize("target", ["/account", "/account?tab=password", "/projects/12/members"])
def test_a_local_next_that_maps_to_a_route_is_followed(client, make, target):
    make.user("rep@example.org")
    resp = client.post(
        "/login",
        data={
            "email": "rep@example.org",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(client),
        },
    )
    assert resp.location == target


def test_the_login_page_carries_next_from_the_redirect(client, make):
    make.user("rep@example.org")
    resp = client.get("/account")
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account"' in page


def _old_token(client, hours: float) -> str:
    """A CSRF token signed `hours` ago, as on a form opened that long before it is sent."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - hours * 3600)

    with client.session_transaction() as sess:
        raw = sess.setdefault("csrf_token", "f" * 40)
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=Then).dumps(raw)


def test_a_form_kept_open_for_hours_is_still_accepted(app, client, make, login):
    user = make.user("rep@example.org")
    login("rep@example.org")
    resp = client.post(
        "/account",
        data={
            "full_name": "Typed For Hours",
            "preferred_language": "en",
            "csrf_token": _old_token(client, 3),
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(User, user).full_name == "Typed For Hours"


def test_a_refused_token_gives_the_form_back_with_the_users_text(app, client, make, login):
    user = make.user("rep@example.org", full_name="Before")
    login("rep@example.org")
    resp = client.post(
        "/account",
        data={
            "full_name": "A long name I typed carefully",
            "preferred_language": "fr",
            "csrf_token": "stale",
        },
        headers=OWN_PAGE,
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "security token was missing or had expired" in page
    assert 'name="full_name" value="A long name I typed carefully"' in page
    assert 'name="preferred_language" value="fr"' in page
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    with app.app_context():
        assert db.session.get(User, user).full_name == "Before", "nothing was saved"
    resp = client.post(
        "/account",
        data={"full_name": "A long name I typed carefully", "preferred_language": "fr", "csrf_token": fresh},
    )
    assert resp.status_code == 302, "the form that came back can be sent"


def test_a_refused_token_on_a_form_without_its_own_page_shows_the_text_to_send_again(
    app, client, make, login
):
    make.user("admin@example.org", is_admin=True)
    rep = make.user("rep@example.org")
    login("admin@example.org")
    url = f"/admin/users/{rep}/deactivate"
    resp = client.post(url, data={"reason": "Left the federation in May"}, headers=OWN_PAGE)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Please send your form again" in page and "Left the federation in May" in page
    action = re.search(r'<form method="post" action="([^"]+)"', page.split("<main")[1]).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert action == url
    assert (
        client.post(action, data={"reason": "Left the federation in May", "csrf_token": token}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(User, rep).is_active is False


def test_a_post_from_another_site_gets_no_form_back(client, make, login):
    make.user("rep@example.org", full_name="Before")
    login("rep@example.org")
    resp = client.post(
        "/account",
        data={"full_name": "Attacker's choice", "preferred_language": "en"},
        headers={"Origin": "https://evil.example.com"},
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "security token is missing or expired" in page
    assert "Attacker" not in page and '<form method="post" action="/account"' not in page


def test_a_refused_login_keeps_the_email(client, make):
    make.user("rep@example.org")
    resp = client.post(
        "/login",
        data={"email": "rep@example.org", "password": PASSWORD},
        headers={"Origin": "http://localhost"},
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert 'value="rep@example.org"' in page and PASSWORD not in page


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("eleven char", False),
        ("blue tractor umbrella", True),  # no digits, capitals or symbols needed
        ("zebra lantern", True),
        ("x7#Kq9!mZ2@w", True),
        ("passwordpassword", False),
        ("123456789012", False),
        ("qwertyuiopasdf", False),
        ("iloveyou1234", False),
        ("Password1234", False),
        ("grace.wanjiru2026", False),  # the user's own name and email
        ("mots de passe très français", True),
        ("ž" * 128, False),  # long, but one repeated character
        ("correct horse battery staple " * 4 + "plus", True),  # 120+ characters are fine
    ],
)
def test_password_rules(app, password, accepted):
    with app.test_request_context():
        problem = password_problem(password, user_inputs=("grace.wanjiru@example.org", "Grace Wanjiru"))
    assert (problem is None) is accepted, problem


def test_password_length_limits(app):
    with app.test_request_context():
        assert "at least 12" in password_problem("a b c d e f")
        assert password_problem("tractor umbrella " * 15) is None, "255 characters"
        assert "at most 256" in password_problem("x" * 257)
    assert app.config["PASSWORD_MAX_LENGTH"] >= 128


def test_create_admin_command_applies_the_password_rules(app, runner):
    result = runner.invoke(
        args=["create-admin", "--email", "root@example.org", "--name", "Root", "--password", "password1234"]
    )
    assert result.exit_code != 0 and "too common" in result.output
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "root@example.org",
            "--name",
            "Root",
            "--password",
            "granite meadow lantern",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.is_admin).where(User.email == "root@example.org"))
