"""Pages stay light on slow connections: fingerprinted static files cached for a year, < 60 KB."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from bench.loadgen import LOAD_PASSWORD
from mel_app.assets import IMMUTABLE, Fingerprints
from mel_app.extensions import db
from mel_app.models import Membership, Role, User
from tests.test_perf_loadgen import seed_load

PAGE_BUDGET = 60 * 1024  # bytes of HTML + CSS + JS on a first visit, uncompressed
ASSET_RE = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"')


def first_load_weight(client, path: str) -> tuple[int, dict[str, int]]:
    """Bytes of the page and of every stylesheet, script and image it loads, as a browser would."""
    resp = client.get(path)
    assert resp.status_code == 200, path
    html = resp.get_data(as_text=True)
    sizes = {path: len(resp.data)}
    for url in dict.fromkeys(ASSET_RE.findall(html)):
        with client.get(url.replace("&amp;", "&")) as asset:
            assert asset.status_code == 200, url
            sizes[url] = len(asset.data)
    return sum(sizes.values()), sizes


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    assets = ASSET_RE.findall(html)
    assert assets and all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in assets), assets
    for url in assets:
        with client.get(url) as resp:
            assert resp.headers["Cache-Control"] == IMMUTABLE


def test_a_stale_or_missing_fingerprint_is_revalidated_not_cached_for_a_year(client):
    with client.get("/static/css/app.css?v=000000000000") as stale:
        assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]
    with client.get("/static/css/app.css") as bare:
        assert "immutable" not in bare.headers["Cache-Control"]


def test_the_fingerprint_follows_the_file_content(tmp_path):
    asset = tmp_path / "site.css"
    asset.write_text("body { color: black; }")
    fingerprint = Fingerprints(str(tmp_path))
    first = fingerprint("site.css")
    asset.write_text("body { color: navy; }   ")
    assert fingerprint("site.css") != first
    assert fingerprint("missing.css") is None and fingerprint("../escape.css") is None


def test_static_url_helper_gives_the_fingerprinted_url(app):
    with app.test_request_context():
        html = app.jinja_env.from_string("{{ static_url('css/app.css') }}").render()
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{12}", html)


def test_the_login_page_weighs_less_than_60_kb(client):
    total, sizes = first_load_weight(client, "/login")
    assert total < PAGE_BUDGET, sizes


@pytest.mark.parametrize("role", ["admin", "reporter"])
def test_the_home_page_weighs_less_than_60_kb(app, runner, client, login, role):
    seed_load(runner, scale="0.1")
    with app.app_context():
        query = sa.select(User.email).where(User.is_active).order_by(User.id).limit(1)
        if role == "admin":
            query = query.where(User.is_admin)
        else:
            query = query.join(Membership, Membership.user_id == User.id).where(
                Membership.role == Role.reporter
            )
        email = db.session.scalar(query)
    login(email, LOAD_PASSWORD)
    total, sizes = first_load_weight(client, "/")
    assert total < PAGE_BUDGET, sizes
