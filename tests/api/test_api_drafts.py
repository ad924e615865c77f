"""Reporters write their organisation's drafts through the API: start a report or design input,
change its narrative, values or items, attach and remove evidence files — allowed to the
organisation's reporters only, refused as the page's form refuses, guarded by If-Match, and
leaving in the audit trail exactly what the same steps on the pages leave."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    Attachment,
    AuditEvent,
    DesignInputItem,
    IndicatorValue,
    Phase,
    Project,
    Status,
    Submission,
    SubmissionKind,
)
from tests import concurrency
from tests.api.helpers import bearer, make_token
from tests.security.test_evidence import EICAR
from tests.security.test_evidence import THIS as SCANNERS
from tests.submissions_world import (
    NARRATIVE,
    World,
    add_period,
    add_submission,
    build_world,
    post,
    report_payload,
    signed_in,
    state,
)
from tests.test_submissions_files import pdf_bytes

PROBLEM = "application/problem+json"
READ_REPORT = ("read", "report")


# ---------------------------------------------------------------------------------------------
# Helpers


def _call(client, secret: str, method: str, url: str, etag: str | None = None, **kwargs):
    headers = bearer(secret)
    if etag:
        headers["If-Match"] = etag
    return client.open(url, method=method, headers=headers, **kwargs)


def _etag(client, secret: str, sub_id: int) -> str:
    resp = client.get(f"/api/v1/submissions/{sub_id}", headers=bearer(secret))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.headers["ETag"]


def _patch(client, secret: str, sub_id: int, body: dict[str, Any], etag: str | None = None):
    etag = etag or _etag(client, secret, sub_id)
    return _call(client, secret, "PATCH", f"/api/v1/submissions/{sub_id}", etag, json=body)


def _attach(client, secret: str, sub_id: int, files: list[tuple[str, bytes]], etag: str | None = None):
    etag = etag or _etag(client, secret, sub_id)
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return _call(
        client,
        secret,
        "POST",
        f"/api/v1/submissions/{sub_id}/attachments",
        etag,
        data=data,
        content_type="multipart/form-data",
    )


def _tokens(app, world: World, *keys: str, scopes=READ_REPORT) -> dict[str, str]:
    return {key: make_token(app, world.users[key], scopes=scopes) for key in keys}


def _values(world: World) -> list[dict[str, Any]]:
    """The answers of `report_payload`, as the API takes them."""
    ids = world.indicators
    return [
        {"indicator_id": ids["1.a"], "value": "30", "women": "18", "men": "12"},
        {"indicator_id": ids["1.b"], "value": "25"},
        {"indicator_id": ids["1.c"], "value": "1"},
        {"indicator_id": ids["1.d"], "text_value": "Bargaining began."},
    ]


def _stored_values(app, sub_id: int) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.scalars(sa.select(IndicatorValue).where(IndicatorValue.submission_id == sub_id))
        return {
            r.indicator.code: (r.value, r.women, r.men, r.text_value, r.not_reported, r.comment) for r in rows
        }


def _attachments(app, sub_id: int) -> list[tuple[str, bool]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Attachment).where(Attachment.submission_id == sub_id).order_by(Attachment.id)
        )
        return [(a.filename, a.is_deleted) for a in rows]


def _submissions(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Submission).order_by(Submission.id))
        return [(s.organisation_id, s.period_id, s.kind, s.status) for s in rows]


# ---------------------------------------------------------------------------------------------
# Starting a draft


def test_a_reporter_starts_the_report_once_and_a_colleague_is_shown_the_existing_one(app, client, make):
    world = build_world(make)
    tokens = _tokens(app, world, "author", "colleague")
    url = f"/api/v1/projects/{world.project}/periods/{world.period}/report"

    resp = _call(client, tokens["author"], "POST", url)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.json
    assert body["status"] == "draft" and body["kind"] == "progress_report"
    assert body["organisation"]["id"] == world.union and body["period_id"] == world.period
    assert resp.headers["Location"] == f"/api/v1/submissions/{body['id']}"
    assert resp.headers["ETag"] == f'"v{body["version"]}"'
    assert _etag(client, tokens["author"], body["id"]) == resp.headers["ETag"]

    again = _call(client, tokens["colleague"], "POST", url)
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert again.json["submission_id"] == body["id"]
    assert again.json["submission_url"] == again.headers["Location"] == f"/api/v1/submissions/{body['id']}"
    assert _submissions(app) == [(world.union, world.period, SubmissionKind.progress_report, Status.draft)]
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_type == "submission")
        ).all()
    assert actions == ["submission.start"], "as the page's Open button records it"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("author", 201),
        ("other_org", 201),  # their own organisation's report
        ("specialist", 403),
        ("observer", 403),
        ("admin", 403),
        ("outsider", 404),
    ],
)
def test_who_may_start_a_report(app, client, make, who, status):
    world = build_world(make)
    secret = make_token(app, world.users[who], scopes=READ_REPORT)
    resp = _call(client, secret, "POST", f"/api/v1/projects/{world.project}/periods/{world.period}/report")
    assert resp.status_code == status, resp.get_data(as_text=True)
    if status == 201:
        organisation = world.union if who == "author" else world.employers
        assert resp.json["organisation"]["id"] == organisation
    else:
        assert resp.mimetype == PROBLEM and _submissions(app) == []


def test_starting_needs_the_report_scope_and_a_period_of_the_project(app, client, make):
    world = build_world(make)
    read_only = make_token(app, world.users["author"], scopes=("read",))
    resp = _call(client, read_only, "POST", f"/api/v1/projects/{world.project}/periods/{world.period}/report")
    assert resp.status_code == 403 and "report" in resp.json["detail"]
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _call(
        client, secret, "POST", f"/api/v1/projects/{world.other_project}/periods/{world.period}/report"
    )
    assert resp.status_code == 404
    assert (
        _call(client, secret, "POST", f"/api/v1/projects/{world.project}/periods/999/report").status_code
        == 404
    )
    assert _submissions(app) == []


def test_a_withdrawn_report_does_not_block_a_new_one(app, client, make):
    world = build_world(make)
    old = add_submission(app, world, Status.withdrawn)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _call(client, secret, "POST", f"/api/v1/projects/{world.project}/periods/{world.period}/report")
    assert resp.status_code == 201 and resp.json["id"] != old


def test_design_input_is_started_while_the_project_is_in_design(app, client, make):
    world = build_world(make)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    url = f"/api/v1/projects/{world.project}/design-input"
    assert _call(client, secret, "POST", url).status_code == 403, "in implementation"
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.design
        db.session.commit()
    resp = _call(client, secret, "POST", url)
    assert resp.status_code == 201 and resp.json["kind"] == "design_input" and resp.json["design_items"] == []
    again = _call(client, secret, "POST", url)
    assert again.status_code == 409 and again.json["submission_id"] == resp.json["id"]


# ---------------------------------------------------------------------------------------------
# Who may change a draft


def _change(client, secret, world, sub_id, operation, etag):
    """One change of each kind, with the version the owner of `etag` read."""
    if operation == "update":
        return _patch(client, secret, sub_id, {"narrative": {"achievements": "Changed."}}, etag)
    if operation == "attach":
        return _attach(client, secret, sub_id, [("report.pdf", pdf_bytes())], etag)
    with app_context_of(client):
        attachment = db.session.scalar(sa.select(Attachment.id).where(Attachment.submission_id == sub_id))
    return _call(client, secret, "DELETE", f"/api/v1/submissions/{sub_id}/attachments/{attachment}", etag)


def app_context_of(client):
    return client.application.app_context()


OPERATIONS = ("update", "attach", "detach")
WHO = [
    ("author", None),
    ("colleague", None),  # another reporter of the same organisation
    ("other_org", 404),  # a reporter of another organisation may not know the draft exists
    ("specialist", 403),
    ("admin", 403),
    ("outsider", 404),
]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(("who", "refused"), WHO)
def test_only_reporters_of_the_organisation_change_its_draft(app, client, make, operation, who, refused):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = make_token(app, world.users["author"], scopes=READ_REPORT)
    assert _attach(client, author, sub_id, [("first.pdf", pdf_bytes())]).status_code == 201
    etag = _etag(client, author, sub_id)
    before = (state(app, sub_id), _attachments(app, sub_id))
    secret = make_token(app, world.users[who], scopes=READ_REPORT)
    resp = _change(client, secret, world, sub_id, operation, etag)
    if refused is None:
        assert resp.status_code in (200, 201, 204), resp.get_data(as_text=True)
        assert resp.headers["ETag"] != etag
        assert state(app, sub_id)[1] == before[0][1] + 1, "one version more"
    else:
        assert resp.status_code == refused and resp.mimetype == PROBLEM
        assert (state(app, sub_id), _attachments(app, sub_id)) == before, "nothing changed"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_token_without_the_report_scope_changes_nothing(app, client, make, operation):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = make_token(app, world.users["author"], scopes=READ_REPORT)
    assert _attach(client, author, sub_id, [("first.pdf", pdf_bytes())]).status_code == 201
    etag = _etag(client, author, sub_id)
    before = (state(app, sub_id), _attachments(app, sub_id))
    read_only = make_token(app, world.users["author"], scopes=("read", "review"))
    resp = _change(client, read_only, world, sub_id, operation, etag)
    assert resp.status_code == 403 and "report" in resp.json["detail"]
    assert (state(app, sub_id), _attachments(app, sub_id)) == before


def test_a_signed_in_browser_changes_nothing_without_a_token(app, client, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    assert _attach(client, secret, sub_id, [("first.pdf", pdf_bytes())]).status_code == 201
    etag = _etag(client, secret, sub_id)
    before = (state(app, sub_id), _attachments(app, sub_id), _submissions(app))
    browser = signed_in(app, login, world, "author")
    with app.app_context():
        attachment = db.session.scalar(sa.select(Attachment.id))
    headers = {"If-Match": etag}
    url = f"/api/v1/submissions/{sub_id}"
    answers = [
        browser.post(f"/api/v1/projects/{world.project}/periods/{world.period}/report", headers=headers),
        browser.patch(url, json={"narrative": {"achievements": "Cookie."}}, headers=headers),
        browser.post(
            url + "/attachments", data={"file": [(io.BytesIO(pdf_bytes()), "a.pdf")]}, headers=headers
        ),
        browser.delete(f"{url}/attachments/{attachment}", headers=headers),
    ]
    assert [(r.status_code, r.mimetype) for r in answers] == [(401, PROBLEM)] * 4
    assert (state(app, sub_id), _attachments(app, sub_id), _submissions(app)) == before


# ---------------------------------------------------------------------------------------------
# Saving narrative and values


def test_narrative_and_values_are_saved_and_read_back_and_what_is_left_out_stays(app, client, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    ids = world.indicators
    etag = _etag(client, secret, sub_id)
    resp = _patch(client, secret, sub_id, {"narrative": NARRATIVE, "values": _values(world)}, etag)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["ETag"] != etag
    assert resp.json["narrative"] == NARRATIVE
    got = {v["indicator_id"]: v for v in resp.json["values"]}
    assert (got[ids["1.a"]]["value"], got[ids["1.a"]]["women"], got[ids["1.a"]]["men"]) == (
        "30.0000",
        "18.0000",
        "12.0000",
    ), "decimals as strings, as GET shows them"
    assert resp.json == client.get(f"/api/v1/submissions/{sub_id}", headers=bearer(secret)).json, (
        "the answer is the draft as GET shows it"
    )

    # A partial change: one section, one part of one answer; the rest stays as saved.
    resp = _patch(
        client,
        secret,
        sub_id,
        {
            "narrative": {"challenges": "  Funds arrived late again.  "},
            "values": [{"indicator_id": ids["1.b"], "comment": "From the survey."}],
        },
        resp.headers["ETag"],
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["narrative"] == {**NARRATIVE, "challenges": "Funds arrived late again."}, "trimmed"
    stored = _stored_values(app, sub_id)
    assert stored["1.b"] == (Decimal(25), None, None, "", False, "From the survey.")
    assert stored["1.a"][:3] == (Decimal(30), Decimal(18), Decimal(12))

    # Women and men without the total: the total is their sum, as on the page.
    resp = _patch(
        client,
        secret,
        sub_id,
        {"values": [{"indicator_id": ids["1.a"], "value": None, "women": "20.5", "men": "14"}]},
        resp.headers["ETag"],
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert _stored_values(app, sub_id)["1.a"][:3] == (Decimal("34.5"), Decimal("20.5"), Decimal(14))

    # Not reported, with its reason, clears the value (sent as null).
    resp = _patch(
        client,
        secret,
        sub_id,
        {
            "values": [
                {"indicator_id": ids["1.b"], "value": None, "not_reported": True, "comment": "No survey"}
            ]
        },
        resp.headers["ETag"],
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert _stored_values(app, sub_id)["1.b"] == (None, None, None, "", True, "No survey")
    submitted = _call(client, secret, "POST", f"/api/v1/submissions/{sub_id}/submit", resp.headers["ETag"])
    assert submitted.status_code == 200, "complete: a reasoned “not reported” is an answer"

    resp = _patch(
        client, secret, sub_id, {"narrative": {"challenges": "Too late."}}, submitted.headers["ETag"]
    )
    assert resp.status_code == 409 and resp.mimetype == PROBLEM
    assert resp.json["detail"] == "This submission cannot be changed while it is awaiting review."
    assert state(app, sub_id)[0] is Status.submitted
    assert _attach(client, secret, sub_id, [("late.pdf", pdf_bytes())]).status_code == 409


# ---------------------------------------------------------------------------------------------
# The page's checks, through the API


def _field_error(page: str, field_id: str) -> str:
    import re

    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


# Each rule: the indicator, the parts of its row as typed on the page, the part refused, and the
# message both give — None where the page reads typed text the API never receives (a select's
# choice, a number in the user's language, a length counted by the form's field).
PARITY = [
    ("percentage above 100", "1.b", {"value": "101"}, "value", "A percentage is between 0 and 100."),
    ("negative percentage", "1.b", {"value": "-1"}, "value", "A percentage is between 0 and 100."),
    ("yes/no other than yes or no", "1.c", {"value": "2"}, "value", None),
    ("women + men differ from the total", "1.a", {"value": "30", "women": "10", "men": "5"}, "value",
     "Women (10) and men (5) add up to 15, not 30."),
    ("negative number of women", "1.a", {"women": "-3", "value": "", "men": "5"}, "women",
     "Cannot be negative."),
    ("more than four decimals", "1.a", {"value": "1.23456", "women": "", "men": ""}, "value",
     "Use at most four decimal places."),
    ("too large", "1.a", {"value": "100000000000000", "women": "", "men": ""}, "value",
     "This number is too large."),
    ("not a number", "1.a", {"value": "thirty", "women": "", "men": ""}, "value", None),
    ("not reported but a value given", "1.b", {"value": "20", "not_reported": "y", "comment": "No survey"},
     "not_reported", "Leave the value empty when you mark the indicator as not reported."),
    ("not reported without a reason", "1.b", {"value": "", "not_reported": "y", "comment": ""}, "comment",
     "Say why this indicator is not reported."),
    ("a comment too long", "1.b", {"comment": "x" * 5001}, "comment", None),
    ("an answer too long", "1.d", {"text_value": "x" * 5001}, "text_value", None),
]  # fmt: skip


def _api_row(world: World, code: str, typed: dict[str, str]) -> dict[str, Any]:
    """The page's row of `report_payload` with `typed` in it, as the API takes it."""
    row = next(v for v in _values(world) if v["indicator_id"] == world.indicators[code]) | {"comment": ""}
    for part, text in typed.items():
        if part == "not_reported":
            row[part] = text == "y"
        elif part in ("value", "women", "men"):
            row[part] = text or None
        else:
            row[part] = text
    return row


