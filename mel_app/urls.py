"""Safe redirect targets."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect


def safe_next(target: str | None) -> str | None:
    """Return `target` only if it is a local path that maps to one of our routes."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(parts.path, method="GET")
    except RequestRedirect:
        return target
    except HTTPException:
        return None
    return target


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email, on PUBLIC_BASE_URL when set (never trust the Host header then)."""
    from flask import url_for

    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return url_for(endpoint, _external=True, **values)
    return base + url_for(endpoint, **values)
