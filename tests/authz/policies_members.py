"""Policies of a project's members page: its specialists and administrators."""

from tests.authz.policy import Route, project

MANAGERS = {"specialist": 200, "admin": 200}

POLICIES = {
    "members.index": Route(get=project(**MANAGERS)),
    "members.add": Route(post=project(specialist=400, admin=400)),
    # GET: the confirmation page; a POST without its `confirmed` field is sent there (303).
    "members.remove": Route(get=project(**MANAGERS), post=project(specialist=303, admin=303)),
    "members.resend_invitation": Route(
        post=project(specialist=302, admin=302), args=lambda w: {"membership_id": w.membership_pending}
    ),
}
