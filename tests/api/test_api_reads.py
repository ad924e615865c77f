"""The read endpoints show what the token's owner sees on the pages, no more: lists, details,
filters, cursor pagination, problem details, and the OpenAPI document."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import (
    Attachment,
    IndicatorValue,
    ProjectSector,
    Role,
    Submission,
    User,
)
from tests.api import parity
from tests.api.helpers import bearer, make_token, member, submitted_report

PROBLEM = "application/problem+json"


def _get(client, secret, url, **params):
    return client.get(url, headers=bearer(secret), query_string=params)


def _all(client, secret, url, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        resp = _get(client, secret, url, **params, **({"cursor": cursor} if cursor else {}))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        items += resp.json["items"]
        cursor = resp.json.get("next_cursor")
        if not cursor:
            return items


@pytest.fixture
def world(app, make):
    """A project with a partner union, a reporter, a specialist and reports; and another project."""
    union = make.organisation("Union")
    other_union = make.organisation("Other union")
    project = make.project("RAF/26/01/NOR", countries=("KE", "TZ"))
    other = make.project("RAF/26/02/NOR")
    make.partner(project, union)
    reporter = member(make, "rep@example.org", project, Role.reporter, union)
    other_reporter = member(make, "rep2@example.org", project, Role.reporter, other_union)
    specialist = member(make, "ilo@example.org", project, Role.specialist)
    outsider = member(make, "out@example.org", other, Role.reporter, other_union)
    result = make.result(project)
    indicator = make.indicator(result, baseline_value=10, target_value="1200.5", disaggregate_by_sex=True)
    period = make.period(project)
    draft = make.submission(
        project, union, reporter, period_id=period, narrative={"achievements": "Trained 40"}
    )
    theirs = submitted_report(make, project, other_union, other_reporter, period_id=period)
    with app.app_context():
        db.session.add(ProjectSector(project_id=project, code="16020", percentage=Decimal("100")))
        db.session.add(
            IndicatorValue(
                submission_id=draft,
                indicator_id=indicator,
                value=Decimal("45"),
                women=Decimal("20.5"),
                men=Decimal("24.5"),
            )
        )
        db.session.add(
            Attachment(
                submission_id=draft,
                filename="list.pdf",
                media_type="application/pdf",
                size=3,
                sha256="0" * 64,
                data=b"pdf",
                uploaded_by_id=reporter,
            )
        )
        db.session.commit()
    return {
        "project": project,
        "other": other,
        "reporter": reporter,
        "specialist": specialist,
        "outsider": outsider,
        "other_reporter": other_reporter,
        "draft": draft,
        "theirs": theirs,
        "period": period,
        "indicator": indicator,
    }


def test_a_project_with_its_partners_countries_sectors_framework_and_periods(app, client, world):
    secret = make_token(app, world["reporter"])
    projects = _all(client, secret, "/api/v1/projects")
    assert [p["reference"] for p in projects] == ["RAF/26/01/NOR"]
    project = _get(client, secret, f"/api/v1/projects/{world['project']}").json
    assert [c["country"] for c in project["countries"]] == ["KE", "TZ"]
    assert project["sectors"] == [{"code": "16020", "percentage": "100.00"}]
    assert [p["name"] for p in project["partners"]] == ["Union"]
    framework = _get(client, secret, f"/api/v1/projects/{world['project']}/framework").json
    indicator = framework["results"][0]["indicators"][0]
    assert indicator["target_value"] == "1200.5000" and indicator["baseline_value"] == "10.0000"
    periods = _get(client, secret, f"/api/v1/projects/{world['project']}/periods").json["items"]
    assert [p["label"] for p in periods] == ["2026 H1"] and periods[0]["due_date"] == "2026-07-31"


def test_a_project_the_owner_is_not_in_does_not_exist_for_the_api(app, client, world):
    secret = make_token(app, world["outsider"])
    for path in ("", "/framework", "/periods"):
        resp = _get(client, secret, f"/api/v1/projects/{world['project']}{path}")
        assert resp.status_code == 404 and resp.mimetype == PROBLEM
    assert _get(client, secret, f"/api/v1/submissions/{world['draft']}").status_code == 404
    assert _all(client, secret, "/api/v1/submissions") == []


def test_submissions_as_each_role_sees_them_with_values_narrative_and_files(app, client, world):
    reporter = make_token(app, world["reporter"])
    ids = {s["id"] for s in _all(client, reporter, "/api/v1/submissions")}
    assert ids == {world["draft"]}, "a reporter sees their organisation's reports only"
    detail = _get(client, reporter, f"/api/v1/submissions/{world['draft']}").json
    assert detail["narrative"] == {"achievements": "Trained 40"}
    assert detail["values"] == [
        {
            "indicator_id": world["indicator"],
            "value": "45.0000",
            "women": "20.5000",
            "men": "24.5000",
            "text_value": "",
            "not_reported": False,
            "comment": "",
        }
    ]
    assert [(a["filename"], a["size"]) for a in detail["attachments"]] == [("list.pdf", 3)]
    assert "data" not in detail["attachments"][0]
    assert _get(client, reporter, f"/api/v1/submissions/{world['theirs']}").status_code == 404

    specialist = make_token(app, world["specialist"])
    assert {s["id"] for s in _all(client, specialist, "/api/v1/submissions")} == {
        world["draft"],
        world["theirs"],
    }
    submitted = _all(client, specialist, "/api/v1/submissions", status="submitted")
    assert [s["id"] for s in submitted] == [world["theirs"]]
    assert _all(client, specialist, "/api/v1/submissions", project=world["other"]) == []
    assert len(_all(client, specialist, "/api/v1/submissions", period=world["period"])) == 2
    assert _all(client, specialist, "/api/v1/submissions", updated_since="2999-01-01T00:00:00Z") == []


def test_invalid_filters_are_422_problems_with_field_messages(app, client, world):
    secret = make_token(app, world["specialist"])
    resp = _get(client, secret, "/api/v1/submissions", status="lost", limit=0)
    assert resp.status_code == 422 and resp.mimetype == PROBLEM
    body = resp.json
    assert body["status"] == 422 and set(body["errors"]) == {"query.status", "query.limit"}
    resp = _get(client, secret, "/api/v1/submissions", updated_since="yesterday")
    assert resp.status_code == 422 and "query.updated_since" in resp.json["errors"]
    resp = _get(client, secret, "/api/v1/submissions", cursor="not-a-cursor")
    assert resp.status_code == 400 and resp.mimetype == PROBLEM


def test_cursor_pagination_is_stable_while_rows_are_added(app, client, make, world):
    admin = make.user("admin@example.org", is_admin=True)
    for n in range(5):
        make.project(f"RAF/26/{10 + n:02d}/NOR")
    secret = make_token(app, admin)
    first = _get(client, secret, "/api/v1/projects", limit=3).json
    seen = [p["reference"] for p in first["items"]]
    assert seen == ["RAF/26/01/NOR", "RAF/26/02/NOR", "RAF/26/10/NOR"]
    # Added meanwhile: one before the cursor, one after.
    make.project("RAF/26/00/NOR")
    make.project("RAF/26/99/NOR")
    cursor = first["next_cursor"]
    while cursor:
        page = _get(client, secret, "/api/v1/projects", limit=3, cursor=cursor).json
        seen += [p["reference"] for p in page["items"]]
        cursor = page.get("next_cursor")
    assert seen == [
        "RAF/26/01/NOR",
        "RAF/26/02/NOR",
        "RAF/26/10/NOR",
        "RAF/26/11/NOR",
        "RAF/26/12/NOR",
        "RAF/26/13/NOR",
        "RAF/26/14/NOR",
        "RAF/26/99/NOR",
    ], "no repeats, no gaps among the rows that were there; the one added behind is not seen"

    # Reports are ordered by their last change: one changed meanwhile comes again at the end.
    listed = _get(client, secret, "/api/v1/submissions", limit=1).json
    assert [s["id"] for s in listed["items"]] == [world["draft"]]
    with app.app_context():
        db.session.get(Submission, world["draft"]).narrative = {"achievements": "Trained 45"}
        db.session.commit()
    rest = _all(client, secret, "/api/v1/submissions", cursor=listed["next_cursor"])
    assert [s["id"] for s in rest] == [world["theirs"], world["draft"]]


def test_the_audit_head_for_those_who_read_the_trail_or_export(app, client, make, world):
    from mel_app.audit import chain

    reporter, specialist = make_token(app, world["reporter"]), make_token(app, world["specialist"])
    resp = _get(client, specialist, "/api/v1/audit/head")
    assert resp.status_code == 200
    with app.app_context():
        event_id, digest = chain.head(db.session.connection())
    assert resp.json["hash"] == digest and resp.json["event_id"] == event_id
    resp = _get(client, reporter, "/api/v1/audit/head")
    assert resp.status_code in (200, 403) and resp.mimetype in ("application/json", PROBLEM)


def test_the_openapi_document_is_valid_3_1_and_its_page_is_readable(app, client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.json
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert "/api/v1/submissions/{submission_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "GET /api/v1/projects" in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "nothing loaded from elsewhere"


def test_parity_with_the_pages_for_every_demo_account(app, client, demo):
    """For each demo account, the projects and reports the API lists are those its pages list:
    the projects page, and the reports linked from each project's status grid; and the status
    grid, the evaluations and the ILO's responses to design input are those its pages show."""
    from tests.conftest import csrf_token

    design_inputs = 0
    for email, *_rest in DEMO_ACCOUNTS:
        with app.app_context():
            user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        secret = make_token(app, user_id)
        browser = app.test_client()
        resp = browser.post(
            "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_token(browser)}
        )
        assert resp.status_code == 302
        page = browser.get("/projects").get_data(as_text=True)
        api_projects = _all(client, secret, "/api/v1/projects")
        api_refs = {p["reference"] for p in api_projects}
        page_refs = set(re.findall(r"[A-Z]{3}/\d\d/\d\d/[A-Z]{3}", page))
        assert api_refs == page_refs, email
        linked: set[int] = set()
        for project in api_projects:
            html = browser.get(f"/projects/{project['id']}").get_data(as_text=True)
            # The project page shows the latest periods of the grid; this page every one of them.
            grid_html = browser.get(f"/projects/{project['id']}/reporting-status").get_data(as_text=True)
            linked |= {int(n) for n in re.findall(r'href="/submissions/(\d+)"', html + grid_html)}
            parity.assert_status_grid_as_on_the_page(client, browser, secret, project["id"], grid_html)
        parity.assert_evaluations_as_on_the_pages(client, browser, secret)
        design_inputs += parity.assert_design_input_responses_as_on_the_pages(client, browser, secret)
        listed = _all(client, secret, "/api/v1/submissions", kind="progress_report")
        # The grid shows a withdrawn report as none; the API lists it, and its page opens.
        assert {s["id"] for s in listed if s["status"] != "withdrawn"} == linked, email
        for withdrawn in (s["id"] for s in listed if s["status"] == "withdrawn"):
            assert browser.get(f"/submissions/{withdrawn}").status_code == 200, email
    assert design_inputs, "the demo's design input was compared"
