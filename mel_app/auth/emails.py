"""The emails the app sends about accounts, in the recipient's language and time zone
(`mel_app.emails.render_for`). Sent after the commit."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from mel_app.emails import recipient, render_for
from mel_app.mail import Message
from mel_app.models import Project, Role, User
from mel_app.urls import external_url


def _hours(lifetime: timedelta) -> int:
    return max(1, round(lifetime.total_seconds() / 3600))


def _minutes(lifetime: timedelta) -> int:
    return max(1, round(lifetime.total_seconds() / 60))


def invitation(user: User, token: str, *, inviter: User | None, project: Project | None = None) -> Message:
    return render_for(
        user,
        _l("You are invited to ACTRAV MEL"),
        "email/invitation.txt",
        inviter=inviter,
        project=project,
        link=external_url("auth.accept_invitation", token=token),
        hours=_hours(current_app.config["INVITATION_LIFETIME"]),
    )


def password_reset(user: User, token: str) -> Message:
    return render_for(
        user,
        _l("Choose a new password for ACTRAV MEL"),
        "email/password_reset.txt",
        link=external_url("auth.reset_password", token=token),
        minutes=_minutes(current_app.config["PASSWORD_RESET_LIFETIME"]),
    )


def added_to_project(user: User, project: Project, role: Role, *, added_by: User) -> Message:
    from mel_app.members import role_label

    # The role's words are computed here: inside the recipient's language too.
    with recipient(user):
        return render_for(
            user,
            _l("You have been added to a project in ACTRAV MEL"),
            "email/added_to_project.txt",
            project=project,
            role_label=role_label(role),
            added_by=added_by,
            link=external_url("main.home"),
        )
