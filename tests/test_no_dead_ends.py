"""No dead ends: every link a demo user is shown opens for that user.

A crawl from the home page, as each demo account, follows every same-site link on every page it
reaches and fails on any that answers 403, 404 or 500 — a tab, link or button the user may not
use should not be shown to them.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import EvaluationStatus, Project, ScorerGroup
from tests.crawl import walk
from tests.evaluation_world import add_evaluation, add_scorecard, build_world

DEAD = {403, 404, 500}


def _crawl(client) -> tuple[list[tuple[str, int, str]], int]:
    """Every dead link met (url, status, page it was found on), and how many pages were opened."""
    dead: list[tuple[str, int, str]] = []
    opened = 0
    for url, response, found_on in walk(client):
        opened += 1
        if response.status_code in DEAD:
            dead.append((url, response.status_code, found_on))
    return dead, opened


@pytest.mark.parametrize("email", [account[0] for account in DEMO_ACCOUNTS])
def test_no_link_shown_to_a_demo_user_is_a_dead_end(app, demo, client, login, email):
    login(email, DEMO_PASSWORD)
    dead, opened = _crawl(client)
    assert opened > 5, "the crawl should reach the pages linked from the home page"
    assert not dead, "\n".join(f"{status} {url} (linked from {page})" for url, status, page in dead)


def test_my_projects_on_the_home_page_open_the_project(app, demo, client, login):
    login("union@example.org", DEMO_PASSWORD)
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id).where(Project.reference == "RAF/22/11/NOR"))
    home = client.get("/").get_data(as_text=True)
    assert f'href="/projects/{project_id}"' in home


@pytest.fixture
def world(app, make):
    return build_world(app, make)


def test_a_closed_evaluation_tells_a_scorer_who_did_not_score_that_they_took_no_part(
    app, client, login, world
):
    evaluation_id = add_evaluation(app, world, status=EvaluationStatus.closed)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, {}, submitted=False)
    login(world.emails["union1"])
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "without your scores: your scorecard was not submitted" in page
    assert "once you have submitted" not in page


def test_an_open_evaluation_still_asks_a_scorer_to_submit_first(app, client, login, world):
    evaluation_id = add_evaluation(app, world, status=EvaluationStatus.open)
    add_scorecard(app, evaluation_id, world.users["union1"], ScorerGroup.workers, {}, submitted=False)
    login(world.emails["union1"])
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "You will see the results once you have submitted your own scorecard." in page


@pytest.mark.parametrize(
    ("who", "offered"), [("specialist", True), ("observer", False), ("evaluator", False)]
)
def test_a_project_without_an_evaluation_offers_to_open_one(app, client, login, world, who, offered):
    login(world.emails[who])
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    assert "No evaluation yet." in page
    assert (f'href="/projects/{world.project}/evaluations/new"' in page) is offered
