"""Projects: who may create and edit them, the list, the project page and the portfolio."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Evaluation,
    EvaluationKind,
    IndicatorValue,
    Measure,
    Membership,
    OrgGroup,
    Phase,
    Project,
    Role,
    Scale,
    Status,
)
from mel_app.projects.services import load_project_page, overdue_counts

TODAY = datetime.now(UTC).date()
EMAILS = {
    "specialist": "spec@example.org",
    "reporter": "rep@example.org",
    "evaluator": "eval@example.org",
    "observer": "obs@example.org",
    "outsider": "out@example.org",
    "admin": "admin@example.org",
}


@dataclass
class World:
    project: int
    other_project: int
    users: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(make) -> World:
    orgs = {
        "union": make.organisation("Kenya Union", OrgGroup.workers),
        "employers": make.organisation("Kenya Employers", OrgGroup.employers, country="KE"),
        "ilo": make.organisation("ILO", OrgGroup.ilo, country="CH"),
    }
    project = make.project("RAF/22/11/NOR", title="Workers rights in Africa", countries=("KE", "GH"))
    other = make.project(
        "INT/24/07/SSC", title="Small islands exchange", countries=("FJ",), phase=Phase.design
    )
    users = {
        "specialist": make.user("spec@example.org", organisation_id=orgs["ilo"]),
        "reporter": make.user("rep@example.org", organisation_id=orgs["union"]),
        "evaluator": make.user("eval@example.org"),
        "observer": make.user("obs@example.org"),
        "outsider": make.user("out@example.org"),
        "admin": make.user("admin@example.org", is_admin=True),
    }
    make.member(users["specialist"], project, Role.specialist)
    make.member(users["reporter"], project, Role.reporter, organisation_id=orgs["union"])
    make.member(users["evaluator"], project, Role.evaluator)
    make.member(users["observer"], project, Role.observer)
    make.partner(project, orgs["union"])
    make.partner(project, orgs["employers"])
    make.partner(project, orgs["ilo"])
    return World(project, other, users, orgs)


def _form(**kw):
    data = {
        "reference": "RAF/23/05/FIN",
        "title": "Trade agreements",
        "summary": "Unions and trade.",
        "donor": "Finland",
        "funding_modality": "XBDC",
        "countries": ["ZM", "GH"],
        "start_date": "2024-01-01",
        "end_date": "2027-12-31",
        "phase": "design",
    }
    data.update(kw)
    return data


# --- creating and editing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("specialist", 302), ("admin", 302), ("reporter", 403), ("outsider", 403)]
)
def test_who_may_create_a_project(client, login, post, world, who, status):
    login(EMAILS[who])
    assert client.get("/projects/new").status_code == (200 if status == 302 else 403)
    resp = post("/projects/new", _form())
    assert resp.status_code == status


def test_the_creator_becomes_specialist_and_the_creation_is_audited(app, client, login, post, world):
    login("admin@example.org")
    resp = post("/projects/new", _form(reference=" raf/23/05/fin "))
    assert resp.status_code == 302
    with app.app_context():
        project = db.session.scalar(sa.select(Project).where(Project.reference == "RAF/23/05/FIN"))
        assert project is not None, "the reference is stored upper-case and trimmed"
        assert project.country_codes == ["GH", "ZM"]
        role = db.session.scalar(
            sa.select(Membership.role).where(
                Membership.project_id == project.id, Membership.user_id == world.users["admin"]
            )
        )
        assert role is Role.specialist
        actions = set(
            db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.project_id == project.id))
        )
        assert {"project.create", "membership.create"} <= actions
    assert resp.location == f"/projects/{project.id}"
    page = client.get(resp.location).get_data(as_text=True)
    assert "Trade agreements" in page and "Zambia" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reference": "RAF-23-05-FIN"}, "e.g. RAF/22/11/NOR"),
        ({"reference": "RAF/22/11/NOR"}, "Another project has the reference"),
        ({"end_date": "2023-12-31"}, "must end after it starts"),
        ({"end_date": "2024-01-01"}, "must end after it starts"),
        ({"countries": ["XX"]}, "is not a valid choice"),
        ({"title": ""}, "This field is required"),
        ({"start_date": "someday"}, "Not a valid date"),
    ],
)
def test_invalid_project_forms_are_refused_with_the_input_kept(
    app, client, login, post, world, changes, message
):
    login("spec@example.org")
    resp = post("/projects/new", _form(**changes))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in page
    assert "Unions and trade." in page, "the user's input comes back"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 2


def test_specialist_edits_the_project_and_phase_moves_forward_only(app, client, login, post, world):
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}/edit")
    assert page.status_code == 200
    stamp = page.get_data(as_text=True).split('name="version" type="hidden" value="')[1].split('"')[0]
    data = _form(reference="RAF/22/11/NOR", title="Renamed", phase="implementation", version=stamp)
    assert post(f"/projects/{world.project}/edit", data).status_code == 302
    with app.app_context():
        project = db.session.get(Project, world.project)
        assert project.title == "Renamed" and project.phase is Phase.implementation
        stamp = str(project.version)
    back = post(f"/projects/{world.project}/edit", {**data, "phase": "design", "version": stamp})
    assert back.status_code == 422, "design is no longer a choice once implementation started"


def test_an_edit_racing_another_is_refused_with_the_input_kept(app, client, login, post, world):
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}/edit").get_data(as_text=True)
    stamp = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    first = _form(reference="RAF/22/11/NOR", title="First edit", phase="implementation", version=stamp)
    assert post(f"/projects/{world.project}/edit", first).status_code == 302
    second = post(f"/projects/{world.project}/edit", {**first, "title": "Second edit"})
    assert second.status_code == 409
    assert "Second edit" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Project, world.project).title == "First edit"


@pytest.mark.parametrize(
    ("who", "status"),
    [("specialist", 200), ("reporter", 403), ("observer", 403), ("admin", 403), ("outsider", 404)],
)
def test_only_the_projects_specialists_edit_it(client, login, world, who, status):
    login(EMAILS[who])
    assert client.get(f"/projects/{world.project}/edit").status_code == status
    assert client.get(f"/projects/{world.project}/framework").status_code == status
    assert client.get(f"/projects/{world.project}/periods").status_code == status
    assert client.get(f"/projects/{world.project}/partners").status_code == status


def test_the_partner_list_offers_the_projects_countries_and_any_country_on_request(
    app, make, client, login, post, world
):
    """A portfolio holds thousands of organisations: the page lists those of the project's own
    countries, the ILO's and international ones, and another country's when asked."""
    make.organisation("Fiji Union", OrgGroup.workers, country="FJ")
    fiji = make.organisation("Fiji Employers", OrgGroup.employers, country="FJ")
    make.organisation("Global Federation", OrgGroup.workers, country=None)
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}/partners").get_data(as_text=True)
    assert "Global Federation" in page
    assert "Fiji Union" not in page and "Fiji Employers" not in page
    listed = client.get(f"/projects/{world.project}/partners?country=fj").get_data(as_text=True)
    assert "Fiji Union" in listed and "Fiji Employers" in listed and "Global Federation" not in listed
    # A choice from another country's list is taken; a partner already is refused with the list kept.
    assert (
        post(f"/projects/{world.project}/partners?country=FJ", {"organisation_id": fiji}).status_code == 302
    )
    again = post(f"/projects/{world.project}/partners?country=FJ", {"organisation_id": fiji})
    assert again.status_code == 422
    assert "Fiji Union" in again.get_data(as_text=True)
    # A made-up number is refused like any choice not offered, not sent to the database.
    assert post(f"/projects/{world.project}/partners", {"organisation_id": "9" * 30}).status_code == 422
    # Nothing chosen: the page's list comes back with the error.
    empty = post(f"/projects/{world.project}/partners", {"organisation_id": ""})
    assert empty.status_code == 422
    assert "Global Federation" in empty.get_data(as_text=True)


def test_partners_are_added_and_removed_unless_they_reported(app, make, client, login, post, world):
    newcomer = make.organisation("Ghana Union", OrgGroup.workers, country="GH")
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}/partners").get_data(as_text=True)
    assert "Ghana Union" in page
    assert post(f"/projects/{world.project}/partners", {"organisation_id": newcomer}).status_code == 302
    with app.app_context():
        from mel_app.models import Partner

        partner_ids = dict(
            db.session.execute(
                sa.select(Partner.organisation_id, Partner.id).where(Partner.project_id == world.project)
            ).all()
        )
    assert newcomer in partner_ids
    resp = post(f"/projects/{world.project}/partners/{partner_ids[newcomer]}/remove")
    assert resp.status_code == 302
    # The union has a reporter in the project: it stays.
    resp = post(f"/projects/{world.project}/partners/{partner_ids[world.orgs['union']]}/remove")
    assert resp.status_code == 409
    assert "remove their membership first" in resp.get_data(as_text=True)


# --- list ----------------------------------------------------------------------------------------


def test_the_list_shows_only_my_projects_and_admins_see_all(client, login, post, world):
    login("rep@example.org")
    page = client.get("/projects").get_data(as_text=True)
    assert "RAF/22/11/NOR" in page and "INT/24/07/SSC" not in page
    assert "New project" not in page, "a reporter cannot create projects"
    post("/logout")
    login("admin@example.org")
    page = client.get("/projects").get_data(as_text=True)
    assert "RAF/22/11/NOR" in page and "INT/24/07/SSC" in page and "New project" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=islands", {"INT/24/07/SSC"}),
        ("q=raf/22", {"RAF/22/11/NOR"}),
        ("q=%25", set()),
        ("country=FJ", {"INT/24/07/SSC"}),
        ("country=GH", {"RAF/22/11/NOR"}),
        ("phase=design", {"INT/24/07/SSC"}),
        ("constituency=employers", {"RAF/22/11/NOR"}),
        ("constituency=government", set()),
        ("country=KE&phase=design", set()),
        ("country=nonsense&phase=nonsense", {"RAF/22/11/NOR", "INT/24/07/SSC"}),
    ],
)
def test_list_search_and_filters(client, login, world, query, expected):
    login("admin@example.org")
    page = client.get(f"/projects?{query}").get_data(as_text=True)
    shown = {ref for ref in ("RAF/22/11/NOR", "INT/24/07/SSC") if ref in page}
    assert shown == expected


def test_the_list_is_paginated(app, make, client, login, world):
    for n in range(30):
        make.project(f"GLO/25/{n + 100}/RBS", title=f"Bulk {n}")
    login("admin@example.org")
    first = client.get("/projects").get_data(as_text=True)
    second = client.get("/projects?page=2").get_data(as_text=True)
    assert first.count("/RBS</a>") + second.count("/RBS</a>") == 30
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert client.get("/projects?page=99").status_code == 200


# --- project page --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("specialist", 200),
        ("reporter", 200),
        ("evaluator", 200),
        ("observer", 200),
        ("admin", 200),
        ("outsider", 404),
    ],
)
def test_who_sees_the_project_page(client, login, world, who, status):
    login(EMAILS[who])
    assert client.get(f"/projects/{world.project}").status_code == status


def _report(make, world, org, period, status, values=(), author="reporter"):
    extra = {}
    if status in (Status.submitted, Status.approved):
        extra["submitted_at"] = datetime.now(UTC)
    if status is Status.approved:
        extra.update(approved_at=datetime.now(UTC), approved_by_id=world.users["specialist"])
    sub = make.submission(world.project, org, world.users[author], period_id=period, status=status, **extra)
    with make.app.app_context():
        for indicator, value in values:
            db.session.add(
                IndicatorValue(submission_id=sub, indicator_id=indicator, value=Decimal(str(value)))
            )
        db.session.commit()
    return sub


def test_project_page_shows_progress_of_approved_values_only_and_the_status_grid(make, client, login, world):
    outcome = make.result(world.project, "1", title="Unions are stronger")
    members = make.indicator(outcome, "1.a", title="Women members", baseline_value=100, target_value=200)
    harassment = make.indicator(
        outcome, "1.b", title="Open harassment cases", baseline_value=140, target_value=40, ascending=False
    )
    past = make.period(
        world.project, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), TODAY - timedelta(days=10)
    )
    current = make.period(
        world.project, "2026 H1", date(2026, 1, 1), date(2026, 6, 30), TODAY + timedelta(days=30)
    )
    approved = _report(
        make, world, world.orgs["union"], past, Status.approved, [(members, 150), (harassment, 90)]
    )
    _report(make, world, world.orgs["union"], current, Status.submitted, [(members, 199)])
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    assert "Women members" in page
    assert "50%" in page, "(150 - 100) / (200 - 100)"
    # The chart is on the indicator's page, linked from its row.
    indicator_url = f"/projects/{world.project}/indicators/{members}"
    assert f'href="{indicator_url}"' in page
    assert "<svg" in client.get(indicator_url).get_data(as_text=True)
    # As a figure, nowhere: the bare digits could be part of a token or an address on the page.
    assert ">199<" not in page and "199%" not in page, "a submitted (not approved) value never counts"
    # The grid: the union approved the past period and submitted the current one; the employers
    # reported nothing for the past period (overdue) and the current one is not due yet.
    grid = page.split('class="status-grid"')[1].split("</table>")[0]
    employers_row = grid.split("Kenya Employers")[1].split("</tr>")[0]
    union_row = grid.split("Kenya Union")[1].split("</tr>")[0]
    assert "Overdue" in employers_row and "Not started" in employers_row
    assert "Approved" in union_row and "Submitted" in union_row
    assert ">ILO<" not in grid, "the ILO does not report"
    assert f"/submissions/{approved}" not in page or "submissions.detail" in str(
        client.application.view_functions
    )


def test_a_long_project_page_shows_the_latest_periods_and_links_to_every_one(make, client, login, world):
    from mel_app.projects.services import GRID_PAGE_PERIODS, RECENT_GRID_PERIODS

    count = GRID_PAGE_PERIODS + 2
    labels = [f"{2010 + n // 2} H{n % 2 + 1}" for n in range(count)]
    for n, label in enumerate(labels):
        start = date(2010 + n // 2, 1 + 6 * (n % 2), 1)
        make.period(world.project, label, start, start + timedelta(days=180), start + timedelta(days=210))
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    grid = page.split('class="status-grid"')[1].split("</table>")[0]
    assert all(label in grid for label in labels[-RECENT_GRID_PERIODS:])
    assert labels[-RECENT_GRID_PERIODS - 1] not in grid
    earlier = count - RECENT_GRID_PERIODS
    assert f"{earlier} earlier periods are not" in page
    assert f"{2 * earlier} reports of those are overdue" in page, "two reporting partners, none reported"
    assert f'href="/projects/{world.project}/reporting-status"' in page
    # Every period, on pages of GRID_PAGE_PERIODS, the latest first.
    first = client.get(f"/projects/{world.project}/reporting-status").get_data(as_text=True)
    second = client.get(f"/projects/{world.project}/reporting-status?page=2").get_data(as_text=True)
    assert all(label in first for label in labels[-GRID_PAGE_PERIODS:]) and labels[1] not in first
    assert labels[0] in second and labels[1] in second and 'rel="prev"' in second
    assert 'rel="next"' in first and "Page 1 of 2." in first


def test_a_reporter_sees_only_their_organisations_row(make, client, login, world):
    make.period(world.project, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), TODAY - timedelta(days=10))
    login("rep@example.org")
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    grid = page.split('class="status-grid"')[1].split("</table>")[0]
    assert "Kenya Union" in grid and "Kenya Employers" not in grid
    assert "Edit details" not in page and "Results framework</a>" not in page


def test_links_to_other_features_appear_once_they_exist(app, make, client, login, world):
    from flask import Blueprint

    from config import TestingConfig
    from mel_app import create_app

    period = make.period(world.project, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), TODAY)
    sub = _report(make, world, world.orgs["union"], period, Status.draft)
    login("spec@example.org")
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    if "submissions.detail" not in app.view_functions:
        assert f"/submissions/{sub}" not in page, "no link to a page that does not exist"
    # The same page in an app where the submissions feature exists links each cell to its report.
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    if "submissions.detail" not in other.view_functions:
        bp = Blueprint("submissions", __name__)
        bp.add_url_rule("/submissions/<int:sub_id>", "detail", lambda sub_id: "ok")
        other.register_blueprint(bp)
    other_client = other.test_client()
    login("spec@example.org", on=other_client)
    page = other_client.get(f"/projects/{world.project}").get_data(as_text=True)
    assert f'href="/submissions/{sub}"' in page
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


# --- query counts --------------------------------------------------------------------------------


_batches = itertools.count(1)


def _grow(make, world, *, results: int, indicators: int, periods: int, organisations: int):
    """Add framework, periods, partners and reports to the world's project."""
    orgs = [world.orgs["union"]] + [
        make.organisation(f"Extra union {world.project}-{n}", OrgGroup.workers) for n in range(organisations)
    ]
    for org in orgs[1:]:
        make.partner(world.project, org)
    inds = []
    prefix = next(_batches)
    for r in range(results):
        result = make.result(world.project, f"{prefix}.{r + 1}")
        for i in range(indicators):
            inds.append(make.indicator(result, f"{r + 1}.{i}", baseline_value=0, target_value=10))
    pids = [
        make.period(
            world.project,
            f"{prefix}.P{p}",
            date(2000 + 10 * prefix + p, 1, 1),
            date(2000 + 10 * prefix + p, 12, 31),
            date(2001 + 10 * prefix + p, 1, 31),
        )
        for p in range(periods)
    ]
    for pid in pids:
        for org in orgs:
            _report(make, world, org, pid, Status.approved, [(i, 5) for i in inds])
    _evaluation_defaults(make)
    _evaluation(make, world)


