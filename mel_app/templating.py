"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from flask import Flask, has_request_context
from flask_babel import get_locale
from flask_login import current_user

from mel_app import dates, enum_labels, permissions


def init_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_globals():
        # The user object itself, not the request-local proxy: each rule reads several of its
        # attributes, and every read through the proxy looks the user up again.
        user = current_user._get_current_object() if has_request_context() else None
        return {
            "can": permissions.template_can(user),
            "languages": app.config["LANGUAGES"],
            "get_locale": get_locale,
            "time_zone_name": dates.select_timezone,
        }

    # Every enumeration member's words, from one place: {{ project.phase|label }}.
    app.jinja_env.filters["label"] = enum_labels.label
    # Dates and times, from one place (mel_app/dates.py): day month year, 24-hour clock, the
    # reader's time zone shown with every time.
    app.jinja_env.filters["date"] = dates.format_date
    app.jinja_env.filters["datetime"] = dates.format_datetime
    app.jinja_env.filters["time"] = dates.format_time
    app.jinja_env.filters["machine_time"] = dates.machine
