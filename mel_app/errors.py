"""Error pages that keep the layout and never show a traceback or SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
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
    return f"{current_app.config['MAX_UPLOAD_BYTES'] / (1024 * 1024):g}"


def render_error(code: int, message: str | None = None):
    title, default_message = _titles().get(code, _titles()[500])
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default_message
    ), code


def keeps_input_on_csrf_error(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a form view that can show its form again when the CSRF token is refused.

    The view is called again on the refused POST: its FlaskForm fails validation (the token is
    checked again, and fails), so it re-renders the form with the user's input and a fresh
    token, with a 400 status. The view must authorise before validating and act only on a
    valid form, as every view does. Views without the mark get the generic page below.
    """
    view.keeps_input_on_csrf_error = True
    return view


def _same_origin() -> bool:
    """Whether the refused POST came from one of our own pages (not from another site)."""
    own = urlsplit(request.host_url)
    source = request.headers.get("Origin") or request.referrer or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def _resubmittable_fields() -> list[tuple[str, str, bool]]:
    """(name, value, long) of what the user sent, except the token, passwords and files."""
    token_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    fields = []
    for name, value in request.form.items(multi=True):
        if name.endswith(token_field) or "password" in name.lower():
            continue
        fields.append((name, value, len(value) > 120 or "\n" in value))
    return fields


def _rerun_form_view() -> Any | None:
    """The marked view's own form page with the user's input, or None."""
    from mel_app import PUBLIC_ENDPOINTS, audit

    endpoint = request.endpoint or ""
    view = current_app.view_functions.get(endpoint) if request.url_rule else None
    if view is None or not getattr(view, "keeps_input_on_csrf_error", False):
        return None
    public = endpoint in PUBLIC_ENDPOINTS or getattr(view, "is_public", False)
    if not public and not current_user.is_authenticated:
        return None
    audit.set_actor(db.session(), audit.actor_of(current_user, request.remote_addr))
    try:
        response = make_response(view(**(request.view_args or {})))
    except HTTPException:
        db.session.rollback()
        return None
    if response.status_code != 400:
        db.session.rollback()
        return None
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        """Refuse the POST, but give the user's text back when it came from our own page."""
        if request.method == "POST" and _same_origin():
            response = _rerun_form_view()
            if response is not None:
                return response
            fields = _resubmittable_fields()
            if fields:
                return render_template(
                    "errors/csrf_resubmit.html",
                    fields=fields,
                    action=request.full_path.rstrip("?"),
                    had_files=bool(request.files),
                ), 400
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