def _evaluation_defaults(make):
    with make.app.app_context():
        from mel_app.evaluations.defaults import ensure_defaults

        ensure_defaults()
        db.session.commit()


def _evaluation(make, world):
    from mel_app.models import CriteriaSet

    with make.app.app_context():
        evaluation = Evaluation(
            project_id=world.project,
            kind=EvaluationKind.mid_term,
            title="Mid-term",
            criteria_set_id=db.session.scalar(sa.select(CriteriaSet.id)),
            scale_id=db.session.scalar(sa.select(Scale.id)),
            opened_by_id=world.users["specialist"],
        )
        db.session.add(evaluation)
        db.session.commit()


def _count(client, queries, url):
    with queries() as statements:
        resp = client.get(url)
    assert resp.status_code == 200
    return len(statements)


def test_project_page_runs_a_fixed_number_of_queries(make, client, login, queries, world):
    login("spec@example.org")
    _grow(make, world, results=1, indicators=1, periods=1, organisations=0)
    small = _count(client, queries, f"/projects/{world.project}")
    _grow(make, world, results=4, indicators=4, periods=5, organisations=5)
    large = _count(client, queries, f"/projects/{world.project}")
    assert small == large, f"{small} queries for a small project, {large} for a large one"


def test_portfolio_runs_a_fixed_number_of_queries(make, client, login, queries, world):
    login("spec@example.org")
    _grow(make, world, results=1, indicators=1, periods=1, organisations=0)
    small = _count(client, queries, "/portfolio")
    for n in range(6):
        extra = make.project(f"GLO/26/{n + 10}/RBS")
        make.member(world.users["specialist"], extra, Role.specialist)
        make.period(extra, "2025", date(2025, 1, 1), date(2025, 12, 31), date(2026, 1, 31))
        make.partner(extra, world.orgs["union"])
    _grow(make, world, results=3, indicators=3, periods=4, organisations=4)
    large = _count(client, queries, "/portfolio")
    assert small == large, f"{small} queries for a small portfolio, {large} for a large one"


