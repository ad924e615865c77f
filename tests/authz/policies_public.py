"""Policies of the public dashboards: open to anyone, signed in or not, for published projects
only. The world's project is not published, so its public page, its evaluations' public page and
the public IATI file answer 404 for everyone, as for a project that does not exist. Publishing
and withdrawing: the project's specialists only (other members 403, non-members 404)."""

from tests.authz.policies_projects import substantiation_token
from tests.authz.policy import Route, project, public

POLICIES = {
    "public.index": Route(get=public(200)),
    "public.project": Route(get=public(404)),
    "public.evaluation": Route(get=public(404)),
    "public.iati": Route(get=public(404)),
    # The e-mailed link of a substantiation request: anyone holding it reads the statement and
    # answers (an empty answer: 422); an unknown link is "not found" for everyone.
    "public.substantiate": Route(
        get=public(200), post=public(422), args=lambda w: {"token": substantiation_token(w)}
    ),
    "public.substantiated": Route(get=public(200)),
    # GET: the confirmation page; a POST from it publishes (then back to the project page).
    "public.publish": Route(
        get=project(specialist=200), post=project(specialist=302), data={"confirmed": "yes"}
    ),
    # The world's project is not public: the specialist is sent back to the project page.
    "public.unpublish": Route(
        get=project(specialist=302), post=project(specialist=302), data={"confirmed": "yes"}
    ),
}
