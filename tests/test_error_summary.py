"""Errors you can see: every form shown again with errors starts the page with an error summary
(GOV.UK Design System) that lists every error as a link to its field, and the title says "Error:"."""

from __future__ import annotations

import pytest

from mel_app.exports.iati_codes import SECTORS
from mel_app.models import Role, Status
from tests.error_pages import assert_summary_links_every_error, error_summary, title
from tests.submissions_world import (
    add_submission,
    build_world,
    post,
    report_payload,
    signed_in,
    state,
)

# How a form shows its errors: the same whichever database held the rows.
pytestmark = pytest.mark.same_on_every_database


@pytest.fixture
def world(make):
    return build_world(make)


def test_the_report_form_lists_and_links_every_error_of_its_fields_and_indicator_rows(app, login, world):
    sub_id = add_submission(app, world, Status.draft, complete=False)
    author = signed_in(app, login, world, "author")
    ids = world.indicators
    data = report_payload(
        world,
        state(app, sub_id)[1],
        challenges="x" * 20_001,
        **{
            f"ind_{ids['1.a']}-women": "-3",
            f"ind_{ids['1.b']}-value": "101",
            f"ind_{ids['1.c']}-value": "2",
            f"ind_{ids['1.d']}-text_value": "",
            f"ind_{ids['1.d']}-not_reported": "y",
            f"ind_{ids['1.d']}-comment": "",
        },
    )
    resp = post(author, f"/submissions/{sub_id}/save", data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    summary = assert_summary_links_every_error(
        page,
        {
            "challenges": "20000",
            f"ind_{ids['1.a']}-women": "Cannot be negative.",
            f"ind_{ids['1.b']}-value": "A percentage is between 0 and 100.",
            f"ind_{ids['1.c']}-value": "Not a valid choice",
            f"ind_{ids['1.d']}-comment": "Say why this indicator is not reported.",
        },
    )
    assert len(summary.links) == 5, summary.links
    # In the order of the page, each naming its field.
    assert [href for href, _text in summary.links] == [
        "#challenges",
        f"#ind_{ids['1.a']}-women",
        f"#ind_{ids['1.b']}-value",
        f"#ind_{ids['1.c']}-value",
        f"#ind_{ids['1.d']}-comment",
    ]
    assert summary.links[1][1].startswith("1.a: women")
    assert summary.position < page.index('id="edit"'), "the summary is above the form"
    assert "Please correct the errors below." not in page


def test_a_form_without_errors_has_no_summary_and_a_plain_title(app, login, world):
    sub_id = add_submission(app, world, Status.draft, complete=False)
    author = signed_in(app, login, world, "author")
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert error_summary(page) is None
    assert not title(page).startswith("Error")


def test_the_project_form_lists_and_links_every_error(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    resp = post(
        "/projects/new",
        {
            "reference": "RAF-23-05-FIN",
            "title": "",
            "funding_modality": "XBDC",
            "countries": ["XX"],
            "start_date": "someday",
            "phase": "design",
        },
    )
    assert resp.status_code == 422
    assert_summary_links_every_error(
        resp.get_data(as_text=True),
        {
            "reference": "e.g. RAF/22/11/NOR",
            "title": "This field is required",
            "countries": "is not a valid choice",
            "start_date": "Not a valid date",
        },
    )


def test_an_administration_form_lists_and_links_every_error(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    resp = post(
        "/admin/organisations/new", {"name": "", "acronym": "A" * 41, "group": "pirates", "country": "ZZ"}
    )
    assert resp.status_code == 400
    summary = assert_summary_links_every_error(
        resp.get_data(as_text=True),
        {
            "name": "This field is required",
            "acronym": "40",
            "group": "Not a valid choice",
            "country": "Not a valid choice",
        },
    )
    assert len(summary.links) == 4


def test_the_members_form_links_its_errors(app, client, make, login, post):
    spec = make.user("spec@example.org")
    project = make.project("RAF/22/11/NOR")
    make.member(spec, project, Role.specialist)
    login("spec@example.org")
    resp = post(f"/projects/{project}/members", {"email": "not an email", "role": "reporter"})
    assert resp.status_code == 400
    assert_summary_links_every_error(resp.get_data(as_text=True), {"email": "Invalid email address"})
    resp = post(f"/projects/{project}/members", {"email": "new@example.org", "role": "reporter"})
    assert resp.status_code == 400
    assert_summary_links_every_error(
        resp.get_data(as_text=True), {"organisation_id": "A reporter reports for an organisation"}
    )


# --- every refused action says why where the user is looking --------------------------------------


def test_returning_a_report_without_a_reason_says_so_at_the_top_and_keeps_the_other_forms(app, login, world):
    sub_id = add_submission(app, world, Status.submitted)
    specialist = signed_in(app, login, world, "specialist")
    version = state(app, sub_id)[1]
    resp = post(specialist, f"/submissions/{sub_id}/return", {"version": str(version), "comment": "  "})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    summary = assert_summary_links_every_error(
        page, {"return-comment": "What needs to change — Say what needs to change before returning it."}
    )
    assert summary.position < page.index("<h1"), "the message is the first thing on the page"
    assert state(app, sub_id) == (Status.submitted, version), "nothing happened"


@pytest.mark.parametrize(
    ("action", "field_id"),
    [("approve", None), ("reopen", "reopen-reason"), ("comments", "comment-body")],
)
def test_other_refused_reviews_and_comments_say_why_at_the_top(app, login, world, action, field_id):
    status = Status.approved if action == "reopen" else Status.submitted
    sub_id = add_submission(app, world, status)
    specialist = signed_in(app, login, world, "specialist")
    version = state(app, sub_id)[1]
    data = {"version": str(version), "reason": "", "body": "", "comment": "x" * 6000, "visibility": "shared"}
    resp = post(specialist, f"/submissions/{sub_id}/{action}", data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    summary = error_summary(page)
    assert summary is not None and summary.position < page.index("<h1")
    if field_id:
        assert any(href == f"#{field_id}" for href, _text in summary.links), summary.links
    assert title(page).startswith("Error: ")


def test_an_incomplete_scorecard_links_each_missing_point_and_justification(app, client, login, post, make):
    from tests.evaluation_world import ScorerGroup, add_evaluation, add_scorecard
    from tests.evaluation_world import build_world as build_evaluation_world

    world = build_evaluation_world(app, make)
    evaluation_id = add_evaluation(app, world)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, submitted=False)
    login(world.emails["union1"])
    rel, coh = world.criteria["REL"], world.criteria["COH"]
    data = {"version": "1", "submit_card": "x", f"point_{rel}": "6", f"justification_{rel}": "Our priorities"}
    resp = post(f"/evaluations/{evaluation_id}/scorecard", data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    summary = assert_summary_links_every_error(
        page,
        {
            f"point_{coh}-0": "Choose a point or “cannot assess”.",  # the first choice of the group
            f"justification_{coh}": "Give a justification.",
        },
    )
    assert f"#point_{rel}-0" not in [href for href, _text in summary.links], "answered: not listed"
    assert len(summary.links) == 2 * (len(world.criteria) - 1)
    assert "Our priorities" in page


def test_an_error_of_the_whole_project_form_links_to_the_shares_it_is_about(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    data = {
        "reference": "RAF/23/05/FIN",
        "title": "Trade agreements",
        "funding_modality": "XBDC",
        "countries": ["ZM"],
        "phase": "design",
        "sector_16070": "60",
        "sector_16080": "30",
    }
    resp = post("/projects/new", data)
    assert resp.status_code == 422
    assert_summary_links_every_error(
        resp.get_data(as_text=True),
        {f"sector_{next(iter(SECTORS))}": "The shares of the sectors add up to 90%"},  # the first row
    )
