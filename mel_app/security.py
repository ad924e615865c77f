"""Security headers on every response, in one after-request hook (OWASP ASVS 5.0, V3/V14)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Flask, Request, Response, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.utils import cached_property

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
