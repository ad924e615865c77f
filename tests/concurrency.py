"""Several signed-in browsers posting at the same moment, for the tests of the optimistic lock.

Each thread is one test client; a barrier releases them together, so their requests reach the
server at once. On PostgreSQL they really run side by side; SQLite lets one writer in at a time,
so there the later ones wait for the database's write lock and then find the record changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.conftest import csrf_token


def browsers(app, login, emails) -> list[tuple[Any, str]]:
    """One signed-in test client per email, each with its CSRF token ready."""
    found = []
    for email in emails:
        client = app.test_client()
        login(email, on=client)
        found.append((client, csrf_token(client)))
    return found


def all_at_once(browsers: list[tuple[Any, str]], request: Callable[[int, Any, str], Any]) -> list:
    """Run request(i, client, token) in one thread per browser, released together.

    Returns (status code, page) per browser, in their order.
    """
    barrier = threading.Barrier(len(browsers))
    results: list = [None] * len(browsers)
    errors: list = []

    def run(i, client, token):
        try:
            barrier.wait(timeout=60)
            resp = request(i, client, token)
            results[i] = (resp.status_code, resp.get_data(as_text=True))
        except Exception as exc:  # reported below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c, t)) for i, (c, t) in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results
