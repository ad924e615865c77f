"""Error pages that keep the layout and never show a traceback or SQL."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mel_app.api.problems import for_http_exception, is_api_request, problem
from mel_app.extensions import db
from mel_app.kit.errors import DomainError

PAGES = frozenset({400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503})


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
        422: (
            _("Not accepted"),
            _("What was sent could not be accepted. Please go back, correct it and try again."),
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


def _same_origin() -> bool:
    """Whether the refused POST came from one of our own pages (not from another site)."""
    own = urlsplit(request.host_url)
    source = request.headers.get("Origin") or request.referrer or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


# One-time codes are secrets too, for the half-minute they are valid.
ONE_TIME_CODE_FIELDS = frozenset({"code", "recovery_code"})


def _secret_field_names() -> frozenset[str]:
    """The names of every password field of every form of the app (e.g. `confirm`)."""
    from flask_wtf import FlaskForm
    from wtforms import PasswordField

    names: set[str] = set(ONE_TIME_CODE_FIELDS)
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for name, value in vars(form_class).items():
            field_class = getattr(value, "field_class", None)
            if isinstance(field_class, type) and issubclass(field_class, PasswordField):
                names.add(name)
    return frozenset(names)


def _resubmittable_fields() -> list[tuple[str, str, bool]]:
    """(name, value, long) of what the user sent, except the token, secrets and files.

    Passwords and codes are left out so that no secret is written into a page (the user types
    them again).
    """
    token_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    secrets = _secret_field_names()
    fields = []
    for name, value in request.form.items(multi=True):
        bare = name.rsplit("-", 1)[-1]  # a field of a prefixed or nested form
        if name.endswith(token_field) or "password" in name.lower() or bare in secrets:
            continue
        fields.append((name, value, len(value) > 120 or "\n" in value))
    return fields


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unhandled)


def _csrf_error(exc: CSRFError):
    """Refuse the POST, but give the user's text back when it came from our own page.

    The view is never called: its form may hold a valid token (the refusal can be about the
    Referer alone), so calling it would act, commit and send mail while this page says
    nothing was saved. The text comes back on a page of its own, with a fresh token.
    """
    if request.method == "POST" and _same_origin():
        kept = _text_given_back()
        if kept is not None:
            return kept
    return render_error(
        400,
        _(
            "Your form could not be accepted because its security token is missing or expired. "
            "Please go back, reload the page and send it again."
        ),
    )


def _text_given_back():
    """The page that gives a refused form's text back, or None when there is nothing to give."""
    if not current_user.is_authenticated:
        from mel_app.submissions.stash import keep_expired_post

        # The session timed out too: keep the text for its author (only stored, never run).
        kept = keep_expired_post()
        if kept is not None:
            return kept
    fields = _resubmittable_fields()
    if not fields:
        return None
    return render_template(
        "errors/csrf_resubmit.html",
        fields=fields,
        action=request.full_path.rstrip("?"),
        had_files=bool(request.files),
    ), 400


def _too_large(exc: RequestEntityTooLarge):
    _discard_unread_body()
    return render_error(413)


def _http_error(exc: HTTPException):
    code = exc.code or 500
    if is_api_request():
        return for_http_exception(exc)
    if code not in PAGES:
        return exc
    return render_error(code)


def _domain_error(exc: DomainError):
    """A service refused the action and the view left the wording to this page."""
    db.session.rollback()
    code = exc.http_status if exc.http_status in PAGES else 409
    return render_error(code, str(exc) or None)


def _unhandled(exc: Exception):
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %r", request.method, request.path)
    if is_api_request():
        return problem(500)
    try:
        return render_error(500)
    except Exception:  # the layout itself failed: still never show a traceback
        current_app.logger.exception("error page failed to render")
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
