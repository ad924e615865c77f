"""Policies of the home page, the health check and static files."""

from tests.authz.policy import Route, public, signed_in

POLICIES = {
    "main.home": Route(get=signed_in(200)),
    "main.healthz": Route(get=public(200)),
    "main.favicon": Route(get=public(302)),
    "static": Route(get=public(200), args=lambda w: {"filename": "css/app.css"}),
}
