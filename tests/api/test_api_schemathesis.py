"""Property-based tests of the API from its own OpenAPI document (Schemathesis): for a token of
each kind of user, every operation answers with no server error, and what it answers matches the
document (statuses, content types and response bodies)."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from mel_app.models import Role
from tests.api.helpers import make_token, member, submitted_report


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
    make.submission(project, union, reporter, period_id=period)
    submitted_report(make, project, union, reporter, period_id=later)
    app.config["API_RATE_LIMIT"] = 100000
    tokens = {
        who: make_token(app, user, scopes=("read", "report", "review"))
        for who, user in (("reporter", reporter), ("specialist", specialist), ("admin", admin))
    }
    app.extensions["test_tokens"] = tokens
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_no_server_error_and_responses_match_the_document(app, api_schema):
    """Every operation of the document, with generated parameters and bodies, for each token.

    Run inside one test with Hypothesis directly (the schema needs the app fixture's database);
    a failure names the operation and Hypothesis's smallest failing case."""
    tokens = app.extensions["test_tokens"]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 11
    statuses: set[int] = set()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            for secret in tokens.values():
                response = case.call(headers={"Authorization": f"Bearer {secret}"})
                assert response.status_code < 500, (case.operation.label, response.text)
                statuses.add(response.status_code)
                case.validate_response(response, checks=[response_schema_conformance])

        run()
    assert {200, 404} <= statuses, f"the generated cases reached the operations: {statuses}"
