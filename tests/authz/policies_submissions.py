"""Policies of design input and progress reports.

`world.submission` is the union's progress report, submitted and not yet approved: its
organisation's reporters, the project's specialists and administrators read it. Nobody else may
learn that it exists (404), including the other organisation's reporter and the evaluators and
observers, who read approved submissions only. The organisation's reporters edit and submit; the
specialists review and comment; administrators read everything and change nothing.
"""

from mel_app.extensions import db
from mel_app.models import Status, Submission, SubmissionKind, SubmissionVersion, utcnow
from tests.authz.policy import Route, project, signed_in

# Members of the project who may not see a submitted (not approved) report of the union.
UNSEEN = {"reporter_other_org": 404, "evaluator": 404, "observer": 404}


def readers_of_submission(reporter=200, specialist=200, admin=200):
    """The union's reporter, the specialist and the administrator see it; others 404, unless given."""
    return project(reporter_same_org=reporter, specialist=specialist, admin=admin, **UNSEEN)


POLICIES = {
    # Specialists of any project.
    "submissions.review_queue": Route(get=signed_in(403, specialist=200, specialist_other_project=200)),
    "submissions.detail": Route(get=readers_of_submission()),
    "submissions.version": Route(get=readers_of_submission(), args=lambda w: {"number": 1}),
    "submissions.attachment": Route(get=readers_of_submission()),
    # The organisation's form: its reporters only (an empty form is refused).
    "submissions.save": Route(post=readers_of_submission(reporter=422, specialist=403, admin=403)),
    "submissions.autosave": Route(post=readers_of_submission(reporter=422, specialist=403, admin=403)),
    # Submitting the union's draft design input.
    "submissions.confirm_submit": Route(
        get=readers_of_submission(specialist=403, admin=403),
        args=lambda w: {"sub_id": w.draft_submission},
    ),
    "submissions.submit": Route(
        post=readers_of_submission(reporter=400, specialist=403, admin=403),
        args=lambda w: {"sub_id": w.draft_submission},
    ),
    # Its author withdraws it.
    # Submitted, it cannot be withdrawn: its author is sent back to it, with the reason.
    "submissions.withdraw": Route(
        get=readers_of_submission(reporter=302, specialist=403, admin=403),
        post=readers_of_submission(reporter=302, specialist=403, admin=403),
    ),
    # Reviewing: the project's specialists.
    "submissions.return_": Route(post=readers_of_submission(reporter=403, specialist=422, admin=403)),
    "submissions.approve": Route(post=readers_of_submission(reporter=403, specialist=422, admin=403)),
    "submissions.reopen": Route(post=readers_of_submission(reporter=403, specialist=422, admin=403)),
    # On the employers' submitted design input (one live design input per organisation): here
    # the union's reporter may not know of it, the employers' reporter may read it but not answer.
    "submissions.responses": Route(
        post=project(
            reporter_same_org=404,
            reporter_other_org=403,
            specialist=422,
            evaluator=404,
            observer=404,
            admin=403,
        ),
        args=lambda w: {"sub_id": w.submitted_design_input},
    ),
    # The conversation between the ILO and the organisation.
    "submissions.comment": Route(post=readers_of_submission(reporter=422, specialist=422, admin=403)),
    # Starting a report: reporters of the project (the union's is open already: sent to it).
    "submissions.start_report": Route(
        post=project(reporter_same_org=302, reporter_other_org=302),
    ),
    # Design input is collected in the design phase only (the project is in implementation), but
    # each organisation's reporters are still sent to their live one (the union's draft, the
    # employers' submitted one); everyone else 403.
    "submissions.start_design_input": Route(post=project(reporter_same_org=302, reporter_other_org=302)),
}


def extend_world(world, make):
    session = db.session
    session.add(
        SubmissionVersion(
            submission_id=world.submission,
            number=1,
            content={"narrative": {}, "values": {}},
            submitted_by_id=world.user_reporter_same_org,
        )
    )
    design_input = Submission(
        project_id=world.project,
        organisation_id=world.other_org,
        author_id=world.user_reporter_other_org,
        kind=SubmissionKind.design_input,
        status=Status.submitted,
        submitted_at=utcnow(),
        narrative={},
    )
    session.add(design_input)
    session.flush()
    world.ids["submitted_design_input"] = design_input.id
