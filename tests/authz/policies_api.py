"""Policies of the JSON API: its routes never read the session cookie, so every client of the
matrix (which signs in on the pages) is refused with 401 until it sends a token; a method the
route does not take is a 405 for everyone. The OpenAPI document and its page are public.
tests/api/ checks what each role may do with a token."""

from tests.authz.policy import Route, public

_TOKEN_ONLY = Route(get=public(401), post=public(405))

POLICIES = {
    "api_v1.me": _TOKEN_ONLY,
    "api_v1.projects": _TOKEN_ONLY,
    "api_v1.project": _TOKEN_ONLY,
    "api_v1.framework": _TOKEN_ONLY,
    "api_v1.periods": _TOKEN_ONLY,
    "api_v1.submissions": _TOKEN_ONLY,
    "api_v1.submission": _TOKEN_ONLY,
    "api_v1.audit_head": _TOKEN_ONLY,
    "api_v1.status_grid": _TOKEN_ONLY,
    "api_v1.design_input_responses": _TOKEN_ONLY,
    "api_v1.evaluations": _TOKEN_ONLY,
    "api_v1.evaluation": _TOKEN_ONLY,
    # Workflow steps: POST only; signed in on the pages is not enough (no token: 401).
    "api_v1.submit": Route(get=public(405), post=public(401)),
    "api_v1.return_": Route(get=public(405), post=public(401)),
    "api_v1.approve": Route(get=public(405), post=public(401)),
    # Reporters' drafts: start (POST), change (PATCH, beside GET of the same URL), attach (POST),
    # remove a file (DELETE). The matrix sends GET and POST; tests/api/ sends PATCH and DELETE.
    "api_v1.start_report": Route(get=public(405), post=public(401)),
    "api_v1.start_design_input": Route(get=public(405), post=public(401)),
    "api_v1.update": Route(post=public(405)),
    "api_v1.attach": Route(get=public(405), post=public(401)),
    "api_v1.detach": Route(get=public(405), post=public(405)),
    "api-docs.openapi_json": Route(get=public(200), post=public(405)),
    "api_docs.docs": Route(get=public(200), post=public(405)),
}
