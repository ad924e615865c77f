"""Security headers on every response, in one after-request hook (OWASP ASVS 5.0, V3/V14)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from flask import Flask, Request, Response, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict, MultiDict
from werkzeug.utils import cached_property
from wtforms import FileField

# No inline scripts or styles, nothing from elsewhere: every asset is vendored under /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
# Files that users uploaded: should a browser ever render one, it runs nothing, loads nothing and
# has no access to the app's origin.
UNTRUSTED_FILE_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


def _without_nul(values: MultiDict) -> MultiDict:
    if not any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
        return values
    return ImmutableMultiDict(
        (key.replace("\x00", ""), value.replace("\x00", "")) for key, value in values.items(multi=True)
    )


class InputRequest(Request):
    """The request, with NUL characters removed from form fields and URL parameters.

    No one types a NUL, and PostgreSQL cannot store one in text: left in, a crafted form would
    reach the database and fail there instead of being validated like any other text.
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])

    @cached_property
    def args(self) -> MultiDict[str, str]:
        return _without_nul(super().args)


def init_form_input(app: Flask) -> None:
    """Forms read only what a browser's form sends: text as text, files as files, never JSON.

    - A JSON body on any POST is answered with a 400 before anything reads it. The app takes
      only forms; Flask-WTF would read a JSON body as the form's data instead, and one that is not
      an object (an array, a string, a number) made every form route fail with a 500. It is
      refused first, before the CSRF check, so not even its error page looks at the body.
    - In a multipart body, a file reaches a form only through one of its file fields, and a file
      field gets only files: a file posted under a text field's name made the text validators
      fail with a 500.
    """

    def refuse_json_body():
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
            return None
        if request.path.startswith("/api/"):
            return None  # the JSON API (mel_app/api) takes JSON and no form
        from flask_babel import gettext as _

        from mel_app.errors import render_error

        return render_error(400, _("This address takes the form on its page, not JSON."))

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_json_body)
    # Flask-WTF has no setting for this: its forms' shared Meta is given a wrapper, once.
    if FlaskForm.Meta.wrap_formdata is not _wrap_formdata:
        _wrap_formdata.flask_wtf = FlaskForm.Meta.wrap_formdata  # type: ignore[attr-defined]
        FlaskForm.Meta.wrap_formdata = _wrap_formdata


def _wrap_formdata(meta: Any, form: Any, formdata: Any) -> Any:
    data = _wrap_formdata.flask_wtf(meta, form, formdata)  # type: ignore[attr-defined]
    if not (isinstance(data, CombinedMultiDict) and data.dicts and data.dicts[0] is request.files):
        return data  # data the view gave, or no files in the request
    file_fields = {field.name for field in form if isinstance(field, FileField)}
    files = [(name, file) for name, file in request.files.items(multi=True) if name in file_fields]
    text = [(name, value) for name, value in request.form.items(multi=True) if name not in file_fields]
    if not files and not text:
        return None
    return ImmutableMultiDict(text + files)


def untrusted_download(response: Response, filename: str) -> Response:
    """Mark a response carrying a user's file; the hook below gives it the download headers."""
    response.untrusted_filename = filename  # type: ignore[attr-defined]
    return response


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form.

    Neither form can carry a quote, a semicolon or a line break into the header.
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()-]", "_", ascii_name).strip(" .") or "download"
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def init_security_headers(app: Flask) -> None:
    production = app.config.get("NAME") == "production"

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        untrusted = getattr(response, "untrusted_filename", None)
        if untrusted is not None:
            # Set, not defaulted: nothing upstream may weaken these for a user's file.
            headers["Content-Security-Policy"] = UNTRUSTED_FILE_POLICY
            headers["Content-Disposition"] = content_disposition(untrusted)
            headers["Cache-Control"] = "no-store, private"
            headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "no-store" not in headers.get("Cache-Control", ""):
            # Pages and downloads behind the login show personal or project data: never cache
            # them anywhere (send_file's "no-cache" still lets a browser keep a copy on disk).
            headers["Cache-Control"] = "no-store"
        return response
