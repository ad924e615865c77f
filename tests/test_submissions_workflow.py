"""The state machine of DESIGN.md §3 as a table: who × from-state × action → allowed or refused.

"ok" means the action happened (302, the status moved, one audit event names it). A number is
the refusal: 404 for those who may not know the submission exists, 403 for members without the
right role, 409 when the state does not allow it. A refusal changes nothing and records nothing.
"""

from __future__ import annotations

import pytest

from mel_app.models import Status
from tests.submissions_world import (
    add_period,
    add_submission,
    build_world,
    events,
    post,
    report_payload,
    signed_in,
    state,
)

WHO = ("author", "colleague", "other_org", "specialist", "evaluator", "observer", "admin", "outsider")

TABLE = """
state      action    author  colleague other_org specialist evaluator observer admin outsider
draft      save      ok      ok        404       403        404       404      403   404
draft      submit    ok      ok        404       403        404       404      403   404
draft      return    403     403       404       409        404       404      403   404
draft      approve   403     403       404       409        404       404      403   404
draft      reopen    403     403       404       409        404       404      403   404
draft      withdraw  ok      403       404       403        404       404      403   404
submitted  save      409     409       404       403        404       404      403   404
submitted  submit    409     409       404       403        404       404      403   404
submitted  return    403     403       404       ok         404       404      403   404
submitted  approve   403     403       404       ok         404       404      403   404
submitted  reopen    403     403       404       409        404       404      403   404
submitted  withdraw  409     403       404       403        404       404      403   404
returned   save      ok      ok        404       403        404       404      403   404
returned   submit    ok      ok        404       403        404       404      403   404
returned   return    403     403       404       409        404       404      403   404
returned   approve   403     403       404       409        404       404      403   404
returned   reopen    403     403       404       409        404       404      403   404
returned   withdraw  ok      403       404       403        404       404      403   404
approved   save      409     409       404       403        403       403      403   404
approved   submit    409     409       404       403        403       403      403   404
approved   return    403     403       404       409        403       403      403   404
approved   approve   403     403       404       409        403       403      403   404
approved   reopen    403     403       404       ok         403       403      403   404
approved   withdraw  409     403       404       403        403       403      403   404
withdrawn  save      409     409       404       403        404       404      403   404
withdrawn  submit    409     409       404       403        404       404      403   404
withdrawn  return    403     403       404       409        404       404      403   404
withdrawn  approve   403     403       404       409        404       404      403   404
withdrawn  reopen    403     403       404       409        404       404      403   404
withdrawn  withdraw  409     403       404       403        404       404      403   404
"""


def _rows():
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[2:]) == WHO
    return [(row[0], row[1], dict(zip(WHO, row[2:], strict=True))) for row in rows]


# Where each action leaves the submission when it is allowed.
TARGET = {
    ("draft", "save"): Status.draft,
    ("returned", "save"): Status.returned,
    ("draft", "submit"): Status.submitted,
    ("returned", "submit"): Status.submitted,
    ("submitted", "return"): Status.returned,
    ("submitted", "approve"): Status.approved,
    ("approved", "reopen"): Status.returned,
    ("draft", "withdraw"): Status.withdrawn,
    ("returned", "withdraw"): Status.withdrawn,
}

AUDIT_ACTION = {
    "save": "submission.save",
    "submit": "submission.submit",
    "return": "submission.return",
    "approve": "submission.approve",
    "reopen": "submission.reopen",
    "withdraw": "submission.withdraw",
}


def _request(client, world, action: str, sub_id: int, version: int):
    if action == "save":
        return post(client, f"/submissions/{sub_id}/save", report_payload(world, version))
    data = {"version": str(version)}
    if action == "return":
        data["comment"] = "Please give the women/men split for 1.a."
    if action == "reopen":
        data["reason"] = "The figures for 1.a were double counted."
    if action == "withdraw":
        data["confirmed"] = "yes"  # as the confirmation page sends it
    return post(client, f"/submissions/{sub_id}/{action}", data)


def test_the_table_covers_every_state_and_action():
    covered = {(s, a) for s, a, _ in _rows()}
    assert covered == {(s.value, a) for s in Status for a in AUDIT_ACTION}


@pytest.mark.parametrize(
    ("from_state", "action", "expected"), _rows(), ids=[f"{s}-{a}" for s, a, _ in _rows()]
)
def test_transition_table(app, make, login, from_state, action, expected):
    world = build_world(make)
    clients = {}
    for n, who in enumerate(WHO):
        period = add_period(app, world, f"P{n}")  # one live report per period and organisation
        sub_id = add_submission(app, world, Status(from_state), period=period)
        before = state(app, sub_id)
        known = len(events(app, sub_id))
        if who not in clients:
            clients[who] = signed_in(app, login, world, who)
        resp = _request(clients[who], world, action, sub_id, before[1])
        outcome = expected[who]
        after = state(app, sub_id)
        recorded = [e.action for e in events(app, sub_id)[known:]]
        if outcome == "ok":
            assert resp.status_code == 302, f"{who} should be able to {action} a {from_state} submission"
            assert after == (TARGET[(from_state, action)], before[1] + 1)
            assert recorded == [AUDIT_ACTION[action]], f"one event names the {action}"
        else:
            assert resp.status_code == int(outcome), (
                f"{who} {action} on {from_state}: expected {outcome}, got {resp.status_code}"
            )
            assert after == before, "a refused action changes nothing"
            assert recorded == [], "a refused action records nothing"
