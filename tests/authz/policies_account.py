"""Policies of the profile page: every signed-in user, only for their own account."""

import hashlib

from mel_app.extensions import db
from mel_app.models import ApiToken, utcnow
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
    # Personal access tokens: everyone's own (no role requires two-factor sign-in here). An empty
    # form is refused; a token is revoked only by its owner (the others are told it does not exist).
    "account.tokens": Route(get=signed_in(200)),
    "account.create_token": Route(post=signed_in(400)),
    "account.revoke_token": Route(
        post=signed_in(404, reporter_same_org=302), args=lambda w: {"token_id": w.ids["api_token"]}
    ),
}


def extend_world(world, make):
    now = utcnow()
    token = ApiToken(
        user_id=world.user_reporter_same_org,
        name="authz",
        scopes="read",
        token_hash=hashlib.sha256(f"mel_authz{world.user_reporter_same_org}".encode()).hexdigest(),
        hint="mel_auth",
        created_at=now,
        expires_at=now.replace(year=now.year + 1),
    )
    db.session.add(token)
    db.session.flush()
    world.ids["api_token"] = token.id
