"""Policies of the JSON API: its routes never read the session cookie, so every client of the
matrix (which signs in on the pages) is refused with 401 until it sends a token; a method the
route does not take is a 405 for everyone. tests/api/ checks what each role may do with a token."""

from tests.authz.policy import Route, public

POLICIES = {
    "api_v1.me": Route(get=public(401), post=public(405)),
}
