"""Policies of the administration of users and organisations: administrators only (403 otherwise)."""

from tests.authz.policy import Route, admin_only

POLICIES = {
    "admin.users": Route(get=admin_only(200)),
    "admin.invite_user": Route(get=admin_only(200), post=admin_only(400)),
    # The empty form lacks the version of what the admin saw: refused as a conflict.
    "admin.user": Route(get=admin_only(200), post=admin_only(409)),
    "admin.deactivate_user": Route(post=admin_only(302)),
    "admin.reactivate_user": Route(post=admin_only(302), args=lambda w: {"user_id": w.user_deactivated}),
    "admin.end_sessions": Route(post=admin_only(302)),
    # The confirmation box is required: an empty form is refused.
    "admin.reset_two_factor": Route(post=admin_only(400)),
    "admin.resend_invitation": Route(post=admin_only(302), args=lambda w: {"user_id": w.user_pending}),
    "admin.organisations": Route(get=admin_only(200)),
    "admin.new_organisation": Route(get=admin_only(200), post=admin_only(400)),
    "admin.edit_organisation": Route(get=admin_only(200), post=admin_only(400)),
}
