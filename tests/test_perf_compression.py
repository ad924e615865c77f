"""Pages travel gzipped to browsers that accept it (mel_app/compression.py), the same page once unpacked."""

from __future__ import annotations

import gzip
import re

import pytest

from config import TestingConfig
from mel_app import create_app

# Compression is applied to the response, whichever database made it.
pytestmark = pytest.mark.same_on_every_database

TOKEN = re.compile(rb'name="csrf_token"[^>]*value="[^"]*"')


def _same_page(a: bytes, b: bytes) -> bool:
    return TOKEN.sub(b"", a) == TOKEN.sub(b"", b)


def test_a_page_is_gzipped_for_a_browser_that_accepts_it(client):
    plain = client.get("/login")
    packed = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    body = packed.get_data()
    assert int(packed.headers["Content-Length"]) == len(body) < len(plain.get_data())
    assert _same_page(gzip.decompress(body), plain.get_data())
    # The security headers are still there.
    assert packed.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in packed.headers


def test_no_gzip_when_refused_or_for_files(client):
    refused = client.get("/login", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    css = next(m for m in re.findall(r'href="(/static/[^"]+\.css[^"]*)"', refused.get_data(as_text=True)))
    static = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert static.status_code == 200 and "Content-Encoding" not in static.headers
    static.close()


def test_compression_can_be_left_to_a_proxy(database):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database.fresh(), COMPRESS_RESPONSES=False)
    resp = app.test_client().get("/login", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers
