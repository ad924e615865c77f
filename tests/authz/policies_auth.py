"""Policies of signing in and out and of the pages reached from emailed links (all public)."""

from tests.authz.policy import Route, expect, public

POLICIES = {
    # Signed-in users are sent home; an empty form is refused with 400.
    "auth.login": Route(get=expect(302, anonymous=200), post=expect(302, anonymous=400)),
    # Anonymous users are sent to the login page; everyone else is signed out and sent there too.
    "auth.logout": Route(post=public(302)),
    # Without a right password just before (in this browser), the code step sends to the login
    # page; signed-in users are sent home.
    "auth.second_step": Route(get=public(302), post=public(302)),
    "auth.request_reset": Route(get=public(200), post=public(400)),
    "auth.reset_password": Route(get=public(200), post=public(400), args=lambda w: {"token": w.reset_token}),
    "auth.accept_invitation": Route(
        get=public(200), post=public(400), args=lambda w: {"token": w.invitation_token}
    ),
}
