"""The running app: health check, sign-in and sign-out, error pages, configuration."""

from __future__ import annotations

import re

import pytest

from config import ProductionConfig, TestingConfig
from mel_app import create_app
from tests.conftest import csrf_token
from tests.factories import PASSWORD, Factory


def test_healthz_answers_with_a_database_round_trip(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "up"}


def test_healthz_says_503_when_the_database_is_down():
    # Nothing listens on port 1: the connection is refused at once.
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json["database"] == "down"


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    with pytest.raises(SystemExit) as exc:
        create_app(ProductionConfig, SECRET_KEY="")
    assert "SECRET_KEY" in str(exc.value)
    with pytest.raises(SystemExit):
        create_app(ProductionConfig, SECRET_KEY="short")


def test_production_refuses_debug():
    with pytest.raises(SystemExit) as exc:
        create_app(ProductionConfig, SECRET_KEY="x" * 40, DEBUG=True)
    assert "DEBUG" in str(exc.value)


@pytest.mark.parametrize("path", ["/", "/no-such-page"])
def test_pages_need_a_signed_in_user(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.location.startswith("/login")


def test_login_page_static_files_and_healthz_are_public(client):
    assert client.get("/login").status_code == 200
    with client.get("/static/css/app.css") as resp:
        assert resp.status_code == 200
    assert client.get("/healthz").status_code == 200


def test_sign_in_shows_my_projects_and_sign_out_ends_the_session(client, make, login, post):
    org = make.organisation("Fictional Union of Kenya")
    user = make.user("rep@example.org", organisation_id=org, full_name="Grace W")
    project = make.project("RAF/22/11/NOR", title="Workers' rights in Africa")
    other = make.project("RAF/23/05/FIN", title="Trade agreements")
    make.member(user, project, "reporter", organisation_id=org)

    login("REP@example.org")  # emails are case-insensitive
    page = client.get("/").get_data(as_text=True)
    assert "Workers&#39; rights in Africa" in page
    assert "Trade agreements" not in page, "a project the user is not a member of must not show"
    assert "Grace W" in page
    assert other

    resp = post("/logout")
    assert resp.status_code == 302
    assert client.get("/").status_code == 302, "after sign-out the pages need a new sign-in"


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make):
    make.user("known@example.org")
    answers = []
    for email, password in [("known@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)]:
        resp = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
        )
        assert resp.status_code == 401
        page = resp.get_data(as_text=True).replace(email, "EMAIL")
        # The CSRF token differs from one response to the next; everything else must be the same.
        answers.append(re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page))
    assert "The email or password is not right" in answers[0]
    assert answers[0] == answers[1]


def test_a_failed_login_keeps_the_email_but_not_the_password(client, make):
    make.user("known@example.org")
    resp = client.post(
        "/login",
        data={"email": "known@example.org", "password": "not it at all", "csrf_token": csrf_token(client)},
    )
    page = resp.get_data(as_text=True)
    assert 'value="known@example.org"' in page
    assert "not it at all" not in page


def test_deactivated_account_cannot_sign_in(client, make):
    make.user("gone@example.org", is_active=False)
    resp = client.post(
        "/login", data={"email": "gone@example.org", "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert resp.status_code == 401


def test_logout_needs_post_with_a_csrf_token(client, make, login):
    make.user("rep@example.org")
    login("rep@example.org")
    assert client.get("/logout").status_code == 405
    resp = client.post("/logout")  # no token
    assert resp.status_code == 400
    assert "security token" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 200, "a refused sign-out leaves the session alone"


def test_error_pages_keep_the_layout(client, make, login):
    make.user("rep@example.org")
    login("rep@example.org")
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert '<main id="main"' in page and "Not found" in page
    assert 'href="#main"' in page, "skip link"


def test_an_unexpected_error_gives_the_500_page_without_a_traceback(own_app, login, monkeypatch):
    app = own_app

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("SELECT secret FROM somewhere")

    Factory(app).user("rep@example.org")
    client = app.test_client()
    login("rep@example.org", on=client)
    # The logger is shared by every app of the run: silenced for this test only.
    monkeypatch.setattr(app.logger, "disabled", True)
    resp = client.get("/boom-for-test")
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "Traceback" not in page and "SELECT secret" not in page


def test_safe_next_redirect_after_login(client, make):
    make.user("rep@example.org")
    resp = client.post(
        "/login",
        data={
            "email": "rep@example.org",
            "password": PASSWORD,
            "next": "//evil.com/",
            "csrf_token": csrf_token(client),
        },
    )
    assert resp.location == "/"


def test_pages_are_in_the_users_language(client, make, login):
    make.user("fr@example.org", preferred_language="fr")
    login("fr@example.org")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Mes tâches" in page


def test_login_page_follows_the_browsers_language(client):
    page = client.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page
