"""Policies of the printable pages: each answers everybody exactly as the page it prints does."""

from tests.authz.policies_evaluations import POLICIES as EVALUATIONS
from tests.authz.policies_submissions import POLICIES as SUBMISSIONS
from tests.authz.policy import Route

POLICIES = {
    "printing.submission": Route(get=SUBMISSIONS["submissions.detail"].get),
    "printing.results": Route(get=EVALUATIONS["evaluations.consolidated"].get),
}