@pytest.mark.parametrize(("rule", "code", "typed", "part", "message"), PARITY, ids=[r[0] for r in PARITY])
def test_what_the_page_refuses_the_api_refuses_by_field_and_nothing_is_saved(
    app, client, make, login, rule, code, typed, part, message
):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    ind = world.indicators[code]
    before = state(app, sub_id)

    author = signed_in(app, login, world, "author")
    overrides = {f"ind_{ind}-{name}": text for name, text in typed.items()}
    page = post(author, f"/submissions/{sub_id}/save", report_payload(world, before[1], **overrides))
    assert page.status_code == 422, "the page refuses it"
    shown = _field_error(page.get_data(as_text=True), f"ind_{ind}-{part}")
    assert shown, f"the page shows the error next to {part}"

    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    values = [row for row in _values(world) if row["indicator_id"] != ind] + [_api_row(world, code, typed)]
    resp = _patch(client, secret, sub_id, {"narrative": NARRATIVE, "values": values})
    assert resp.status_code == 422 and resp.mimetype == PROBLEM, resp.get_data(as_text=True)
    errors = resp.json["errors"]
    key = f"json.values.{len(values) - 1}.{part}"
    assert list(errors) == [key], errors
    if message is not None:
        assert message in shown and errors[key] == [message], "the same words as the page"
    assert state(app, sub_id) == before and _stored_values(app, sub_id) == {}, "nothing saved"