# --- portfolio -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("specialist", 200),
        ("evaluator", 200),
        ("admin", 200),
        ("reporter", 403),
        ("observer", 403),
        ("outsider", 403),
    ],
)
def test_who_sees_the_portfolio(client, login, world, who, status):
    login(EMAILS[who])
    assert client.get("/portfolio").status_code == status
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/portfolio"' in nav) is (status == 200), "the link shows only for those who may use it"


def test_portfolio_figures(make, client, login, world):
    past = make.period(
        world.project, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), TODAY - timedelta(days=1)
    )
    make.period(world.project, "2026 H1", date(2026, 1, 1), date(2026, 6, 30), TODAY + timedelta(days=20))
    make.period(world.project, "2026 H2", date(2026, 7, 1), date(2026, 12, 31), TODAY + timedelta(days=200))
    _report(make, world, world.orgs["union"], past, Status.submitted)
    _evaluation_defaults(make)
    _evaluation(make, world)
    login("spec@example.org")
    page = client.get("/portfolio").get_data(as_text=True)
    row = page.split("RAF/22/11/NOR")[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].strip() for c in row.split("<td")[1:]]
    assert "Implementation" in cells[0]
    assert (TODAY + timedelta(days=20)).strftime("%Y") in cells[1]
    assert ">1<" in cells[2], "the employers did not report for the past period"
    assert cells[3].startswith("1"), "the union's report awaits review"
    assert "Mid-term" in cells[4]
    assert "INT/24/07/SSC" not in page, "not a project of this specialist"


