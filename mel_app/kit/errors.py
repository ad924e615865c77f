"""The base of every error a service raises for the user to read."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the action; `str(exc)` is the message for the user.

    `http_status` is the status of the page that says so: 409 when the state of the data does not
    allow the action (someone else changed it, it is in use, it is approved already...), 422 when
    what the user sent is refused. Subclasses set it as a class attribute; an instance may set its
    own. A view that does not handle the error itself gets the error page with that status and
    message (mel_app/errors.py).
    """

    http_status: int = 409
