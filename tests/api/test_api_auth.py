"""The API's door: bearer tokens only, scopes, expiry, revocation, the rate limit and problem
details for every refusal; each day of use is in the audit trail."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import ApiToken, AuditEvent, utcnow
from tests.api.helpers import bearer, make_token

PROBLEM = "application/problem+json"


def _is_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.json
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body


def test_without_a_token_the_api_answers_401_problem_details(app, client, make):
    make.user("rep@example.org")
    resp = client.get("/api/v1/me")
    body = _is_problem(resp, 401)
    assert "Bearer" in body["detail"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    _is_problem(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401)
    _is_problem(client.get("/api/v1/me", headers=bearer("mel_not-a-token")), 401)


def test_the_session_cookie_does_not_open_the_api(app, client, make, login):
    make.user("rep@example.org")
    login("rep@example.org")
    assert client.get("/account").status_code == 200, "signed in on the pages"
    _is_problem(client.get("/api/v1/me"), 401)


def test_a_token_acts_as_its_owner_and_records_its_use_once_a_day(app, client, make):
    user = make.user("rep@example.org")
    secret = make_token(app, user, name="export")
    for _ in range(3):
        resp = client.get("/api/v1/me", headers=bearer(secret))
        assert resp.status_code == 200
    assert resp.json["token"]["scopes"] == ["read"] and resp.json["token"]["expires_at"].endswith("+00:00")
    assert "mel_session" not in resp.headers.get("Set-Cookie", "")
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "api_token.use")).all()
        assert len(events) == 1, "one event per day of use, not one per read"
        assert events[0].actor_id == user and events[0].after["name"] == "export"
        token = db.session.scalar(sa.select(ApiToken))
        assert token.last_used_at is not None
        # The next day's first use is recorded again.
        token.last_used_at = utcnow() - timedelta(days=1)
        db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "api_token.use")
            )
            == 2
        )


def test_an_expired_or_revoked_token_or_an_inactive_owner_is_refused(app, client, make):
    user = make.user("rep@example.org")
    secret = make_token(app, user)
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken))
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    _is_problem(client.get("/api/v1/me", headers=bearer(secret)), 401)

    other = make.user("two@example.org")
    secret = make_token(app, other)
    with app.app_context():
        from mel_app.models import User

        db.session.get(User, other).is_active = False
        db.session.commit()
    _is_problem(client.get("/api/v1/me", headers=bearer(secret)), 401)


def test_a_token_without_the_scope_is_refused_with_403(app, client, make):
    user = make.user("rep@example.org")
    secret = make_token(app, user, scopes=("report",))
    body = _is_problem(client.get("/api/v1/me", headers=bearer(secret)), 403)
    assert "read" in body["detail"]


def test_the_rate_limit_answers_429_with_retry_after_per_token(app, client, make):
    app.config["API_RATE_LIMIT"] = 3
    user = make.user("rep@example.org")
    first, second = make_token(app, user, name="a"), make_token(app, user, name="b")
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200
    resp = client.get("/api/v1/me", headers=bearer(first))
    body = _is_problem(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60 and "Try again" in body["detail"]
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200, "counted per token"


def test_unknown_addresses_and_methods_answer_problem_details_not_html(app, client, make):
    user = make.user("rep@example.org")
    secret = make_token(app, user)
    _is_problem(client.get("/api/v1/nothing-here", headers=bearer(secret)), 404)
    _is_problem(client.delete("/api/v1/me", headers=bearer(secret)), 405)
    _is_problem(client.get("/api/v1/nothing-here"), 404)


def test_with_redis_configured_two_workers_share_the_token_allowance(app, make):
    import uuid

    from tests.test_access_throttle import REDIS_URL, _redis_or_skip, _worker

    client = _redis_or_skip()
    prefix = f"mel-test-{uuid.uuid4().hex[:8]}:"
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix, "API_RATE_LIMIT": 2}
    app.config.update(settings)
    second = _worker(app, **settings)
    try:
        secret = make_token(app, make.user("rep@example.org"))
        assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
        assert second.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
        resp = app.test_client().get("/api/v1/me", headers=bearer(secret))
        assert resp.status_code == 429 and resp.headers["Retry-After"]
        assert list(client.scan_iter(match=prefix + "attempts:api-token:*")), "counted in Redis"
        with app.app_context():
            from mel_app.models import LoginAttempt

            assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        with second.app_context():
            db.engine.dispose()
