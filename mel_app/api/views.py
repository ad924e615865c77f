"""The JSON API's blueprint under /api/v1: bearer-token authentication, scopes and rate limit.

Only `Authorization: Bearer <token>` authenticates: the session cookie is never read here, so a
page cannot make a signed-in browser call the API, and the blueprint is exempt from the forms'
CSRF check. Every request runs as the token's owner (the audit actor too), and the permission
checks of mel_app/permissions.py are the owner's; a token's scopes can only narrow them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_smorest import Api, Blueprint

from mel_app.api import schemas, tokens
from mel_app.api.problems import problem
from mel_app.models import ApiToken, User
from mel_app.permissions import can_create_api_token

bp = Blueprint(
    "api_v1",
    __name__,
    url_prefix="/api/v1",
    description="Projects, frameworks, status grids, reports, design input and the ILO's responses, "
    "evaluations and the audit head.",
)

# The scopes (mel_app.models.TOKEN_SCOPES): every GET needs "read"; writes "report" or "review".
READ = "read"
REPORT = "report"
REVIEW = "review"


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unauthorized(detail: str):
    return problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="mel"'})


@bp.before_request
def authenticate():
    raw = _bearer()
    if raw is None:
        return _unauthorized("Send a personal access token: Authorization: Bearer <token>.")
    token = tokens.find_usable(raw)
    if token is None:
        # Unknown, revoked or expired look the same: the answer tells nothing about the secret.
        return _unauthorized("The token is unknown, revoked or expired.")
    wait = tokens.wait_if_rate_limited(token)
    if wait is not None:
        return problem(
            429,
            f"Too many requests with this token. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    owner = token.user
    if not can_create_api_token(owner):
        # Staff whose two-factor sign-in was reset since: their tokens wait until it is on again.
        return problem(403, "Your role requires two-factor sign-in: turn it on to use your tokens.")
    tokens.record_use(token, request.remote_addr)
    g.api_token = token
    g.api_user = owner
    return None


def api_user() -> User:
    user: User = g.api_user
    return user


def api_token() -> ApiToken:
    token: ApiToken = g.api_token
    return token


def scope(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The token must carry `name` among its scopes (beyond the owner's own permissions)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name not in api_token().scope_set:
                return problem(403, f"This token lacks the scope “{name}”.", kind="insufficient-scope")
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.get("/me")
@bp.response(200, schemas.Me)
@scope(READ)
def me():
    """The token's owner and the token itself (what a script checks first)."""
    user, token = api_user(), api_token()
    return {
        "id": user.id,
        "name": user.display_name,
        "email": user.email,
        "organisation_id": user.organisation_id,
        "token": {
            "id": token.id,
            "name": token.name,
            "scopes": sorted(token.scope_set),
            "expires_at": token.expires_at,
        },
    }


class _Api(Api):
    """flask-smorest's Api without its error handler: the app's handler answers every error of
    /api/ as problem details (mel_app/errors.py), and the pages keep their HTML error pages."""

    ERROR_SCHEMA = schemas.Problem

    def _register_error_handlers(self) -> None:
        pass


def init_api(app) -> None:
    """Register the blueprint and its OpenAPI 3.1 document (/api/v1/openapi.json).

    The blueprint is exempt from the forms' CSRF check: it reads no cookie. The app's sign-in
    hook lets every /api/ path through without a session (see `is_api_request`): the token hook
    above decides, and answers a problem, never the sign-in page.
    """
    # Imported for the routes they register: the endpoints and the docs page.
    from mel_app.api import docs, drafts, evaluations, grid, reads, responses, writes  # noqa: F401
    from mel_app.extensions import csrf

    app.config.setdefault("API_TITLE", "MEL data API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = _Api(
        app,
        spec_kwargs={
            "info": {"description": "See docs/API.md: authentication, conventions and examples."},
            "security": [{"bearer": []}],
        },
    )
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "A personal access token (mel_…)."}
    )
    csrf.exempt(bp)
    api.register_blueprint(bp)
    app.register_blueprint(docs.bp)
    app.extensions["mel_api"] = api
