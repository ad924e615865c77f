"""Pages stay light on slow connections: fingerprinted static files cached for a year, < 60 KB."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from bench.loadgen import LOAD_PASSWORD
from mel_app.assets import IMMUTABLE, Fingerprints
from mel_app.extensions import db
from mel_app.models import Membership, Role, User
from tests.test_perf_loadgen import seed_load

# The weight of a page is its HTML and static files, the same whichever database held the rows.
pytestmark = pytest.mark.same_on_every_database

PAGE_BUDGET = 60 * 1024  # bytes of HTML + CSS + JS on a first visit, uncompressed
ASSET_RE = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"')


def first_load_weight(client, path: str) -> tuple[int, dict[str, int]]:
    """Bytes of the page and of every stylesheet, script and image it loads, as a browser would."""
    resp = client.get(path)
    assert resp.status_code == 200, path
    html = resp.get_data(as_text=True)
    sizes = {path: len(resp.data)}
    for url in dict.fromkeys(ASSET_RE.findall(html)):
        with client.get(url.replace("&amp;", "&")) as asset:
            assert asset.status_code == 200, url
            sizes[url] = len(asset.data)
    return sum(sizes.values()), sizes


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    assets = ASSET_RE.findall(html)
    assert assets and all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in assets), assets
    for url in assets:
        with client.get(url) as resp:
            assert resp.headers["Cache-Control"] == IMMUTABLE


def test_a_stale_or_missing_fingerprint_is_revalidated_not_cached_for_a_year(client):
    with client.get("/static/css/app.css?v=000000000000") as stale:
        assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]
    with client.get("/static/css/app.css") as bare:
        assert "immutable" not in bare.headers["Cache-Control"]


def test_the_fingerprint_follows_the_file_content(tmp_path):
    asset = tmp_path / "site.css"
    asset.write_text("body { color: black; }")
    fingerprint = Fingerprints(str(tmp_path))
    first = fingerprint("site.css")
    asset.write_text("body { color: navy; }   ")
    assert fingerprint("site.css") != first
    assert fingerprint("missing.css") is None and fingerprint("../escape.css") is None


def test_static_url_helper_gives_the_fingerprinted_url(app):
    with app.test_request_context():
        html = app.jinja_env.from_string("{{ static_url('css/app.css') }}").render()
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{12}", html)


def test_the_login_page_weighs_less_than_60_kb(client):
    total, sizes = first_load_weight(client, "/login")
    assert total < PAGE_BUDGET, sizes


@pytest.mark.parametrize("role", ["admin", "reporter"])
def test_the_home_page_weighs_less_than_60_kb(app, runner, client, login, role):
    seed_load(runner, scale="0.1")
    with app.app_context():
        query = sa.select(User.email).where(User.is_active).order_by(User.id).limit(1)
        if role == "admin":
            query = query.where(User.is_admin)
        else:
            query = query.join(Membership, Membership.user_id == User.id).where(
                Membership.role == Role.reporter
            )
        email = db.session.scalar(query)
    login(email, LOAD_PASSWORD)
    total, sizes = first_load_weight(client, "/")
    assert total < PAGE_BUDGET, sizes


# A ten-year project as long as the load generator makes them (bench/loadgen/portfolio.py): twenty
# half-year periods, thirteen partners reporting every indicator in every period, an impact, three
# outcomes and six outputs with eighteen indicators; long names, as real ones are.
LONG_PERIODS, LONG_PARTNERS = 20, 13


@pytest.fixture
def long_project(app, make):
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from mel_app import audit
    from mel_app.models import (
        Indicator,
        IndicatorValue,
        Measure,
        OrgGroup,
        ReportingPeriod,
        Result,
        ResultType,
        Status,
        Submission,
        SubmissionKind,
    )

    orgs = [
        make.organisation(f"National Confederation of Hotel and Catering Workers No {i}", OrgGroup.workers)
        for i in range(LONG_PARTNERS)
    ]
    project = make.project(
        title="Decent work for domestic and hotel workers in East Africa",
        start_date=date(2017, 1, 1),
        end_date=date(2026, 12, 31),
    )
    specialist = make.user("long-spec@example.org")
    reporter = make.user("long-rep@example.org", organisation_id=orgs[0])
    make.member(specialist, project, Role.specialist)
    make.member(reporter, project, Role.reporter, organisation_id=orgs[0])
    for org in orgs:
        make.partner(project, org)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        periods = [
            ReportingPeriod(
                project_id=project,
                label=f"{2017 + n // 2} H{n % 2 + 1}",
                start_date=date(2017 + n // 2, 1 + 6 * (n % 2), 1),
                end_date=date(2017 + n // 2, 6 + 6 * (n % 2), 30),
                due_date=date(2017 + n // 2 + n % 2, 7 if n % 2 == 0 else 1, 31),
            )
            for n in range(LONG_PERIODS)
        ]
        impact = Result(
            project_id=project, code="0", type=ResultType.impact, title="Workers enjoy their rights"
        )
        db.session.add_all([*periods, impact])
        db.session.flush()
        indicators = []
        for o in range(1, 4):
            outcome = Result(
                project_id=project,
                code=str(o),
                type=ResultType.outcome,
                title="Workers' organisations use the ILO supervisory system",
                parent_id=impact.id,
                position=o * 3,
            )
            db.session.add(outcome)
            db.session.flush()
            parents = [outcome]
            for k in range(1, 3):
                output = Result(
                    project_id=project,
                    code=f"{o}.{k}",
                    type=ResultType.output,
                    title="Model clauses are drafted with the social partners",
                    parent_id=outcome.id,
                    position=o * 3 + k,
                )
                db.session.add(output)
                parents.append(output)
            db.session.flush()
            for result in parents:
                for letter in "ab":
                    indicators.append(
                        Indicator(
                            result_id=result.id,
                            project_id=project,
                            code=f"{result.code}.{letter}",
                            title="Observations sent to the ILO supervisory bodies",
                            measure=Measure.number,
                            unit="observations",
                            baseline_value=Decimal(160),
                            target_value=Decimal(9700),
                        )
                    )
        db.session.add_all(indicators)
        submissions = [
            Submission(
                project_id=project,
                organisation_id=org,
                author_id=reporter,
                period_id=period.id,
                kind=SubmissionKind.progress_report,
                status=Status.approved,
                narrative={},
                submitted_at=when,
                approved_at=when,
                approved_by_id=specialist,
            )
            for period in periods
            for org in orgs
        ]
        db.session.add_all(submissions)
        db.session.flush()
        db.session.add_all(
            IndicatorValue(submission_id=s.id, indicator_id=i.id, value=Decimal(100 + n % 900))
            for n, (s, i) in enumerate((s, i) for s in submissions for i in indicators)
        )
        db.session.commit()
        return project, indicators[0].id


@pytest.mark.parametrize("role", ["specialist", "reporter"])
def test_every_tab_of_a_ten_year_project_weighs_less_than_60_kb(client, login, long_project, role):
    project, indicator = long_project
    login("long-spec@example.org" if role == "specialist" else "long-rep@example.org")
    tabs = [
        f"/projects/{project}",
        f"/projects/{project}/indicators/{indicator}",
        f"/projects/{project}/reporting-status",
        f"/projects/{project}/reporting-status?page=2",
        f"/projects/{project}/outcomes",
        f"/projects/{project}/stories",
        f"/projects/{project}/rounds",
    ]
    if role == "specialist":
        tabs += [
            f"/projects/{project}/framework",
            f"/projects/{project}/periods",
            f"/projects/{project}/partners",
            f"/projects/{project}/edit",
            f"/history/project/{project}",
        ]
    for path in tabs:
        total, sizes = first_load_weight(client, path)
        assert total < PAGE_BUDGET, (path, sizes)
