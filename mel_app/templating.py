"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_babel import get_locale, get_translations
from flask_login import current_user
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from mel_app import dates, enum_labels, permissions


def _translations():
    """Flask-Babel's catalogue of the current language, looked up once a request and language.

    Templates translate dozens of strings per page; Flask-Babel finds the language and its
    catalogue again for each. The catalogue is kept beside Flask-Babel's own record of the
    request's language, and used only while that language is the same object (force_locale(),
    which e-mails use, sets another one, so it is looked up again)."""
    babel_ctx = g.get("_flask_babel")
    locale = getattr(babel_ctx, "babel_locale", None)
    kept = getattr(babel_ctx, "mel_translations", None)
    if locale is not None and kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    babel_ctx = g.get("_flask_babel")
    if babel_ctx is not None:
        babel_ctx.mel_translations = (getattr(babel_ctx, "babel_locale", None), translations)
    return translations


class _CompiledTemplates(BytecodeCache):
    """The compiled code of every template rendered in this process, shared by every app built
    in it.

    Compiling a template costs far more than rendering it, and each app has an environment of its
    own: without this, every app (the test suite builds one per test; `flask` commands build one
    each) compiles every page it renders again. Jinja keys a bucket by the template's name and
    file and checks it against a checksum of the source, so an edited template is compiled again.
    Every app of mel_app configures its environment the same way (init_templating), which is what
    makes the code of one valid in another."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


def init_templating(app: Flask) -> None:
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # The same callables Flask-Babel installs, reading the catalogue kept for the request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

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
