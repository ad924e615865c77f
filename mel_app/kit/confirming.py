"""The first leg of a step confirmed on a page of its own (withdraw a report, close an evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue

from mel_app import confirmation


def before_confirmation(
    *,
    allowed: Callable[[], bool],
    refusal: Callable[[], str],
    back: str,
    page: Callable[[], ResponseReturnValue],
) -> ResponseReturnValue | None:
    """None for the POST sent from the confirmation page: the caller does the step. Else, when the
    step is no longer `allowed()`, the `refusal` flashed and back to `back`; a POST from anywhere
    else is sent to the confirmation page first (nothing done), which a GET gets: `page()`."""
    if request.method != "GET" and confirmation.came_through_confirmation():
        return None
    if not allowed():
        flash(refusal(), "error")
        return redirect(back)
    if request.method == "POST":
        # mel_app.confirmation is outside the strictly typed modules: its redirect is untyped.
        return cast(ResponseReturnValue, confirmation.to_confirmation())  # type: ignore[no-untyped-call]
    return page()
