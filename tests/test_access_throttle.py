"""Sign-in throttling per account and per address, with counts shared by every worker."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import TestingConfig
from mel_app import create_app
from mel_app.extensions import db
from mel_app.models import AuditEvent, LoginAttempt, utcnow
from tests.conftest import csrf_token
from tests.factories import PASSWORD

REDIS_URL = "redis://127.0.0.1:6379/0"


def _worker(app, **overrides):
    """A second app instance on the same database: another gunicorn worker, or another host."""
    return create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], **overrides
    )


@pytest.fixture
def workers(app):
    second = _worker(app)
    yield app, second
    with second.app_context():
        db.engine.dispose()


def _attempt(worker, email, password="wrong password here", addr="127.0.0.1"):  # noqa: S107
    client = worker.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    resp = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )
    return resp.status_code, resp.get_data(as_text=True)


def test_failures_on_two_workers_add_up_and_block_the_account(workers, make):
    first, second = workers
    make.user("rep@example.org")
    limit = first.config["LOGIN_FAILURES_PER_ACCOUNT"]
    assert limit == 5
    for i in range(limit):
        status, _page = _attempt((first, second)[i % 2], "rep@example.org")
        assert status == 401
    status, page = _attempt(second, "rep@example.org", PASSWORD)
    assert status == 429, "even the right password waits: the account is throttled"
    assert "please try again in 15 minutes" in page
    status, page = _attempt(first, "REP@example.org ", PASSWORD)
    assert status == 429, "the same account, however typed"
    status, _page = _attempt(first, "someone.else@example.org")
    assert status == 401, "other accounts are not affected"
    with first.app_context():
        # Each failure counts for its account and for its address.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 2 * (limit + 1)
        throttled = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "user.login_throttled")
        )
        assert throttled == 2


def test_an_unknown_email_is_throttled_the_same_way(workers, make):
    first, second = workers
    for i in range(5):
        _attempt((first, second)[i % 2], "nobody@example.org")
    status, page = _attempt(first, "nobody@example.org")
    assert status == 429 and "please try again in 15 minutes" in page


def test_the_wait_is_counted_from_the_oldest_failure(app, make):
    make.user("rep@example.org")
    for _ in range(5):
        _attempt(app, "rep@example.org")
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(attempted_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    status, page = _attempt(app, "rep@example.org", PASSWORD)
    assert status == 429 and "try again in 5 minutes" in page
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(attempted_at=utcnow() - timedelta(minutes=15)))
        db.session.commit()
    assert _attempt(app, "rep@example.org", PASSWORD)[0] == 302, "the window has passed"


def test_a_successful_sign_in_clears_the_accounts_failures(app, make):
    make.user("rep@example.org")
    for _ in range(4):
        _attempt(app, "rep@example.org")
    assert _attempt(app, "rep@example.org", PASSWORD)[0] == 302
    for _ in range(4):
        assert _attempt(app, "rep@example.org")[0] == 401
    assert _attempt(app, "rep@example.org", PASSWORD)[0] == 302


def test_one_address_trying_many_accounts_is_blocked(workers, make):
    first, second = workers
    make.user("rep@example.org")
    limit = first.config["LOGIN_FAILURES_PER_ADDRESS"]
    for i in range(limit):
        status, _page = _attempt((first, second)[i % 2], f"guess{i}@example.org", addr="203.0.113.9")
        assert status == 401
    status, page = _attempt(second, "rep@example.org", PASSWORD, addr="203.0.113.9")
    assert status == 429 and "try again in 15 minutes" in page
    assert _attempt(first, "rep@example.org", PASSWORD, addr="198.51.100.7")[0] == 302, (
        "other addresses are fine"
    )


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return client


@pytest.fixture
def redis_workers(app):
    client = _redis_or_skip()
    prefix = f"mel-test-{uuid.uuid4().hex[:8]}:"
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    app.config.update(settings)
    second = _worker(app, **settings)
    yield app, second, client, prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    with second.app_context():
        db.engine.dispose()


def test_with_redis_configured_two_workers_share_the_counter_there(redis_workers, make):
    first, second, client, prefix = redis_workers
    make.user("rep@example.org")
    for i in range(5):
        assert _attempt((first, second)[i % 2], "rep@example.org")[0] == 401
    status, page = _attempt(first, "rep@example.org", PASSWORD)
    assert status == 429 and "try again in 15 minutes" in page
    assert list(client.scan_iter(match=prefix + "attempts:login-account:*")), "counted in Redis"
    with first.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0


def test_when_redis_is_down_the_database_keeps_counting(app, make, caplog):
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"  # nothing listens there
    make.user("rep@example.org")
    caplog.set_level(logging.CRITICAL, logger=app.logger.name)
    for _ in range(5):
        assert _attempt(app, "rep@example.org")[0] == 401
    assert _attempt(app, "rep@example.org", PASSWORD)[0] == 429


def test_sign_in_failures_do_not_sweep_away_the_longer_reset_counts(app, make):
    """Each kind of count keeps its own window, though they share one table."""
    make.user("rep@example.org")
    client = app.test_client()
    for _ in range(3):
        assert (
            client.post(
                "/auth/reset", data={"email": "rep@example.org", "csrf_token": csrf_token(client)}
            ).status_code
            == 302
        )
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(attempted_at=utcnow() - timedelta(minutes=20)))
        db.session.commit()
    _attempt(app, "someone@example.org")  # a sign-in failure, whose window is 15 minutes
    resp = client.post("/auth/reset", data={"email": "rep@example.org", "csrf_token": csrf_token(client)})
    assert resp.status_code == 429 and "try again in 40 minutes" in resp.get_data(as_text=True)


def _simultaneous_wrong_passwords(app, email: str, count: int) -> list[int]:
    """`count` browsers, each from its own address, send a wrong password for `email` at once."""
    clients = []
    for i in range(count):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{i + 1}"
        clients.append((client, csrf_token(client)))
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def attempt(client, token):
        barrier.wait()
        resp = client.post("/login", data={"email": email, "password": "wrong password", "csrf_token": token})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def _passwords_checked(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "user.login_failed", AuditEvent.entity_id == str(user_id)
            )
        )


def test_twenty_simultaneous_wrong_passwords_check_at_most_the_limit(app, make):
    """Each attempt is counted before the password is looked at, so none slips under the limit."""
    user_id = make.user("rep@example.org")
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    statuses = _simultaneous_wrong_passwords(app, "rep@example.org", 20)
    assert len(statuses) == 20 and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= limit, f"{statuses.count(401)} passwords checked, the limit is {limit}"
    assert _passwords_checked(app, user_id) == statuses.count(401)
    assert _attempt(app, "rep@example.org", PASSWORD, addr="192.0.2.1")[0] == (
        429 if statuses.count(401) == limit else 302
    )


def test_with_redis_twenty_simultaneous_wrong_passwords_check_at_most_the_limit(redis_workers, make):
    first, _second, _client, _prefix = redis_workers
    user_id = make.user("rep@example.org")
    limit = first.config["LOGIN_FAILURES_PER_ACCOUNT"]
    statuses = _simultaneous_wrong_passwords(first, "rep@example.org", 20)
    assert len(statuses) == 20 and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= limit, f"{statuses.count(401)} passwords checked, the limit is {limit}"
    assert _passwords_checked(first, user_id) == statuses.count(401)


def _change_password(client, current: str, new: str = "a brand new passphrase 2026"):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": new,
            "confirm": new,
            "csrf_token": csrf_token(client),
        },
    )


def test_guessing_the_current_password_is_throttled_and_audited(app, make, client, login):
    user_id = make.user("rep@example.org")
    login("rep@example.org")
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    for i in range(limit):
        resp = _change_password(client, f"guess number {i}")
        assert resp.status_code == 400
        assert "The current password is not right." in resp.get_data(as_text=True)
    resp = _change_password(client, PASSWORD)
    assert resp.status_code == 429, "even the right password waits: the account is throttled"
    assert "please try again in 15 minutes" in resp.get_data(as_text=True)
    with app.app_context():
        reasons = db.session.scalars(
            sa.select(AuditEvent.reason)
            .where(AuditEvent.action == "user.password_change_refused", AuditEvent.entity_id == str(user_id))
            .order_by(AuditEvent.id)
        ).all()
        assert reasons == ["wrong current password"] * limit + ["too many failures"]
        assert not db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "user.password_change")
        )
    assert _attempt(app, "rep@example.org", PASSWORD)[0] == 429, "the guesses count for sign-in too"


def test_the_right_current_password_clears_the_count(app, make, client, login):
    make.user("rep@example.org")
    login("rep@example.org")
    for i in range(4):
        assert _change_password(client, f"guess number {i}").status_code == 400
    assert _change_password(client, PASSWORD).status_code == 302
    for i in range(4):
        assert _change_password(client, f"guess again {i}").status_code == 400
    new_again = "another new passphrase 2027"
    assert _change_password(client, "a brand new passphrase 2026", new_again).status_code == 302



def test_on_postgresql_the_counts_reuse_connections_of_their_own(app, make):
    """The API's rate limit counts every API request here: a new connection for each count would
    cost more than most reads. The throttle keeps a small pool, apart from the app's."""
    from tests.conftest import is_postgres

    if not is_postgres():
        pytest.skip("on SQLite the counts are written in the request's own transaction")
    from mel_app.auth import throttle

    opened = []

    def count(*args):
        opened.append(1)

    second = _worker(app)
    with app.test_request_context():
        engine = throttle._own_engine()
        assert engine is not db.engine
        sa.event.listen(engine, "connect", count)
        try:
            for _ in range(5):
                attempt = throttle.attempt([(f"test:{uuid.uuid4().hex}", 5)], window=timedelta(minutes=1))
                assert attempt.blocked is None
                attempt.succeeded()
        finally:
            sa.event.remove(engine, "connect", count)
    assert len(opened) <= 1
    with second.test_request_context():  # another app on the same database: the same pool
        assert throttle._own_engine() is engine
        db.engine.dispose()