def test_a_narrative_section_over_the_pages_limit_is_refused(app, client, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    before = state(app, sub_id)
    author = signed_in(app, login, world, "author")
    page = post(
        author, f"/submissions/{sub_id}/save", report_payload(world, before[1], challenges="x" * 20_001)
    )
    assert page.status_code == 422 and "20000" in _field_error(page.get_data(as_text=True), "challenges")
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _patch(client, secret, sub_id, {"narrative": {"challenges": "x" * 20_001}})
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["json.narrative.challenges"]
    assert "20000" in resp.json["errors"]["json.narrative.challenges"][0]
    resp = _patch(client, secret, sub_id, {"narrative": {"challenges": "x" * 20_000}})
    assert resp.status_code == 200, "the limit itself fits, as on the page"


@pytest.mark.parametrize(
    ("row", "part", "words"),
    [
        ({"code": "1.b", "women": "3"}, "women", "takes value"),  # a percentage counts no women
        ({"code": "1.d", "value": "3"}, "value", "takes text_value"),  # a qualitative answer is text
        ({"code": "1.a", "text_value": "many"}, "text_value", "takes value, women, men"),
        ({"indicator_id": 99999}, "indicator_id", "Not an indicator this report answers"),
        ({"code": "1.a", "value": 12.5}, "value", "decimal string"),  # a JSON number may have lost digits
        ({"code": "1.a", "value": "1,5"}, "value", "decimal string"),
        ({"code": "1.a", "woman": "3"}, "woman", "Unknown field"),
    ],
)
def test_parts_an_indicator_does_not_have_are_refused(app, client, make, row, part, words):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    before = state(app, sub_id)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    entry = {k: v for k, v in row.items() if k != "code"}
    if "code" in row:
        entry["indicator_id"] = world.indicators[row["code"]]
    resp = _patch(client, secret, sub_id, {"values": [entry]})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert words in resp.json["errors"][f"json.values.0.{part}"][0]
    assert state(app, sub_id) == before


def test_an_archived_indicator_and_one_given_twice_are_refused(app, client, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    from mel_app.models import Indicator

    with app.app_context():
        db.session.get(Indicator, world.indicators["1.d"]).is_archived = True
        db.session.commit()
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    ids = world.indicators
    resp = _patch(
        client,
        secret,
        sub_id,
        {
            "values": [
                {"indicator_id": ids["1.b"], "value": "5"},
                {"indicator_id": ids["1.b"], "value": "6"},
                {"indicator_id": ids["1.d"], "text_value": "A story."},
            ]
        },
    )
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"json.values.1.indicator_id", "json.values.2.indicator_id"}
    assert _stored_values(app, sub_id) == {}


def test_design_items_are_not_part_of_a_report_nor_values_of_design_input(app, client, make):
    world = build_world(make)
    report = add_submission(app, world, Status.draft, complete=False)
    design = add_submission(app, world, Status.draft, kind=SubmissionKind.design_input)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _patch(client, secret, report, {"design_items": [{"text": "A need."}]})
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["json.design_items"]
    resp = _patch(client, secret, design, {"narrative": {"challenges": "x"}, "values": []})
    assert resp.status_code == 422 and set(resp.json["errors"]) == {"json.narrative", "json.values"}


# ---------------------------------------------------------------------------------------------
# The version read: If-Match


def test_a_change_needs_the_version_read_and_a_stale_one_is_refused(app, client, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    url = f"/api/v1/submissions/{sub_id}"
    body = {"narrative": {"achievements": "Ours."}}
    before = state(app, sub_id)

    resp = _call(client, secret, "PATCH", url, json=body)
    assert resp.status_code == 428 and resp.mimetype == PROBLEM
    resp = _call(
        client, secret, "POST", url + "/attachments", data={"file": [(io.BytesIO(pdf_bytes()), "a.pdf")]}
    )
    assert resp.status_code == 428
    assert _call(client, secret, "PATCH", url, '"v999"', json=body).status_code == 412
    assert state(app, sub_id) == before

    first = _etag(client, secret, sub_id)
    assert _patch(client, secret, sub_id, body, first).status_code == 200
    stale = _patch(client, secret, sub_id, {"narrative": {"achievements": "Theirs."}}, first)
    assert stale.status_code == 412 and stale.headers["ETag"] == _etag(client, secret, sub_id)
    assert _attach(client, secret, sub_id, [("a.pdf", pdf_bytes())], first).status_code == 412
    with app.app_context():
        assert db.session.get(Submission, sub_id).narrative["achievements"] == "Ours.", "not overwritten"
    assert _attachments(app, sub_id) == []


def test_two_reporters_saving_the_same_version_at_once_one_wins_and_the_other_is_told(app, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    tokens = _tokens(app, world, "author", "colleague")
    reader = app.test_client()
    etag = _etag(reader, tokens["author"], sub_id)
    words = {0: "The author's words.", 1: "The colleague's words."}
    clients = [(app.test_client(), tokens["author"]), (app.test_client(), tokens["colleague"])]

    def save(i, client, secret):
        return _call(
            client,
            secret,
            "PATCH",
            f"/api/v1/submissions/{sub_id}",
            etag,
            json={"narrative": {"achievements": words[i]}},
        )

    results = concurrency.all_at_once(clients, save)
    statuses = [status for status, _body in results]
    assert sorted(statuses) in ([200, 409], [200, 412]), results
    winner = statuses.index(200)
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        assert sub.narrative["achievements"] == words[winner], "the loser overwrote nothing"
        assert sub.version == int(etag.strip('"v')) + 1, "one save"
        saves = db.session.scalars(
            sa.select(AuditEvent.actor_id).where(
                AuditEvent.action == "submission.save", AuditEvent.entity_id == str(sub_id)
            )
        ).all()
    assert saves == [world.users[("author", "colleague")[winner]]], "one save in the trail, the winner's"


def test_a_returned_report_is_changed_again_and_an_approved_one_is_not(app, client, make):
    world = build_world(make)
    returned = add_submission(app, world, Status.returned)
    approved = add_submission(app, world, Status.approved, period=add_period(app, world, "2026 H2"))
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    body = {"narrative": {"challenges": "Revised as asked."}}
    assert _patch(client, secret, returned, body).status_code == 200
    resp = _patch(client, secret, approved, body)
    assert resp.status_code == 409 and "cannot be changed" in resp.json["detail"]
    assert _attach(client, secret, approved, [("a.pdf", pdf_bytes())]).status_code == 409


# ---------------------------------------------------------------------------------------------
# Evidence files


def test_a_file_is_attached_with_its_metadata_listed_and_removed(app, client, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    etag = _etag(client, secret, sub_id)
    resp = _attach(
        client, secret, sub_id, [("report.pdf", pdf_bytes()), ("notes.txt", b"Forty members.\n")], etag
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.headers["ETag"] != etag, "attaching changes the draft, as a save on the page does"
    items = resp.json["items"]
    assert [(a["filename"], a["media_type"], a["size"]) for a in items] == [
        ("report.pdf", "application/pdf", len(pdf_bytes())),
        ("notes.txt", "text/plain", 15),
    ]
    import hashlib

    assert items[0]["sha256"] == hashlib.sha256(pdf_bytes()).hexdigest()
    listed = client.get(f"/api/v1/submissions/{sub_id}", headers=bearer(secret)).json["attachments"]
    assert [a["id"] for a in listed] == [a["id"] for a in items]

    url = f"/api/v1/submissions/{sub_id}/attachments/{items[0]['id']}"
    assert _call(client, secret, "DELETE", url).status_code == 428
    assert _call(client, secret, "DELETE", url, etag).status_code == 412
    resp = _call(client, secret, "DELETE", url, _etag(client, secret, sub_id))
    assert resp.status_code == 204 and resp.data == b""
    assert resp.headers["ETag"] == _etag(client, secret, sub_id)
    assert _attachments(app, sub_id) == [("report.pdf", True), ("notes.txt", False)], "kept, marked removed"
    assert _call(client, secret, "DELETE", url, resp.headers["ETag"]).status_code == 404, "removed already"
    other = add_submission(app, world, Status.draft, period=add_period(app, world, "2026 H2"))
    assert (
        _call(
            client,
            secret,
            "DELETE",
            f"/api/v1/submissions/{other}/attachments/{items[1]['id']}",
            _etag(client, secret, other),
        ).status_code
        == 404
    ), "a file of another draft"


@pytest.mark.parametrize(
    ("what", "files", "config", "status", "words"),
    [
        ("a program renamed .pdf", [("report.pdf", b"MZ\x90\x00\x03\x00" + b"\x00" * 500)], {}, 422,
         "report.pdf is not one of the accepted kinds of file"),
        ("a file over the limit", [("big.pdf", pdf_bytes() + b"%" * 4096)], {"MAX_UPLOAD_BYTES": 2048}, 413,
         "big.pdf is larger than the limit"),
        ("more files than one save takes", [("a.txt", b"one\n"), ("b.txt", b"two\n")],
         {"MAX_FILES_PER_REQUEST": 1}, 422, "at most 1 can be added in one save"),
        ("an empty file", [("empty.pdf", b"")], {}, 422, "empty.pdf is empty."),
        ("a file the scanner flags", [("notes.txt", EICAR), ("ok.txt", b"fine\n")],
         {"EVIDENCE_SCANNER": f"{SCANNERS}:infected_scanner"}, 422, "the virus scanner found"),
    ],
)  # fmt: skip
def test_files_the_page_refuses_are_refused_and_nothing_is_added(
    app, client, make, login, what, files, config, status, words
):
    app.config.update(config)
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    before = state(app, sub_id)
    author = signed_in(app, login, world, "author")
    data = report_payload(world, before[1])
    data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    page = post(author, f"/submissions/{sub_id}/save", data, content_type="multipart/form-data")
    assert page.status_code == status and words in page.get_data(as_text=True), "the page refuses it"

    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _attach(client, secret, sub_id, files)
    assert resp.status_code == status and resp.mimetype == PROBLEM, resp.get_data(as_text=True)
    assert words in " ".join(resp.json["errors"]["files.file"])
    assert state(app, sub_id) == before and _attachments(app, sub_id) == []
    if "EVIDENCE_SCANNER" in config:
        with app.app_context():
            flagged = db.session.scalars(
                sa.select(AuditEvent.actor_id).where(AuditEvent.action == "evidence.infected")
            ).all()
        assert flagged == [world.users["author"]] * 2, "recorded in the trail, by the page and by the API"


def test_an_attachment_request_without_a_file_is_refused(app, client, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    url = f"/api/v1/submissions/{sub_id}/attachments"
    resp = _call(
        client,
        secret,
        "POST",
        url,
        _etag(client, secret, sub_id),
        data={},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "files.file" in resp.json["errors"]
    assert _attachments(app, sub_id) == []


# ---------------------------------------------------------------------------------------------
# Design input


def test_design_input_items_are_added_changed_linked_and_removed(app, client, make):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, kind=SubmissionKind.design_input)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _patch(
        client,
        secret,
        sub_id,
        {
            "design_items": [
                {"kind": "need", "text": "Training for shop stewards."},
                {"kind": "risk", "text": "Employers may not attend.", "result_id": world.result},
                {"text": "Count women members.", "indicator_id": world.indicators["1.a"]},
            ]
        },
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    items = resp.json["design_items"]
    assert [(i["kind"], i["text"], i["result_id"], i["indicator_id"]) for i in items] == [
        ("need", "Training for shop stewards.", None, None),
        ("risk", "Employers may not attend.", world.result, None),
        ("need", "Count women members.", None, world.indicators["1.a"]),
    ]
    first, second, third = (i["id"] for i in items)
    resp = _patch(
        client,
        secret,
        sub_id,
        {"design_items": [{"id": second, "remove": True}, {"id": third, "text": "Count women leaders."}]},
        resp.headers["ETag"],
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert [(i["id"], i["text"], i["indicator_id"]) for i in resp.json["design_items"]] == [
        (third, "Count women leaders.", world.indicators["1.a"]),  # the link kept: it was not given
        (first, "Training for shop stewards.", None),
    ]


@pytest.mark.parametrize(
    ("item", "part", "words"),
    [
        (
            {"id": "existing", "text": "   "},
            "text",
            "Write something, or tick “Remove this item”.",
        ),  # the page's
        ({"text": ""}, "text", "A new item needs its text."),
        ({"id": 99999, "text": "x"}, "id", "Not an item of this design input."),
        (
            {"text": "x", "indicator_id": 99999},
            "indicator_id",
            "Not an indicator of this project's framework.",
        ),
        ({"text": "x", "result_id": 99999}, "result_id", "Not a result of this project's framework."),
        ({"text": "x", "kind": "wish"}, "kind", "Must be one of"),
        ({"text": "x", "remove": True}, "remove", "Only an item already saved can be removed."),
        ({"text": "x" * 5001}, "text", "Longer than maximum length 5000."),
    ],
)
def test_design_items_are_checked_as_on_the_page(app, client, make, item, part, words):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, kind=SubmissionKind.design_input)
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    resp = _patch(client, secret, sub_id, {"design_items": [{"text": "Kept."}]})
    assert resp.status_code == 200
    existing = resp.json["design_items"][0]["id"]
    before = state(app, sub_id)
    entry = {**item, **({"id": existing} if item.get("id") == "existing" else {})}
    resp = _patch(client, secret, sub_id, {"design_items": [entry]}, resp.headers["ETag"])
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert words in resp.json["errors"][f"json.design_items.0.{part}"][0]
    assert state(app, sub_id) == before
    with app.app_context():
        assert db.session.scalars(sa.select(DesignInputItem.text)).all() == ["Kept."]


# ---------------------------------------------------------------------------------------------
# The audit trail: the same events as the pages


# Bookkeeping of the two ways in, not of the report: signing in on the pages, the token's use.
_WAY_IN = ("api_token.", "auth.", "user.", "session.")
# What differs between two reports made the same way: their own ids and the times. The names
# stay (which fields changed is compared); their values are replaced.
_OWN_IDS = ("id", "submission_id", "period_id")


def _trail(app, after_event: int, period_label: str) -> list[tuple]:
    """The events since `after_event` (but the ways in), as what they say of the report:
    action, object type, reason, and the changed fields with their values; not the report's own
    ids, the times, the actor or the request."""

    def plain(value: Any, key: str = "") -> Any:
        if key in _OWN_IDS:
            return "<id>"
        if key.endswith("_at"):
            return None if value is None else "<time>"
        if isinstance(value, dict):
            return {k: plain(v, k) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, str):
            return value.replace(period_label, "<period>")
        return value

    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > after_event).order_by(AuditEvent.id)
        )
        return [
            (e.action, e.entity_type, plain(e.reason), plain(e.before), plain(e.after))
            for e in rows
            if not e.action.startswith(_WAY_IN)
        ]


def _last_event(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0


def test_the_api_leaves_the_audit_events_the_pages_leave(app, make, login):
    world = build_world(make)
    second = add_period(app, world, "2026 H2")
    periods = {world.period: "2026 H1", second: "2026 H2"}
    evidence = [("report.pdf", pdf_bytes())]

    # On the pages: open the report, save values and narrative, save again with a file, submit;
    # the specialist returns it, the author submits again, the specialist approves.
    author, specialist = signed_in(app, login, world, "author"), signed_in(app, login, world, "specialist")
    start = _last_event(app)
    opened = post(author, f"/projects/{world.project}/periods/{world.period}/report")
    web = int(opened.location.rsplit("/", 1)[1])
    assert (
        post(author, f"/submissions/{web}/save", report_payload(world, state(app, web)[1])).status_code == 302
    )
    data = report_payload(world, state(app, web)[1])
    data["evidence"] = [(io.BytesIO(content), name) for name, content in evidence]
    assert (
        post(author, f"/submissions/{web}/save", data, content_type="multipart/form-data").status_code == 302
    )
    assert post(author, f"/submissions/{web}/submit", {"version": state(app, web)[1]}).status_code == 302
    comment = "Add the women's figures."
    returned = post(
        specialist, f"/submissions/{web}/return", {"version": state(app, web)[1], "comment": comment}
    )
    assert returned.status_code == 302
    assert post(author, f"/submissions/{web}/submit", {"version": state(app, web)[1]}).status_code == 302
    approved = post(
        specialist, f"/submissions/{web}/approve", {"version": state(app, web)[1], "comment": "Thanks."}
    )
    assert approved.status_code == 302 and state(app, web)[0] is Status.approved
    on_the_pages = _trail(app, start, periods[world.period])

    # The same through the API, for the next period.
    client = app.test_client()
    reporter = make_token(app, world.users["author"], scopes=READ_REPORT)
    reviewer = make_token(app, world.users["specialist"], scopes=("read", "review"))
    start = _last_event(app)
    resp = _call(client, reporter, "POST", f"/api/v1/projects/{world.project}/periods/{second}/report")
    api = resp.json["id"]
    resp = _patch(
        client, reporter, api, {"narrative": NARRATIVE, "values": _values(world)}, resp.headers["ETag"]
    )
    assert resp.status_code == 200
    resp = _attach(client, reporter, api, evidence, resp.headers["ETag"])
    assert resp.status_code == 201
    resp = _call(client, reporter, "POST", f"/api/v1/submissions/{api}/submit", resp.headers["ETag"])
    assert resp.status_code == 200
    url = f"/api/v1/submissions/{api}"
    resp = _call(client, reviewer, "POST", url + "/return", resp.headers["ETag"], json={"comment": comment})
    assert resp.status_code == 200
    resp = _call(client, reporter, "POST", url + "/submit", resp.headers["ETag"])
    assert resp.status_code == 200
    resp = _call(
        client, reviewer, "POST", url + "/approve", resp.headers["ETag"], json={"comment": "Thanks."}
    )
    assert resp.status_code == 200
    through_the_api = _trail(app, start, periods[second])

    actions = [event[0] for event in on_the_pages]
    for expected in ("submission.start", "submission.save", "attachment.create", "submission.submit",
                     "submission.return", "submission.approve"):  # fmt: skip
        assert expected in actions, f"{expected} is in the trail of the pages"
    assert through_the_api == on_the_pages
    import pprint

    pprint.pprint(on_the_pages, width=150)


# ---------------------------------------------------------------------------------------------
# Generated requests that reach the checks (the document-wide run mostly meets unknown ids)


def test_generated_changes_to_a_real_draft_never_break_and_match_the_document(app, make):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import response_schema_conformance

    world = build_world(make)
    report = add_submission(app, world, Status.draft, complete=False)
    design = add_submission(app, world, Status.draft, kind=SubmissionKind.design_input)
    app.config["API_RATE_LIMIT"] = 100000
    secret = make_token(app, world.users["author"], scopes=READ_REPORT)
    reader = app.test_client()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    wanted = {
        "PATCH /api/v1/submissions/{submission_id}",
        "POST /api/v1/submissions/{submission_id}/attachments",
        "POST /api/v1/projects/{project_id}/periods/{period_id}/report",
    }
    operations = [op for op in (r.ok() for r in schema.get_all_operations()) if op.label in wanted]
    assert len(operations) == len(wanted)
    statuses: dict[str, set[int]] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            for sub_id in (report, design):
                case.path_parameters = {
                    **(case.path_parameters or {}),
                    "submission_id": sub_id,
                    "project_id": world.project,
                    "period_id": world.period,
                }
                headers = {"Authorization": f"Bearer {secret}", "If-Match": _etag(reader, secret, sub_id)}
                response = case.call(headers=headers)
                assert response.status_code < 500, (case.operation.label, response.text)
                statuses.setdefault(case.operation.label, set()).add(response.status_code)
                case.validate_response(response, checks=[response_schema_conformance])

        run()
    assert 200 in statuses["PATCH /api/v1/submissions/{submission_id}"], statuses
    assert 422 in statuses["PATCH /api/v1/submissions/{submission_id}"], statuses
    assert 422 in statuses["POST /api/v1/submissions/{submission_id}/attachments"], statuses
