"""Errors never leak (ASVS V16.5): an unexpected failure gives the 500 page, with no traceback,
SQL, exception text or file path, under the production configuration, for GET and POST alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from config import ProductionConfig
from mel_app.auth.sessions import start_session
from mel_app.extensions import db
from tests.conftest import app_of_its_own, csrf_token

HTTPS = "https://localhost"
LEAKS = ("Traceback", "sqlalchemy", "SELECT", "no_such_table", "secret_column", 'File "', ".py", "Error:")


@pytest.fixture
def failing_app(database, monkeypatch):
    with app_of_its_own(
        database,
        ProductionConfig,
        SECRET_KEY="e" * 48,
        PUBLIC_BASE_URL="https://mel.example.org",
        PROXY_FIX_X_FOR=0,
    ) as app:
        yield _with_failing_routes(app, monkeypatch)


def _with_failing_routes(app, monkeypatch):

    @app.route("/failing-query-for-test", methods=["GET", "POST"])
    def failing_query():
        db.session.execute(sa.text("SELECT secret_column FROM no_such_table"))
        return "unreachable"

    @app.get("/failing-template-for-test")
    def failing_template():
        from flask import render_template_string

        return render_template_string("{{ missing.attribute.deeper }}")

    # The logger is shared by every app of the run: silenced for this test only.
    monkeypatch.setattr(app.logger, "disabled", True)
    return app


def _signed_in(app):
    from tests.factories import Factory

    user_id = Factory(app).user("reporter@example.org")
    with app.app_context():
        from mel_app.models import User

        token = start_session(db.session.get(User, user_id), remote_addr=None, user_agent="errors")
        db.session.commit()
    client = app.test_client()
    with client.session_transaction(base_url=HTTPS) as sess:
        sess["_user_id"] = token
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/failing-query-for-test"),
        ("POST", "/failing-query-for-test"),
        ("GET", "/failing-template-for-test"),
    ],
)
def test_an_unexpected_failure_shows_the_500_page_and_nothing_of_the_failure(failing_app, method, path):
    client = _signed_in(failing_app)
    if method == "POST":
        # Over HTTPS, Flask-WTF also wants the page the form came from to be ours.
        resp = client.post(
            path, data={"csrf_token": csrf_token(client)}, base_url=HTTPS, headers={"Referer": HTTPS + "/"}
        )
    else:
        resp = client.get(path, base_url=HTTPS)
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "Something went wrong" in page and '<main id="main"' in page, "the app's page, in its layout"
    for leak in LEAKS:
        assert leak not in page, f"{leak!r} leaked into the error page"
    # The error page is a page like any other: the same headers.
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    # The session survives: the next page works.
    assert client.get("/", base_url=HTTPS).status_code == 200


def test_debug_cannot_be_turned_on_in_production(database):
    with (
        pytest.raises(SystemExit, match="DEBUG"),
        app_of_its_own(database, ProductionConfig, SECRET_KEY="e" * 48, DEBUG=True),
    ):
        pass
