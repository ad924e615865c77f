"""The emails the app sends about accounts, in the recipient's language. Sent after the commit."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from mel_app.mail import Message
from mel_app.models import Project, Role, User
from mel_app.urls import external_url


def _hours(lifetime: timedelta) -> int:
    return max(1, round(lifetime.total_seconds() / 3600))


def _minutes(lifetime: timedelta) -> int:
    return max(1, round(lifetime.total_seconds() / 60))


def _language(user: User, fallback: str | None = None) -> str:
    languages = current_app.config["LANGUAGES"]
    for choice in (user.preferred_language, fallback):
        if choice in languages:
            return choice
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def invitation(user: User, token: str, *, inviter: User | None, project: Project | None = None) -> Message:
    with force_locale(_language(user)):
        return Message(
            to=user.email,
            subject=_("You are invited to ACTRAV MEL"),
            body=render_template(
                "email/invitation.txt",
                user=user,
                inviter=inviter,
                project=project,
                link=external_url("auth.accept_invitation", token=token),
                hours=_hours(current_app.config["INVITATION_LIFETIME"]),
            ),
        )


def password_reset(user: User, token: str) -> Message:
    with force_locale(_language(user)):
        return Message(
            to=user.email,
            subject=_("Choose a new password for ACTRAV MEL"),
            body=render_template(
                "email/password_reset.txt",
                user=user,
                link=external_url("auth.reset_password", token=token),
                minutes=_minutes(current_app.config["PASSWORD_RESET_LIFETIME"]),
            ),
        )


def added_to_project(user: User, project: Project, role: Role, *, added_by: User) -> Message:
    from mel_app.members import role_label

    with force_locale(_language(user)):
        return Message(
            to=user.email,
            subject=_("You have been added to a project in ACTRAV MEL"),
            body=render_template(
                "email/added_to_project.txt",
                user=user,
                project=project,
                role_label=role_label(role),
                added_by=added_by,
                link=external_url("main.home"),
            ),
        )
