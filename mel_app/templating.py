"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from mel_app import enum_labels, permissions


def init_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_globals():
        from mel_app.auth.forms import LogoutForm

        return {
            "can": lambda action, obj=None: permissions.can(current_user, action, obj),
            # Never bound to the request's form data: the header's sign-out button posts nothing
            # else, and an error page for a too-large upload must not read the body again.
            "logout_form": LogoutForm(formdata=None) if current_user.is_authenticated else None,
            "languages": app.config["LANGUAGES"],
            "get_locale": get_locale,
        }

    # Every enumeration member's words, from one place: {{ project.phase|label }}.
    app.jinja_env.filters["label"] = enum_labels.label
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
    # For <time datetime="...">: ISO 8601 to the second. HTML allows at most three decimals there.
    app.jinja_env.filters["iso_datetime"] = lambda value: value.isoformat(timespec="seconds") if value else ""
