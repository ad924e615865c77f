"""One app and database shared by all the routes of the matrix (`test_route_policy`).

Every world has names of its own, so many worlds live side by side in one database; the app and
its database need not be rebuilt for each route. The tests that compare whole tables before and
after (no GET changes a row, no POST without a CSRF token changes anything) keep the ordinary,
fresh `app` of each test.
"""

from __future__ import annotations

import pytest

from tests.conftest import app_of_its_own
from tests.factories import Factory


@pytest.fixture(scope="module")
def shared_app(database):
    with app_of_its_own(database) as app:
        yield app


@pytest.fixture(scope="module")
def shared_make(shared_app) -> Factory:
    return Factory(shared_app)
