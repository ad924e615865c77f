"""Error pages that keep the layout and never show a traceback or SQL."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mel_app.extensions import db

PAGES = frozenset({400, 401, 403, 404, 405, 409, 413, 429, 500, 503})


def _titles() -> dict[int, tuple[str, str]]:
    # Translated at request time, in the user's language.
    return {
        400: (_("Bad request"), _("The request could not be understood. Please go back and try again.")),
        401: (_("Sign-in required"), _("Please sign in to continue.")),
        403: (_("Not allowed"), _("Your role in this project does not allow this.")),
        404: (_("Not found"), _("There is nothing here, or you do not have access to it.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        409: (_("Conflict"), _("Someone else changed this in the meantime. Reload the page and try again.")),
        413: (
            _("File too large"),
            _(
                "The upload is larger than the limit of %(mb)s MB. Please send a smaller file.",
                mb=_limit_mb(),
            ),
        ),
        429: (_("Too many attempts"), _("Please wait a little and try again.")),
        500: (_("Something went wrong"), _("The error has been logged. Please try again in a moment.")),
        503: (_("Unavailable"), _("The service is temporarily unavailable. Please try again in a moment.")),
    }


def _limit_mb() -> str:
    from flask import current_app

    return f"{current_app.config['MAX_UPLOAD_BYTES'] / (1024 * 1024):g}"


def render_error(code: int, message: str | None = None):
    title, default_message = _titles().get(code, _titles()[500])
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default_message
    ), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(
            400,
            _(
                "Your form could not be accepted because its security token is missing or expired. "
                "Please go back, reload the page and send it again."
            ),
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        _discard_unread_body()
        return render_error(413)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code not in PAGES:
            return exc
        return render_error(code)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %r", request.method, request.path)
        try:
            return render_error(500)
        except Exception:  # the layout itself failed: still never show a traceback
            app.logger.exception("error page failed to render")
            return "Something went wrong. The error has been logged.", 500, {"Content-Type": "text/plain"}


# Reading at most this much of a refused upload lets the browser see the 413 page instead of a
# reset connection; anything larger is cut off (the reverse proxy should refuse it first).
DRAIN_LIMIT_FACTOR = 4


def _discard_unread_body() -> None:
    """Read and drop the body of a request refused for its size before it was read.

    Werkzeug refuses a Content-Length above MAX_CONTENT_LENGTH without reading the body. Some
    servers (gunicorn among them) then close the socket with the body unread, and the browser
    shows a broken connection instead of our page. Draining it first avoids that.
    """
    from flask import current_app

    length = request.content_length
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if not length or not limit or length <= limit or length > limit * DRAIN_LIMIT_FACTOR:
        return  # unknown, partly read already, or too large to be worth reading
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return
    remaining = length
    try:
        while remaining > 0:
            chunk = stream.read(min(remaining, 64 * 1024))
            if not chunk:
                break
            remaining -= len(chunk)
    except OSError:
        app_logger = current_app.logger
        app_logger.info("client went away while its too-large upload was discarded")