def test_portfolio_overdue_count_agrees_with_the_status_grid(app, make, world):
    periods = [
        make.period(world.project, f"{y}", date(y, 1, 1), date(y, 12, 31), date(y + 1, 1, 31))
        for y in (2023, 2024)
    ]
    future = make.period(world.project, "2099", date(2099, 1, 1), date(2099, 12, 30), date(2099, 12, 31))
    for period, org, status in [
        (periods[0], world.orgs["union"], Status.approved),
        (periods[1], world.orgs["union"], Status.returned),
        (periods[0], world.orgs["employers"], Status.withdrawn),
        (future, world.orgs["employers"], Status.draft),
    ]:
        _report(make, world, org, period, status)
    with app.test_request_context():
        project = db.session.get(Project, world.project)
        grid = load_project_page(project, today=TODAY, reporter_organisation_ids=None).grid
        assert grid.overdue_count == 3
        assert overdue_counts([world.project], TODAY) == {world.project: 3}


def test_an_indicator_value_of_a_percentage_shows_with_its_sign(make, client, login, world):
    outcome = make.result(world.project, "1")
    make.indicator(outcome, "1.b", measure=Measure.percentage, baseline_value=18, target_value=35)
    login("obs@example.org")
    page = client.get(f"/projects/{world.project}").get_data(as_text=True)
    assert "18%" in page and "35%" in page and "No approved value yet" in page
