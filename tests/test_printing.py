"""Printable pages: a report, a design input and an evaluation's consolidated results.

Content only (no navigation, no forms); ILO-internal comments only for ILO staff who ask for
them, checked on the server; and each printable page answers everybody as the page it prints.
"""

from __future__ import annotations

import re

import pytest

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import (
    DesignInputItem,
    DesignItemKind,
    Disposition,
    EvaluationStatus,
    Status,
    SubmissionKind,
)
from tests import evaluation_world
from tests.submissions_world import NARRATIVE, PEOPLE, add_submission, build_world, post, signed_in
from tests.test_evaluations_results import fixed_scorecards

# The printed layout and who may print; the figures printed are those of the pages, checked on both
# databases elsewhere.
pytestmark = pytest.mark.same_on_every_database

CONTROLS = re.compile(r"<(nav|form|button|input|select|textarea)\b", re.I)
SHARED = "Please add the Kisumu committee."
INTERNAL = "Between us: the union is under pressure from the ministry."


def _controls(html: str) -> list[str]:
    return CONTROLS.findall(html)


@pytest.fixture
def world(make):
    return build_world(make)


def _commented_report(app, login, world) -> int:
    """A submitted report with one shared and one ILO-internal comment, written by the specialist."""
    sub_id = add_submission(app, world, Status.submitted)
    specialist = signed_in(app, login, world, "specialist")
    for body, visibility in ((SHARED, "shared"), (INTERNAL, "internal")):
        resp = post(specialist, f"/submissions/{sub_id}/comments", {"body": body, "visibility": visibility})
        assert resp.status_code == 302
    return sub_id


def test_the_printed_report_has_its_content_and_no_navigation_or_forms(app, login, world):
    sub_id = _commented_report(app, login, world)
    author = signed_in(app, login, world, "author")
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert f'href="/submissions/{sub_id}/print"' in page, "the report page links to its printable page"

    resp = author.get(f"/submissions/{sub_id}/print")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for text in NARRATIVE.values():
        assert text.replace("'", "&#39;") in html
    assert "Women members" in html and "Story of change" in html and "Bargaining began." in html
    row = re.search(r'<tr id="indicator-\d+" class="indicator-row">.*?1\.a.*?</tr>', html, re.S).group(0)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row)[1:4] == ["30", "18", "12"], "value, women, men"
    assert SHARED in html, "the conversation with the organisation is part of the report"
    assert _controls(html) == [], "no navigation and no forms on paper"
    assert f'href="/submissions/{sub_id}"' in html, "a way back on screen (not printed)"


def test_internal_comments_are_printed_only_for_ilo_staff_who_ask(app, login, world):
    sub_id = _commented_report(app, login, world)
    url = f"/submissions/{sub_id}/print"
    for who in ("author", "colleague"):
        reader = signed_in(app, login, world, who)
        for asked in (url, url + "?internal=1"):
            html = reader.get(asked).get_data(as_text=True)
            assert SHARED in html and INTERNAL not in html, (who, asked)
            assert "internal=1" not in html, "constituents are not offered the internal comments"
    for who in ("specialist", "admin"):
        staff = signed_in(app, login, world, who)
        html = staff.get(url).get_data(as_text=True)
        assert SHARED in html and INTERNAL not in html, f"{who}: not unless asked"
        assert f'href="{url}?internal=1"' in html, "ILO staff are offered them"
        html = staff.get(url + "?internal=1").get_data(as_text=True)
        assert INTERNAL in html and "not for sharing outside the ILO" in html
        assert _controls(html) == []


def test_the_printed_design_input_shows_the_items_and_the_ilo_responses(app, login, world):
    sub_id = add_submission(app, world, Status.submitted, kind=SubmissionKind.design_input)
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        db.session.add(
            DesignInputItem(
                submission_id=sub_id,
                kind=DesignItemKind.need,
                text="Training for women organisers in the informal economy.",
                disposition=Disposition.partly,
                response_reason="Kept for the second phase.",
                responded_by_id=world.users["specialist"],
            )
        )
        db.session.commit()
    html = signed_in(app, login, world, "author").get(f"/submissions/{sub_id}/print").get_data(as_text=True)
    assert "Training for women organisers in the informal economy." in html
    assert "Partly incorporated" in html and "Kept for the second phase." in html
    assert _controls(html) == []


@pytest.mark.parametrize("status", [Status.draft, Status.submitted, Status.approved])
def test_the_printed_report_answers_everybody_as_the_report_page(app, login, world, status):
    sub_id = add_submission(app, world, status)
    for who in PEOPLE:
        client = signed_in(app, login, world, who)
        page = client.get(f"/submissions/{sub_id}").status_code
        printed = client.get(f"/submissions/{sub_id}/print").status_code
        assert printed == page, (who, status)
    anonymous = app.test_client()
    assert anonymous.get(f"/submissions/{sub_id}/print").status_code == 302
    assert signed_in(app, login, world, "outsider").get(f"/submissions/{sub_id}/print").status_code == 404
    assert signed_in(app, login, world, "author").get("/submissions/999999/print").status_code == 404


# --- the consolidated results ---------------------------------------------------------------------


@pytest.fixture
def evaluation(app, make):
    return evaluation_world.build_world(app, make)


def test_the_printed_results_have_the_figures_and_no_forms(app, client, login, evaluation):
    evaluation_id = evaluation_world.add_evaluation(app, evaluation)
    fixed_scorecards(app, evaluation, evaluation_id)
    login(evaluation.emails["specialist"])
    page = client.get(f"/evaluations/{evaluation_id}/results").get_data(as_text=True)
    assert f'href="/evaluations/{evaluation_id}/results/print"' in page
    resp = client.get(f"/evaluations/{evaluation_id}/results/print")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Statistics per criterion and group" in html and "2.5 points between groups" in html
    assert "<svg" in html and "Una Union" in html, "the chart, and the names for a specialist"
    assert _controls(html) == [], "no download form, no navigation"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (who, status)
        for status in (EvaluationStatus.open, EvaluationStatus.closed)
        for who in ("specialist", "evaluator", "admin", "union1", "observer", "outsider")
    ],
)
def test_the_printed_results_answer_everybody_as_the_results_page(
    app, client, login, evaluation, who, status
):
    evaluation_id = evaluation_world.add_evaluation(app, evaluation, status=status)
    fixed_scorecards(app, evaluation, evaluation_id)
    login(evaluation.emails[who])
    page = client.get(f"/evaluations/{evaluation_id}/results")
    printed = client.get(f"/evaluations/{evaluation_id}/results/print")
    assert printed.status_code == page.status_code
    if who == "outsider":
        assert printed.status_code == 404, "a non-member may not learn that it exists"
    if page.status_code == 200:
        names = "Ugo Union" in page.get_data(as_text=True)
        assert ("Ugo Union" in printed.get_data(as_text=True)) is names
