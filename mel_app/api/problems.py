"""Errors of the API as RFC 9457 problem details (application/problem+json), never HTML."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from werkzeug.http import HTTP_STATUS_CODES

API_PREFIX = "/api/"
PROBLEM_TYPE_BASE = "https://mel.invalid/problems/"  # not resolvable: a stable identifier only
MEDIA_TYPE = "application/problem+json"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(
    status: int,
    detail: str | None = None,
    *,
    kind: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """A problem-details response; `kind` names the `type` (by default the status's name);
    `extensions` are further members of the problem (RFC 9457, 3.2), such as what it is about."""
    title = HTTP_STATUS_CODES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (kind or title.lower().replace(" ", "-").replace("'", "")),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs's nested messages ({"query": {"limit": ["..."]}}) as {"query.limit": ["..."]}."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_": list(messages)}
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "_": [str(messages)]}


def for_http_exception(exc: Any) -> Response:
    """The problem of an HTTPException raised on an API path (validation errors included)."""
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        return problem(code, "The request has invalid fields.", errors=_flatten(messages))
    detail = exc.description if code not in (404, 500) else None
    headers = {}
    if code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem(code, detail, headers=headers)
