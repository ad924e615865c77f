"""Policies of projects: lists, the project page, its details, partners, framework and periods.

Every member of a project (and every administrator) reads it; only its specialists change it
(administrators read everything but edit no project). Creating a project: administrators and
specialists of at least one project.
"""

import hashlib
from datetime import date, timedelta

from mel_app.extensions import db
from mel_app.models import (
    FrameworkImport,
    Organisation,
    OrgGroup,
    OutcomeStatement,
    OutcomeSubstantiation,
    Partner,
    ReportingPeriod,
    utcnow,
)
from mel_app.projects import import_export
from tests.authz.policy import Route, project, signed_in

READERS = {
    "reporter_same_org": 200,
    "reporter_other_org": 200,
    "specialist": 200,
    "evaluator": 200,
    "observer": 200,
    "admin": 200,
}


def editors(status):
    """Only the project's specialists; other members (administrators too) 403, non-members 404."""
    return project(specialist=status)


def _outcome(w):
    return {"outcome_id": w.outcome}


POLICIES = {
    "projects.index": Route(get=signed_in(200)),
    # Administrators, and specialists or evaluators of some project.
    "projects.portfolio": Route(
        get=signed_in(403, specialist=200, specialist_other_project=200, evaluator=200, admin=200)
    ),
    # The portfolio by ILO tag and its CSV file: the same people, over the projects of their portfolio.
    "projects.portfolio_by_tag": Route(
        get=signed_in(403, specialist=200, specialist_other_project=200, evaluator=200, admin=200)
    ),
    "projects.portfolio_by_tag_csv": Route(
        get=signed_in(403, specialist=200, specialist_other_project=200, evaluator=200, admin=200)
    ),
    "projects.detail": Route(get=project(**READERS)),
    # What the project page folds away: an indicator's every period, the full status grid.
    "projects.indicator": Route(get=project(**READERS), args=lambda w: {"indicator_id": w.indicator}),
    "projects.reporting_status": Route(get=project(**READERS)),
    "projects.new": Route(
        get=signed_in(403, specialist=200, specialist_other_project=200, admin=200),
        post=signed_in(403, specialist=422, specialist_other_project=422, admin=422),
    ),
    "projects.edit": Route(get=editors(200), post=editors(422)),
    "projects.partners": Route(get=editors(200), post=editors(422)),
    "projects.remove_partner": Route(post=editors(302), args=lambda w: {"partner_id": w.spare_partner}),
    "projects.framework": Route(get=editors(200)),
    # GET: the confirmation page; a POST without its `confirmed` field is sent there (303).
    "projects.approve_framework": Route(get=editors(200), post=editors(303)),
    "projects.new_result": Route(get=editors(200), post=editors(422)),
    "projects.edit_result": Route(get=editors(200), post=editors(422)),
    "projects.new_indicator": Route(get=editors(200), post=editors(422)),
    "projects.edit_indicator": Route(get=editors(200), post=editors(422)),
    "projects.framework_change": Route(
        get=editors(200),
        post=editors(302),
        args=lambda w: {"kind": "indicator", "item_id": w.indicator, "action": "archive"},
    ),
    # The blank template holds no project's data.
    "projects.framework_template": Route(get=signed_in(200), args=lambda w: {"file_format": "csv"}),
    "projects.export_framework": Route(get=project(**READERS), args=lambda w: {"file_format": "csv"}),
    "projects.import_framework": Route(get=editors(200), post=editors(400)),
    # A staged upload is its uploader's (the specialist's) alone.
    "projects.import_preview": Route(get=editors(200), args=lambda w: {"import_id": w.framework_import}),
    "projects.confirm_import": Route(post=editors(422), args=lambda w: {"import_id": w.framework_import}),
    "projects.periods": Route(get=editors(200)),
    "projects.add_period": Route(post=editors(422)),
    "projects.generate_periods": Route(post=editors(422)),
    "projects.edit_period": Route(get=editors(200), post=editors(422)),
    "projects.delete_period": Route(post=editors(302), args=lambda w: {"period_id": w.spare_period}),
    # Outcome statements: every member reads them (reporters too); specialists record and edit them.
    "projects.outcomes_list": Route(get=project(**READERS)),
    "projects.outcome": Route(get=project(**READERS), args=_outcome),
    "projects.new_outcome": Route(get=editors(200), post=editors(422)),
    "projects.edit_outcome": Route(get=editors(200), post=editors(422), args=_outcome),
    # Substantiation: the specialists ask (an empty form: 422) and withdraw a waiting request
    # (withdrawing it again is refused with a message on the statement's page).
    "projects.request_substantiation": Route(post=editors(422), args=_outcome),
    "projects.withdraw_substantiation": Route(
        post=editors(302), args=lambda w: {"outcome_id": w.outcome, "request_id": w.substantiation}
    ),
}


def substantiation_token(w) -> str:
    """The link of the world's waiting substantiation request (tests/authz/policies_public.py);
    each world has its own, in the database the worlds share."""
    return f"matrix-substantiation-link-{w.project}"


def extend_world(world, make):
    session = db.session
    # A partner without reporters, which its specialists may remove.
    spare = Organisation(
        name=f"Spare partner {world.project}",
        acronym=f"SP{world.project}",
        group=OrgGroup.other,
        country="KE",
    )
    session.add(spare)
    session.flush()
    partner = Partner(project_id=world.project, organisation_id=spare.id)
    session.add(partner)
    session.flush()
    world.ids["spare_partner"] = partner.id
    # A period without reports, which its specialists may delete.
    period = ReportingPeriod(
        project_id=world.project,
        label="2026 H2",
        start_date=date(2026, 7, 1),
        end_date=date(2026, 12, 31),
        due_date=date(2027, 1, 31),
    )
    session.add(period)
    session.flush()
    world.ids["spare_period"] = period.id
    # The specialist's uploaded framework spreadsheet, waiting for confirmation.
    data = import_export.write_csv(import_export.EXAMPLE_ROWS)
    staged = FrameworkImport(
        project_id=world.project,
        uploaded_by_id=world.user_specialist,
        filename="framework.csv",
        file_format="csv",
        content=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(staged)
    session.flush()
    world.ids["framework_import"] = staged.id
    # An outcome statement of the project.
    statement = OutcomeStatement(
        project_id=world.project,
        social_actor="The Ministry of Labour",
        change="Consults the unions before changing the labour code.",
        changed_on=date(2026, 3, 1),
        recorded_by_id=world.user_specialist,
    )
    session.add(statement)
    session.flush()
    world.ids["outcome"] = statement.id
    # Two waiting substantiation requests: one to withdraw, one whose link is opened.
    links = (
        ("substantiation", f"matrix-withdrawn-link-{world.project}"),
        ("substantiation_link", substantiation_token(world)),
    )
    for key, token in links:
        asked = OutcomeSubstantiation(
            outcome_id=statement.id,
            name="Grace Wanjiru",
            email="grace@example.org",
            language="en",
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            requested_by_id=world.user_specialist,
            expires_at=utcnow() + timedelta(days=30),
            comment="",
        )
        session.add(asked)
        session.flush()
        world.ids[key] = asked.id
