"""Policies of the profile page: every signed-in user, only for their own account."""

from tests.authz.policy import Route, signed_in

POLICIES = {
    "account.profile": Route(get=signed_in(200), post=signed_in(400)),
    "account.change_password": Route(post=signed_in(400)),
    "account.end_other_sessions": Route(post=signed_in(302)),
    # Two-factor sign-in of one's own account. Nobody in the world has started a set-up, so the
    # set-up page sends back to the two-factor page; the forms that need the password (or a code)
    # refuse an empty one. No role requires it in the tests' configuration, so everyone may turn
    # it off (tests/security/test_totp.py checks the refusal where the role requires it).
    "account.two_factor": Route(get=signed_in(200)),
    "account.two_factor_start": Route(post=signed_in(302)),
    "account.two_factor_setup": Route(get=signed_in(302), post=signed_in(302)),
    "account.two_factor_off": Route(post=signed_in(400)),
    "account.new_recovery_codes": Route(post=signed_in(400)),
}
