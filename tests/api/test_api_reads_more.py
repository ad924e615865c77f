"""The status grid, the ILO's responses to design input and the evaluations through the API: each
role sees what the pages show it, and no more."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from mel_app import audit
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    ActionStatus,
    Comment,
    DesignInputItem,
    DesignItemKind,
    Disposition,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    OrgGroup,
    Recommendation,
    ResponseKind,
    Role,
    ScorerGroup,
    Status,
    SubmissionKind,
    User,
    Visibility,
    utcnow,
)
from tests.api.helpers import bearer, make_token, member
from tests.evaluation_world import add_scorecard

PROBLEM = "application/problem+json"
PAST = {"start": date(2020, 1, 1), "end": date(2020, 6, 30), "due": date(2020, 7, 31)}
FUTURE = {"start": date(2099, 1, 1), "end": date(2099, 6, 30), "due": date(2099, 7, 31)}


def _get(client, secret, url, **params):
    return client.get(url, headers=bearer(secret), query_string=params or None)


@pytest.fixture
def world(app, make):
    """A project whose partners are two unions and a donor, a member of each role, and reports:
    the union's approved for the past period and a draft for the next; the other union's draft,
    overdue, for the past period."""
    union = make.organisation("Union")
    other_union = make.organisation("Other union")
    donor = make.organisation("Donor", group=OrgGroup.donor)
    project = make.project("RAF/26/01/NOR")
    elsewhere = make.project("RAF/26/02/NOR")
    for org in (union, other_union, donor):
        make.partner(project, org)
    people = {
        "reporter": member(make, "rep@example.org", project, Role.reporter, union),
        "other_reporter": member(make, "rep2@example.org", project, Role.reporter, other_union),
        "specialist": member(make, "ilo@example.org", project, Role.specialist),
        "evaluator": member(make, "eva@example.org", project, Role.evaluator),
        "observer": member(make, "obs@example.org", project, Role.observer),
        "outsider": member(make, "out@example.org", elsewhere, Role.specialist),
        "admin": make.user("admin@example.org", is_admin=True),
    }
    past = make.period(project, "2020 H1", **PAST)
    future = make.period(project, "2099 H1", **FUTURE)
    approved = make.submission(
        project,
        union,
        people["reporter"],
        period_id=past,
        status=Status.approved,
        submitted_at=utcnow(),
        approved_at=utcnow(),
        approved_by_id=people["specialist"],
    )
    draft = make.submission(project, union, people["reporter"], period_id=future)
    overdue = make.submission(project, other_union, people["other_reporter"], period_id=past)
    return {
        "project": project,
        "orgs": {"union": union, "other_union": other_union},
        "people": people,
        "periods": (past, future),
        "reports": {"approved": approved, "draft": draft, "overdue": overdue},
    }


def _token(app, world, who, scopes=("read",)):
    return make_token(app, world["people"][who], scopes=scopes)


def _name(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).display_name


# --- the status grid ----------------------------------------------------------------------------


def _cells(grid) -> dict[tuple[str, int], tuple[str, str | None, int | None]]:
    return {
        (row["organisation"]["name"], cell["period_id"]): (
            cell["status"],
            cell["submission_status"],
            cell["submission_id"],
        )
        for row in grid["rows"]
        for cell in row["cells"]
    }


def test_the_status_grid_for_the_specialist_every_partner_that_reports_and_every_report(app, client, world):
    grid = _get(client, _token(app, world, "specialist"), f"/api/v1/projects/{world['project']}/status-grid")
    assert grid.status_code == 200, grid.get_data(as_text=True)
    body = grid.json
    past, future = world["periods"]
    reports = world["reports"]
    assert [p["id"] for p in body["periods"]] == [past, future]
    assert [p["due_date"] for p in body["periods"]] == ["2020-07-31", "2099-07-31"]
    assert [r["organisation"]["name"] for r in body["rows"]] == ["Other union", "Union"], "no donor row"
    assert body["partial"] is False and body["as_of"] == datetime.now(UTC).date().isoformat()
    assert _cells(body) == {
        ("Other union", past): ("overdue", "draft", reports["overdue"]),
        ("Other union", future): ("not_started", None, None),
        ("Union", past): ("approved", "approved", reports["approved"]),
        ("Union", future): ("draft", "draft", reports["draft"]),
    }
    overdue = next(c for r in body["rows"] for c in r["cells"] if c["status"] == "overdue")
    assert overdue["overdue"] is True


def test_a_reporter_sees_their_own_organisations_row_only(app, client, world):
    past, future = world["periods"]
    reports = world["reports"]
    url = f"/api/v1/projects/{world['project']}/status-grid"
    mine = _get(client, _token(app, world, "reporter"), url).json
    assert mine["partial"] is True
    assert _cells(mine) == {
        ("Union", past): ("approved", "approved", reports["approved"]),
        ("Union", future): ("draft", "draft", reports["draft"]),
    }
    theirs = _get(client, _token(app, world, "other_reporter"), url).json
    assert _cells(theirs) == {
        ("Other union", past): ("overdue", "draft", reports["overdue"]),
        ("Other union", future): ("not_started", None, None),
    }


def test_evaluators_and_observers_see_every_cell_but_open_approved_reports_only(app, client, world):
    past, future = world["periods"]
    reports = world["reports"]
    for who in ("evaluator", "observer"):
        body = _get(client, _token(app, world, who), f"/api/v1/projects/{world['project']}/status-grid").json
        assert body["partial"] is False, who
        assert _cells(body) == {
            ("Other union", past): ("overdue", "draft", None),
            ("Other union", future): ("not_started", None, None),
            ("Union", past): ("approved", "approved", reports["approved"]),
            ("Union", future): ("draft", "draft", None),
        }, who


def test_the_status_grid_of_a_project_one_is_not_in_does_not_exist(app, client, world):
    url = f"/api/v1/projects/{world['project']}/status-grid"
    resp = _get(client, _token(app, world, "outsider"), url)
    assert resp.status_code == 404 and resp.mimetype == PROBLEM
    assert _get(client, _token(app, world, "admin"), url).status_code == 200
    assert _get(client, _token(app, world, "admin"), "/api/v1/projects/999999/status-grid").status_code == 404
    no_read = _get(client, _token(app, world, "specialist", scopes=("review",)), url)
    assert no_read.status_code == 403 and no_read.json["type"].endswith("insufficient-scope")


def test_the_status_grid_costs_the_same_queries_whatever_the_size_of_the_project(
    app, client, make, world, queries
):
    secret = _token(app, world, "specialist")
    url = f"/api/v1/projects/{world['project']}/status-grid"
    _get(client, secret, url)  # the token's first use of the minute is recorded once
    with queries() as small:
        assert _get(client, secret, url).status_code == 200
    reporter = world["people"]["reporter"]
    periods = [
        make.period(
            world["project"],
            f"2098 P{n}",
            start=date(2098, n, 1),
            end=date(2098, n, 20),
            due=date(2098, n, 28),
        )
        for n in range(1, 9)
    ]
    for n in range(12):
        org = make.organisation(f"Union {n:02d}")
        make.partner(world["project"], org)
        for period in periods[: n % 4 + 1]:
            make.submission(world["project"], org, reporter, period_id=period)
    with queries() as large:
        grid = _get(client, secret, url).json
    assert len(grid["rows"]) == 14 and len(grid["periods"]) == 10
    assert len(large) == len(small), (len(small), len(large))


# --- the ILO's responses to design input -----------------------------------------------------------

INTERNAL = "Internal: their federation is split on this, keep it between us."
SHARED = "Thank you: we took the training need on board."


@pytest.fixture
def design(app, make, world):
    """The union's design input, approved, with two items (one answered) and a shared and an
    internal comment; and the other union's, submitted."""
    people, orgs = world["people"], world["orgs"]
    theirs = make.submission(
        world["project"],
        orgs["other_union"],
        people["other_reporter"],
        kind=SubmissionKind.design_input,
        status=Status.submitted,
        submitted_at=utcnow(),
    )
    ours = make.submission(
        world["project"],
        orgs["union"],
        people["reporter"],
        kind=SubmissionKind.design_input,
        status=Status.approved,
        submitted_at=utcnow(),
        approved_at=utcnow(),
        approved_by_id=people["specialist"],
    )
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        db.session.add_all(
            [
                DesignInputItem(
                    submission_id=ours,
                    position=0,
                    kind=DesignItemKind.need,
                    text="Training for shop stewards.",
                    disposition=Disposition.incorporated,
                    response_reason="Included as output 1.1.",
                    responded_by_id=people["specialist"],
                    responded_at=utcnow(),
                ),
                DesignInputItem(submission_id=ours, position=1, kind=DesignItemKind.risk, text="Elections."),
                Comment(submission_id=ours, author_id=people["specialist"], body=SHARED, section="items"),
                Comment(
                    submission_id=ours,
                    author_id=people["specialist"],
                    body=INTERNAL,
                    visibility=Visibility.internal,
                ),
            ]
        )
        db.session.commit()
    return {"ours": ours, "theirs": theirs}


