"""Creating a row only if it is absent, when two people do it at the same moment.

A service checks that a member, an account, an organisation or a period does not exist yet, then
inserts it. Two requests can both pass the check; the database's unique constraint lets one
insert through and refuses the other with an IntegrityError, which used to reach the user as a
500. `retry_on_duplicate` rolls the loser back and runs the service once more: its checks now see
the winner's row and answer with their usual message ("... exists already"), or, where the row
was only a step (an account invited by a colleague a moment earlier), carry on with it.

Only for services that are the whole change of their request: the rollback discards everything
the request did before in the same transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError

from mel_app.extensions import db

P = ParamSpec("P")
T = TypeVar("T")

# Enough for a few racers to pass the same check in turn; each retry sees every row committed so far.
ATTEMPTS = 3
_PG_UNIQUE_VIOLATION = "23505"


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether the database refused a row because another one has the same unique key."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(orig)


def retry_on_duplicate(service: Callable[P, T]) -> Callable[P, T]:
    """Run `service` again after a unique violation, so that its own checks answer the loser.

    The service must flush (they all do) so that the violation is raised inside it.
    """

    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return service(*args, **kwargs)
            except IntegrityError as exc:
                if attempt == ATTEMPTS or not is_unique_violation(exc):
                    raise
                db.session.rollback()
        raise AssertionError("unreachable")  # the loop returns or raises

    return wrapper
