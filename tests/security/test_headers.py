"""Every GET route, for every kind of user, answers with the security headers (ASVS V3.4, V14).

Routes and users come from the authorization matrix (tests/authz), so a new route is covered as
soon as it has a policy. The routes are tried in one shared world per configuration; in production
the same requests must also carry HSTS.
"""

from __future__ import annotations

import pytest

from config import ProductionConfig, TestingConfig
from mel_app.security import UNTRUSTED_FILE_POLICY
from tests.authz.world import build_world
from tests.conftest import app_of_its_own
from tests.factories import Factory
from tests.security.conftest import KINDS, get_routes, route_url, sign_in

# The headers are set after the view, whatever the database answered.
pytestmark = pytest.mark.same_on_every_database

EXPECTED_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
HTTPS = "https://localhost"
# Files with users' content: sent as sandboxed attachments (mel_app.security.untrusted_download).
DOWNLOADS = frozenset(
    {
        "submissions.attachment",
        "projects.export_framework",
        "projects.framework_template",
        "projects.portfolio_by_tag_csv",
        "projects.story_evidence",
    }
)


def directives(policy: str) -> dict[str, str]:
    parsed = {}
    for part in policy.split(";"):
        name, _sep, value = part.strip().partition(" ")
        if name:
            assert name not in parsed, f"{name} given twice in {policy!r}"
            parsed[name] = value.strip()
    return parsed


@pytest.fixture(scope="module", params=["testing", "production"])
def setting(request, database):
    """(app, browsers, world) under the testing and the production configuration."""
    if request.param == "production":
        # Nobody is required to set up two-factor sign-in here: the world's specialists and
        # evaluators would otherwise reach only its set-up page (test_totp.py covers that path).
        settings = {
            "SECRET_KEY": "p" * 48,
            "PUBLIC_BASE_URL": "https://mel.example.org",
            "PROXY_FIX_X_FOR": 0,
            "TWO_FACTOR_REQUIRED_ROLES": frozenset(),
        }
        config = ProductionConfig
    else:
        settings, config = {}, TestingConfig
    with app_of_its_own(database, config, **settings) as app:
        yield (request.param, app, *_browsers(app, https=request.param == "production"))


def _browsers(app, *, https: bool):
    """The world's users signed in, and the address their browsers use."""
    world = build_world(app, Factory(app))
    base = HTTPS if https else "http://localhost"
    clients = sign_in(app, world)
    if https:
        # The production cookie is __Host- and Secure: carry it over HTTPS.
        for kind, client in clients.items():
            token = None
            with client.session_transaction() as sess:
                token = sess.get("_user_id")
            fresh = app.test_client()
            if token:
                with fresh.session_transaction(base_url=HTTPS) as sess:
                    sess["_user_id"] = token
            clients[kind] = fresh
    return clients, world, base


def test_every_get_route_for_every_user_has_the_security_headers(setting):
    name, app, clients, world, base = setting
    problems = []
    seen = 0
    for endpoint, rule in get_routes(app):
        url = route_url(app, endpoint, rule, world)
        for kind in KINDS:
            with clients[kind].get(url, base_url=base) as resp:
                seen += 1
                problems += [
                    f"GET {url} as {kind} ({resp.status_code}): {p}" for p in _check(name, endpoint, resp)
                ]
    assert seen > 300, "the routes were enumerated"
    assert not problems, "\n".join(problems[:50])


def _check(config: str, endpoint: str, resp) -> list[str]:
    problems = []
    headers = resp.headers
    policy = headers.get("Content-Security-Policy", "")
    if endpoint in DOWNLOADS and resp.status_code == 200:
        if policy != UNTRUSTED_FILE_POLICY or "sandbox" not in directives(policy):
            problems.append(f"a download without the sandbox policy: {policy!r}")
        if not headers.get("Content-Disposition", "").startswith("attachment;"):
            problems.append("a download not sent as an attachment")
    elif directives(policy) != EXPECTED_POLICY:
        problems.append(f"Content-Security-Policy is {policy!r}")
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"the policy allows inline script: {policy!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    # Every page, those reached by an emailed link (their token is in the URL) included, sends a
    # Referer to this app only: over HTTPS a form posted without one is refused (Flask-WTF's
    # strict referrer check), and no other site ever learns an address of the app.
    if headers.get("Referrer-Policy") != "same-origin":
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')!r}")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    if endpoint != "static" and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control is {headers.get('Cache-Control')!r} on a page with project data")
    hsts = headers.get("Strict-Transport-Security", "")
    if config == "production" and not hsts.startswith("max-age=31536000"):
        problems.append(f"no HSTS in production ({hsts!r})")
    if config != "production" and hsts:
        problems.append("HSTS outside production")
    return problems


def test_the_routes_were_tried_signed_in(setting):
    """The production browsers really are signed in (else only the login redirect was checked)."""
    _name, _app, clients, _world, base = setting
    for kind in KINDS[1:]:
        with clients[kind].get("/", base_url=base) as resp:
            assert resp.status_code == 200, kind
    with clients["anonymous"].get("/", base_url=base) as resp:
        assert resp.status_code == 302
