"""Policies of the Downloads page: administrators, and specialists, evaluators and observers of
some project. A reporter's membership gives no export (other organisations' data would leave
the app)."""

from tests.authz.policy import Route, signed_in

EXPORTERS = {
    "specialist": 200,
    "specialist_other_project": 200,
    "evaluator": 200,
    "observer": 200,
    "admin": 200,
}

POLICIES = {
    "exports.index": Route(get=signed_in(403, **EXPORTERS)),
    # An empty form downloads the default scope (limited to what the user may export).
    "exports.download": Route(post=signed_in(403, **EXPORTERS)),
}
