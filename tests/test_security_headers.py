"""Every response carries the security headers; pages are never cached."""

from __future__ import annotations

import pytest

from config import ProductionConfig
from mel_app import create_app

# The headers are set after the view, whatever the database answered.
pytestmark = pytest.mark.same_on_every_database


@pytest.mark.parametrize("path", ["/login", "/healthz", "/", "/no-such-page"])
def test_security_headers_on_every_response(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in resp.headers  # only in production, behind TLS


def test_hsts_in_production(database):
    app = create_app(
        ProductionConfig,
        SECRET_KEY="x" * 40,
        PUBLIC_BASE_URL="https://mel.example.org",
        SQLALCHEMY_DATABASE_URI=database.fresh(),
    )
    resp = app.test_client().get("/login", base_url="https://mel.example.org")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_inline_script_or_style_in_pages(client):
    page = client.get("/login").get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page and "<style" not in page
