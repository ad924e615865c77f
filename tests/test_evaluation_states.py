"""What the evaluation pages say when an evaluation closed without someone's scores, and how a
project without an evaluation gets one: "Open an evaluation" for those who may open one (its
specialists), a helpful empty state for everyone else."""

from __future__ import annotations

import re

import pytest

from mel_app.models import EvaluationStatus, ScorerGroup
from tests.evaluation_world import add_evaluation, add_scorecard, build_world


@pytest.fixture
def world(app, make):
    return build_world(app, make)


def test_a_closed_evaluation_tells_a_scorer_who_did_not_submit_what_they_can_see(app, client, login, world):
    evaluation_id = add_evaluation(app, world, status=EvaluationStatus.closed)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, {"REL": 4}, submitted=False)
    login(world.emails["union1"])
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "once you have submitted" not in page, "they no longer can"
    assert re.search(r"This evaluation closed on \d{1,2} \w+ \d{4} without your scores", page)
    assert "the results are not shown to you" in page
    # The link offered is one they may open: their own scorecard; never the results (403 for them).
    assert f'href="/evaluations/{evaluation_id}/scorecard"' in page
    assert client.get(f"/evaluations/{evaluation_id}/scorecard").status_code == 200
    assert f'href="/evaluations/{evaluation_id}/results"' not in page
    assert client.get(f"/evaluations/{evaluation_id}/results").status_code == 403


def test_a_closed_evaluation_offers_its_results_to_a_member_who_was_not_invited(app, client, login, world):
    evaluation_id = add_evaluation(app, world, status=EvaluationStatus.closed)
    login(world.emails["union2"])
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert f'href="/evaluations/{evaluation_id}/results"' in page
    assert client.get(f"/evaluations/{evaluation_id}/results").status_code == 200
    assert "without your scores" not in page


@pytest.mark.parametrize(
    ("who", "offered"),
    [
        ("specialist", True),
        ("evaluator", False),
        ("union1", False),
        ("observer", False),
        ("admin", False),
    ],
)
def test_open_an_evaluation_is_offered_to_those_who_may_open_one(app, client, login, world, who, offered):
    login(world.emails[who])
    new_url = f"/projects/{world.project}/evaluations/new"
    for url in (f"/projects/{world.project}", f"/projects/{world.project}/evaluations"):
        page = client.get(url).get_data(as_text=True)
        assert (f'href="{new_url}"' in page) is offered, url
        assert ("The project's ACTRAV specialists open its evaluations." in page) is not offered, url
    assert client.get(new_url).status_code == (200 if offered else 403)


def test_a_project_with_evaluations_still_offers_to_open_another_and_lists_them_all(
    app, client, login, world
):
    add_evaluation(app, world, status=EvaluationStatus.closed)
    login(world.emails["specialist"])
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    assert f'href="/projects/{world.project}/evaluations/new"' in page
    assert f'href="/projects/{world.project}/evaluations"' in page


def test_a_specialist_still_scoring_is_offered_no_link_to_others_scorecards_they_may_not_open(
    app, client, login, world
):
    """Blind scoring holds for the project's specialists too: while their own scorecard is a draft,
    the evaluation page links to nobody else's submitted scorecard (which would answer 403)."""
    evaluation_id = add_evaluation(app, world)
    add_scorecard(app, evaluation_id, world.users["specialist"], ScorerGroup.ilo, {"REL": 3}, submitted=False)
    other = add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, {"REL": 4})
    login(world.emails["specialist"])
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert f"/evaluations/{evaluation_id}/scorecards/{other}" not in page
    assert client.get(f"/evaluations/{evaluation_id}/scorecards/{other}").status_code == 403


@pytest.mark.parametrize(("who", "offered"), [("specialist", True), ("admin", True), ("evaluator", False)])
def test_the_history_of_an_evaluation_is_offered_to_those_who_may_read_it(
    app, client, login, world, who, offered
):
    evaluation_id = add_evaluation(app, world)
    login(world.emails[who])
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    history = f"/history/evaluation/{evaluation_id}"
    assert (history in page) is offered