def _responses(client, secret, sub_id):
    return _get(client, secret, f"/api/v1/submissions/{sub_id}/responses")


def test_the_organisation_reads_the_ilo_responses_and_the_shared_comments(app, client, world, design):
    resp = _responses(client, _token(app, world, "reporter"), design["ours"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.json
    assert body["status"] == "approved"
    answered, open_item = body["items"]
    assert (answered["kind"], answered["text"]) == ("need", "Training for shop stewards.")
    assert answered["response"]["disposition"] == "incorporated"
    assert answered["response"]["reason"] == "Included as output 1.1."
    assert answered["response"]["responded_by"] == _name(app, world["people"]["specialist"])
    assert open_item["response"] is None
    assert [(c["body"], c["visibility"], c["section"]) for c in body["comments"]] == [
        (SHARED, "shared", "items")
    ]


def test_an_internal_comment_never_reaches_a_reporter(app, client, world, design):
    reporter = _token(app, world, "reporter")
    for url in (
        f"/api/v1/submissions/{design['ours']}/responses",
        f"/api/v1/submissions/{design['ours']}",
        "/api/v1/submissions?kind=design_input",
    ):
        text = _get(client, reporter, url).get_data(as_text=True)
        assert INTERNAL not in text and "internal" not in text, url
    for who in ("specialist", "admin"):
        comments = _responses(client, _token(app, world, who), design["ours"]).json["comments"]
        assert [(c["body"], c["visibility"]) for c in comments] == [
            (SHARED, "shared"),
            (INTERNAL, "internal"),
        ], who


def test_readers_of_approved_design_input_see_the_responses_not_the_conversation(app, client, world, design):
    for who in ("evaluator", "observer"):
        body = _responses(client, _token(app, world, who), design["ours"]).json
        assert body["items"][0]["response"]["disposition"] == "incorporated", who
        assert body["comments"] is None, who
        assert _responses(client, _token(app, world, who), design["theirs"]).status_code == 404, who


def test_responses_of_design_input_one_may_not_see_do_not_exist(app, client, world, design):
    assert _responses(client, _token(app, world, "other_reporter"), design["ours"]).status_code == 404
    assert _responses(client, _token(app, world, "other_reporter"), design["theirs"]).status_code == 200
    assert _responses(client, _token(app, world, "reporter"), design["theirs"]).status_code == 404
    resp = _responses(client, _token(app, world, "outsider"), design["ours"])
    assert resp.status_code == 404 and resp.mimetype == PROBLEM
    # A progress report has no item responses.
    specialist = _token(app, world, "specialist")
    assert _responses(client, specialist, world["reports"]["approved"]).status_code == 404
    assert _responses(client, specialist, 999999).status_code == 404
    no_read = _responses(client, _token(app, world, "reporter", scopes=("report",)), design["ours"])
    assert no_read.status_code == 403


# --- evaluations -------------------------------------------------------------------------------------


def _evaluation(app, world, title: str, status: EvaluationStatus) -> int:
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        criteria_set, scale = ensure_defaults()
        closed = status is EvaluationStatus.closed
        specialist = world["people"]["specialist"]
        evaluation = Evaluation(
            project_id=world["project"],
            kind=EvaluationKind.mid_term,
            title=title,
            criteria_set_id=criteria_set.id,
            scale_id=scale.id,
            status=status,
            opened_by_id=specialist,
            closed_by_id=specialist if closed else None,
            closed_at=utcnow() if closed else None,
        )
        db.session.add(evaluation)
        db.session.commit()
        return evaluation.id


def _recommend(app, world, evaluation_id: int, text: str, *, respond: bool) -> int:
    people = world["people"]
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        rec = Recommendation(
            evaluation_id=evaluation_id,
            text=text,
            addressed_to="ILO ACTRAV",
            addressed_organisation_id=world["orgs"]["union"] if respond else None,
            created_by_id=people["evaluator"],
        )
        if respond:
            rec.response, rec.responded_by_id = ResponseKind.accepted, people["specialist"]
            rec.planned_action, rec.action_status = "Train the trainers.", ActionStatus.in_progress
            rec.due_date = date(2099, 1, 31)
        db.session.add(rec)
        db.session.commit()
        return rec.id


# The points of each scorer who submits, for the first three criteria (None: cannot assess).
POINTS = {
    "evaluator": {"REL": 5, "COH": 4, "EFF": 2},
    "specialist": {"REL": 5, "COH": 5, "EFF": None},
    "reporter": {"REL": 2, "COH": 3, "EFF": 2},
}


@pytest.fixture
def evaluations(app, world):
    """`open`: the evaluator, the specialist and the union's reporter have submitted, the other
    union's reporter is still scoring. `closed`: the same, closed with the other union's card
    left as a draft, and two recommendations (one answered, addressed to the union). `blind`:
    open, the specialist has submitted, the evaluator is still scoring."""
    people = world["people"]
    groups = {
        "evaluator": ScorerGroup.independent,
        "specialist": ScorerGroup.ilo,
        "reporter": ScorerGroup.workers,
        "other_reporter": ScorerGroup.workers,
    }
    ids = {}
    for key, status in (("open", EvaluationStatus.open), ("closed", EvaluationStatus.closed)):
        ids[key] = _evaluation(app, world, f"Evaluation {key}", status)
        for who, points in POINTS.items():
            add_scorecard(app, ids[key], people[who], groups[who], points)
        add_scorecard(
            app, ids[key], people["other_reporter"], ScorerGroup.workers, {"REL": 6}, submitted=False
        )
    ids["blind"] = _evaluation(app, world, "Evaluation blind", EvaluationStatus.open)
    add_scorecard(app, ids["blind"], people["specialist"], ScorerGroup.ilo, {"REL": 1})
    add_scorecard(
        app, ids["blind"], people["evaluator"], ScorerGroup.independent, {"REL": 6}, submitted=False
    )
    ids["answered"] = _recommend(app, world, ids["closed"], "Hand the network over.", respond=True)
    ids["unanswered"] = _recommend(app, world, ids["closed"], "Add a country.", respond=False)
    return ids


def _detail(app, client, world, who, evaluation_id):
    resp = _get(client, _token(app, world, who), f"/api/v1/evaluations/{evaluation_id}")
    assert resp.status_code == 200, (who, resp.get_data(as_text=True))
    return resp.json


def test_evaluations_listed_for_the_members_of_their_project_only(app, client, world, evaluations):
    every = {evaluations[k] for k in ("open", "closed", "blind")}
    for who in ("reporter", "other_reporter", "specialist", "evaluator", "observer", "admin"):
        listed = _get(client, _token(app, world, who), "/api/v1/evaluations").json
        assert {e["id"] for e in listed["items"]} == every, who
    assert _get(client, _token(app, world, "outsider"), "/api/v1/evaluations").json["items"] == []
    for key in ("open", "closed"):
        resp = _get(client, _token(app, world, "outsider"), f"/api/v1/evaluations/{evaluations[key]}")
        assert resp.status_code == 404 and resp.mimetype == PROBLEM
    assert _get(client, _token(app, world, "admin"), "/api/v1/evaluations/999999").status_code == 404


def test_evaluations_filtered_by_project_and_status_and_paged(app, client, world, evaluations):
    secret = _token(app, world, "specialist")
    closed = _get(client, secret, "/api/v1/evaluations", status="closed").json["items"]
    assert [(e["id"], e["project_reference"]) for e in closed] == [(evaluations["closed"], "RAF/26/01/NOR")]
    assert _get(client, secret, "/api/v1/evaluations", project=world["project"] + 1).json["items"] == []
    seen, cursor = [], None
    while True:
        page = _get(
            client, secret, "/api/v1/evaluations", limit=1, **({"cursor": cursor} if cursor else {})
        ).json
        seen += [e["id"] for e in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == [evaluations["open"], evaluations["closed"], evaluations["blind"]], "oldest first"
    resp = _get(client, secret, "/api/v1/evaluations", status="lost")
    assert resp.status_code == 422 and "query.status" in resp.json["errors"]


def _group_means(body) -> dict[str, dict[str, float | None]]:
    return {c["code"]: {g["group"]: g["mean"] for g in c["groups"]} for c in body["results"]["criteria"]}


def test_the_consolidated_results_give_every_groups_view_side_by_side(app, client, world, evaluations):
    body = _detail(app, client, world, "evaluator", evaluations["open"])
    assert body["results"]["groups"] == ["workers", "ilo", "independent"]
    means = _group_means(body)
    assert means["REL"] == {"workers": 2.0, "ilo": 5.0, "independent": 5.0}
    assert means["EFF"] == {"workers": 2.0, "ilo": None, "independent": 2.0}, "“cannot assess” is no point"
    rel = next(c for c in body["results"]["criteria"] if c["code"] == "REL")
    assert rel["overall"]["n"] == 3 and rel["divergent"] is True and rel["divergence"] == 3.0
    eff = next(c for c in body["results"]["criteria"] if c["code"] == "EFF")
    assert eff["overall"]["cannot_assess"] == 1
    assert {(p["group"], p["invited"], p["submitted"]) for p in body["results"]["participation"]} == {
        ("workers", 2, 1),
        ("ilo", 1, 1),
        ("independent", 1, 1),
    }
    by_name = {card["scorer"]: card for card in body["results"]["individuals"]}
    assert len(by_name) == 3, "submitted scorecards only"
    assert [s["point"] for s in by_name[_name(app, world["people"]["reporter"])]["scores"][:3]] == [2, 3, 2]
    assert body["own_scorecard"]["status"] == "submitted"
    assert len(body["scorecards"]) == 4 and body["recommendations"] == []


def test_blind_scoring_whoever_still_scores_sees_no_one_elses_scores(app, client, world, evaluations):
    url = f"/api/v1/evaluations/{evaluations['blind']}"
    text = _get(client, _token(app, world, "evaluator"), url).get_data(as_text=True)
    blind = json.loads(text)
    assert blind["own_scorecard"]["status"] == "draft"
    assert blind["results"] is None and blind["recommendations"] is None and blind["scorecards"] is None
    assert '"point"' not in text and "Reason for" not in text and '"mean"' not in text
    # Still scoring in the open evaluation, then left as a draft when it closed: nothing, ever.
    for key in ("open", "closed"):
        body = _detail(app, client, world, "other_reporter", evaluations[key])
        assert body["own_scorecard"]["status"] == "draft", key
        assert body["results"] is None and body["recommendations"] is None and body["scorecards"] is None, key
    # The specialist manages the blind evaluation: they see who scores (not a draft's scores).
    managed = _detail(app, client, world, "specialist", evaluations["blind"])
    assert sorted(c["status"] for c in managed["scorecards"]) == ["draft", "submitted"]
    assert [card["group"] for card in managed["results"]["individuals"]] == ["ilo"]


def test_constituents_and_observers_read_the_results_once_closed_without_names(
    app, client, world, evaluations
):
    for who in ("reporter", "observer"):
        still_open = _detail(app, client, world, who, evaluations["open"])
        assert still_open["results"] is None and still_open["recommendations"] is None, who
        closed = _detail(app, client, world, who, evaluations["closed"])
        assert _group_means(closed)["REL"] == {"workers": 2.0, "ilo": 5.0, "independent": 5.0}, who
        assert closed["results"]["individuals"] is None and closed["scorecards"] is None, who
    admin = _detail(app, client, world, "admin", evaluations["open"])
    assert admin["results"] is not None and admin["results"]["individuals"] is None
    assert admin["scorecards"] is None and admin["own_scorecard"] is None


def test_recommendations_with_their_addressee_and_management_response(app, client, world, evaluations):
    body = _detail(app, client, world, "reporter", evaluations["closed"])
    answered, unanswered = body["recommendations"]
    assert answered["text"] == "Hand the network over."
    assert answered["addressed_organisation"]["id"] == world["orgs"]["union"]
    assert answered["addressed_to"] == "ILO ACTRAV"
    assert answered["management_response"] == {
        "response": "accepted",
        "planned_action": "Train the trainers.",
        "due_date": "2099-01-31",
        "action_status": "in_progress",
    }
    assert unanswered["addressed_organisation"] is None and unanswered["management_response"] is None
