"""Property-based tests of the API from its own OpenAPI document (Schemathesis): for a token of
each kind of user, every operation answers with no server error, and what it answers matches the
document (statuses, content types and response bodies)."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from mel_app import audit
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    Comment,
    DesignInputItem,
    DesignItemKind,
    Disposition,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    Recommendation,
    ResponseKind,
    Role,
    ScorerGroup,
    Status,
    SubmissionKind,
    Visibility,
    utcnow,
)
from tests.api.helpers import make_token, member, submitted_report
from tests.evaluation_world import add_scorecard


@pytest.fixture
def api_schema(app, make):
    union = make.organisation("Union")
    project = make.project()
    reporter = member(make, "rep@example.org", project, Role.reporter, union)
    specialist = member(make, "ilo@example.org", project, Role.specialist)
    admin = make.user("admin@example.org", is_admin=True)
    make.indicator(make.result(project))
    period = make.period(project)
    later = make.period(
        project, "2026 H2", start=date(2026, 7, 1), end=date(2026, 12, 31), due=date(2027, 1, 31)
    )
    draft = make.submission(project, union, reporter, period_id=period)
    submitted = submitted_report(make, project, union, reporter, period_id=later)
    make.partner(project, union)
    design, evaluation = _design_input_and_evaluation(app, make, project, union, reporter, specialist)
    app.config["API_RATE_LIMIT"] = 100000
    tokens = {
        who: make_token(app, user, scopes=("read", "report", "review"))
        for who, user in (("reporter", reporter), ("specialist", specialist), ("admin", admin))
    }
    app.extensions["test_tokens"] = tokens
    app.extensions["test_ids"] = {
        "project_id": [project],
        "submission_id": [draft, submitted, design],
        "evaluation_id": [evaluation],
    }
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _design_input_and_evaluation(app, make, project, union, reporter, specialist):
    """Design input with an answered item and comments of both kinds, and a closed evaluation
    with scores, a draft scorecard and an answered recommendation: every part of the read
    endpoints has something to show."""
    design = make.submission(
        project,
        union,
        reporter,
        kind=SubmissionKind.design_input,
        status=Status.submitted,
        submitted_at=utcnow(),
    )
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        criteria_set, scale = ensure_defaults()
        evaluation = Evaluation(
            project_id=project,
            kind=EvaluationKind.final,
            title="Final evaluation",
            criteria_set_id=criteria_set.id,
            scale_id=scale.id,
            status=EvaluationStatus.closed,
            opened_by_id=specialist,
            closed_by_id=specialist,
            closed_at=utcnow(),
        )
        db.session.add_all(
            [
                evaluation,
                DesignInputItem(
                    submission_id=design,
                    kind=DesignItemKind.need,
                    text="Training.",
                    disposition=Disposition.partly,
                    response_reason="In part.",
                    responded_by_id=specialist,
                    responded_at=utcnow(),
                ),
                Comment(submission_id=design, author_id=specialist, body="Thanks.", section="items"),
                Comment(
                    submission_id=design, author_id=specialist, body="Note.", visibility=Visibility.internal
                ),
            ]
        )
        db.session.flush()
        db.session.add(
            Recommendation(
                evaluation_id=evaluation.id,
                text="Go on.",
                addressed_organisation_id=union,
                created_by_id=specialist,
                response=ResponseKind.accepted,
                responded_by_id=specialist,
            )
        )
        db.session.commit()
        evaluation_id = evaluation.id
    add_scorecard(app, evaluation_id, specialist, ScorerGroup.ilo, {"REL": 5, "COH": None}, all_criteria=True)
    add_scorecard(app, evaluation_id, reporter, ScorerGroup.workers, {"REL": 2}, all_criteria=True)
    return design, evaluation_id


def _headers(secret: str) -> dict[str, str]:
    # Identity: the test client does not undo the gzip the app applies to answers from 1 KB.
    return {"Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"}


def test_no_server_error_and_responses_match_the_document(app, api_schema):
    """Every operation of the document, with generated parameters and bodies, for each token.

    Run inside one test with Hypothesis directly (the schema needs the app fixture's database);
    a failure names the operation and Hypothesis's smallest failing case."""
    tokens = app.extensions["test_tokens"]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    statuses: set[int] = set()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            for secret in tokens.values():
                response = case.call(headers=_headers(secret))
                assert response.status_code < 500, (case.operation.label, response.text)
                statuses.add(response.status_code)
                case.validate_response(response, checks=[response_schema_conformance])

        run()
    assert {200, 404} <= statuses, f"the generated cases reached the operations: {statuses}"


def test_the_objects_of_the_fixture_answer_as_the_document_says(app, api_schema):
    """Generated ids seldom name an object: every GET that takes an id is also asked for each
    object of the fixture, by each token, so that the full answers (with the parts each role
    sees, or `null` for those it does not) are checked against the document too."""
    tokens, ids = app.extensions["test_tokens"], app.extensions["test_ids"]
    answered: dict[str, set[int]] = {}
    for operation in (result.ok() for result in api_schema.get_all_operations()):
        names = [p.name for p in operation.iter_parameters() if p.location == "path"]
        if operation.method.upper() != "GET" or not names:
            continue
        (name,) = names
        for value in ids[name]:
            case = operation.Case(path_parameters={name: value})
            for secret in tokens.values():
                response = case.call(headers=_headers(secret))
                answered.setdefault(operation.label, set()).add(response.status_code)
                case.validate_response(response, checks=[response_schema_conformance])
    assert all(200 in statuses for statuses in answered.values()), answered
    assert len(answered) >= 7, answered
