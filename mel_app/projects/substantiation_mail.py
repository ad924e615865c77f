"""The e-mail that asks someone without an account to substantiate an outcome statement.

Sent straight after the commit, as invitations and password resets are (mel_app/auth/emails.py),
not through the notifications outbox: the outbox keeps each message's text in the database, and
the link's token must be kept nowhere but in the recipient's mailbox (only its hash is stored).
Plain text, as the other e-mails with a one-time link, in the language the specialist chose.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from mel_app.mail import Message
from mel_app.models import OutcomeSubstantiation
from mel_app.urls import external_url


def request_message(request: OutcomeSubstantiation, token: str, *, requester: Any) -> Message:
    outcome = request.outcome
    project = outcome.project
    days = max(1, round(current_app.config["SUBSTANTIATION_LIFETIME"].total_seconds() / 86400))
    with force_locale(request.language):
        subject = _(
            "Do you agree with this outcome of the project %(reference)s?", reference=project.reference
        )
        body = render_template(
            "email/substantiation_request.txt",
            asked=request,
            outcome=outcome,
            project=project,
            requester=getattr(requester, "display_name", None) or _("An ILO specialist"),
            link=external_url("public.substantiate", token=token),
            days=days,
        )
    return Message(to=request.email, subject=str(subject), body=body)
