"""Redis is an optional extra (mel_app[redis]). That the built wheel runs outside the checkout is
proved by .ci/wheel-check, which CI runs."""

from __future__ import annotations

import sys

import pytest

from config import TestingConfig
from mel_app import create_app
from tests.factories import PASSWORD


@pytest.fixture
def without_redis(monkeypatch):
    """As in an install without the redis extra: `import redis` fails."""
    monkeypatch.setitem(sys.modules, "redis", None)


def _sign_in(client, email: str, password: str) -> int:
    from tests.conftest import csrf_token

    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    return client.post("/login", data=data).status_code


def test_redis_settings_without_the_redis_package_stop_the_start_with_a_clear_message(without_redis):
    with pytest.raises(SystemExit, match=r"pip install 'mel_app\[redis\]'"):
        create_app(TestingConfig, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")


def test_sign_in_and_its_throttling_work_without_the_redis_package(app, make, without_redis):
    make.user("rep@example.org")
    client = app.test_client()
    for _ in range(5):
        assert _sign_in(client, "rep@example.org", "not the password") == 401
    assert _sign_in(client, "rep@example.org", PASSWORD) == 429, "the failures were counted"
    make.user("other@example.org")
    assert _sign_in(app.test_client(), "other@example.org", PASSWORD) == 302
