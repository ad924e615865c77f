"""Policies of the profile page: every signed-in user, only for their own account."""

from tests.authz.policy import Route, signed_in

POLICIES = {
    "account.profile": Route(get=signed_in(200), post=signed_in(400)),
    "account.change_password": Route(post=signed_in(400)),
    "account.end_other_sessions": Route(post=signed_in(302)),
}
