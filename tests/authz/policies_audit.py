"""Policies of the audit trail: administrators read all of it, specialists their projects' part.

A record's History tab (here of `world.submission`): administrators, the project's specialists
and the reporters of the submission's organisation. Other members of the project know the record
exists (403), except the other organisation's reporter, who may not learn of it (404).
"""

from tests.authz.policy import Route, project, signed_in

TRAIL_READERS = {"specialist": 200, "specialist_other_project": 200, "admin": 200}

POLICIES = {
    "audit.trail": Route(get=signed_in(403, **TRAIL_READERS)),
    "audit.download": Route(post=signed_in(403, **TRAIL_READERS)),
    "audit.entity_history": Route(
        get=project(reporter_same_org=200, reporter_other_org=404, specialist=200, admin=200),
        args=lambda w: {"entity_type": "submission", "entity_id": str(w.submission)},
    ),
}
