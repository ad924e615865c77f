"""The authorization matrix: every route of the app × every kind of user × GET and POST.

How it works
============

`test_matrix.py` enumerates every rule of `app.url_map`. Each endpoint must have a policy in one
of the modules `tests/authz/policies_<blueprint>.py` (collected automatically: any module of
this package whose name starts with `policies_`). A route without a policy fails
`test_every_route_has_a_policy`, so no route can ship without a stated rule.

For each endpoint, a fresh *world* is built (`world.py`; all the endpoints' worlds share one
database, see `conftest.py`): two projects, their organisations,
one user of every kind in `KINDS`, a submission, an evaluation, and so on. Each kind of user
then calls the route (GET and POST, POST with a valid CSRF token and the policy's `data`) and
the status is compared with the policy. When a request changed something (the audit trail
grew), the world is built again before the next user, so that e.g. the admin's expectation
does not depend on what the specialist just removed.

Kinds of user (`policy.KINDS`)
------------------------------
anonymous; reporter_same_org (reporter of the submission's organisation, in `world.project`);
reporter_other_org (reporter of another organisation in the same project);
reporter_other_project (reporter in `world.other_project` only); specialist (of
`world.project`); specialist_other_project; evaluator and observer (of `world.project`); admin
(no membership anywhere).

Writing a policy
----------------
    # tests/authz/policies_submissions.py
    from tests.authz.policy import Route, expect, project, signed_in

    POLICIES = {
        # GET only: the 405 for POST is derived (302 for anonymous, 405 for everyone else).
        "submissions.review_queue": Route(get=signed_in(200)),
        # project(...) = anonymous 302, non-members of world.project 404, other members 403,
        # unless given: here the submitting organisation's reporter, the specialist, the
        # evaluator, the observer and the admin may read it.
        "submissions.detail": Route(
            get=project(reporter_same_org=200, specialist=200, evaluator=200, observer=200, admin=200),
            # URL arguments: by default taken from the world by name (see world.DEFAULT_ARGS:
            # project_id -> world.project, sub_id -> world.submission, ...). Override here:
            args=lambda w: {"sub_id": w.submission},
        ),
        "submissions.approve": Route(
            post=project(specialist=302, reporter_same_org=403, reporter_other_org=404),
            data=lambda w: {"version": 1},   # form fields sent with the POST (CSRF token added)
        ),
    }

    # Optional: objects your routes need that the base world lacks. Called after the base world
    # is built, in an app context; add ids (or any value) to world.ids.
    def extend_world(world, make):
        world.ids["returned_submission"] = make.submission(...)

Helpers (`policy.py`): `expect(default, **per_kind)` spells every kind out; `public(status)`
everyone alike; `signed_in(status)` anonymous 302; `admin_only(status)` anonymous 302, admin
`status`, everyone else 403; `project(**per_kind)` as above. A status may also be a tuple of
acceptable statuses.

The same policies drive `test_post_without_csrf_token_is_refused` (every non-GET route refuses
a POST without a token with 400, whoever sends it, and nothing changes) and
`test_no_get_route_changes_a_row` (no GET changes any table but the bookkeeping ones in
`world.BOOKKEEPING_TABLES`).
"""
