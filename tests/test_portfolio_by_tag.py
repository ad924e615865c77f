"""The portfolio by ILO tag: every figure recomputed from the indicators' own figures, approved
reports only, the user's projects only, the filters, the CSV file, a fixed number of queries."""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import html as lxml_html

from mel_app import figures
from mel_app.extensions import db
from mel_app.models import (
    Aggregation,
    ChangeStory,
    Indicator,
    IndicatorValue,
    Measure,
    OrgGroup,
    OutcomeStatement,
    ProjectTag,
    ReportingPeriod,
    Result,
    ResultTag,
    Role,
    Status,
    StoryDomain,
    StoryLevel,
    Submission,
    SubmissionKind,
    TagScheme,
)

URL = "/portfolio/by-tag"
_refs = itertools.count(40)


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)
    indicators: dict[str, int] = field(default_factory=dict)


def _tag(make, model, **kw):
    with make.app.app_context():
        db.session.add(model(**kw))
        db.session.commit()


def _report(make, world, project, org, period, status, values):
    """A progress report of `org` with (indicator, value, women, men) rows."""
    extra = {}
    if status in (Status.submitted, Status.approved):
        extra["submitted_at"] = datetime.now(UTC)
    if status is Status.approved:
        extra.update(approved_at=datetime.now(UTC), approved_by_id=world.users["specialist"])
    sub = make.submission(project, org, world.users["reporter"], period_id=period, status=status, **extra)
    with make.app.app_context():
        for indicator, value, women, men in values:
            db.session.add(
                IndicatorValue(
                    submission_id=sub,
                    indicator_id=indicator,
                    value=Decimal(str(value)),
                    women=None if women is None else Decimal(str(women)),
                    men=None if men is None else Decimal(str(men)),
                )
            )
        db.session.commit()
    return sub


def _periods(make, project):
    return (
        make.period(project, "2024", date(2024, 1, 1), date(2024, 12, 31), date(2025, 1, 31)),
        make.period(project, "2025", date(2025, 1, 1), date(2025, 12, 31), date(2026, 1, 31)),
    )


def _tagged_project(make, world, name, countries, *, pb=(), sdg=(), partners=("union",), owner="specialist"):
    """A project with a result tagged `pb`/`sdg`, a number indicator (members, women and men) and
    a percentage indicator, approved reports for 2024 and 2025 and a draft for 2025."""
    project = make.project(f"RAF/24/{next(_refs)}/NOR", title=f"Project {name}", countries=countries)
    world.projects[name] = project
    for org in partners:
        make.partner(project, world.orgs[org])
    make.member(world.users[owner], project, Role.specialist)
    result = make.result(project, "1", title=f"Outcome of {name}")
    for code in pb:
        _tag(make, ResultTag, result_id=result, scheme=TagScheme.pb, code=code)
    for code in sdg:
        _tag(make, ResultTag, result_id=result, scheme=TagScheme.sdg, code=code)
    members = make.indicator(result, "1.a", unit="members", baseline_value=0, target_value=1000)
    share = make.indicator(
        result,
        "1.b",
        measure=Measure.percentage,
        baseline_value=10,
        target_value=40,
        aggregation=Aggregation.mean,
    )
    world.indicators[f"{name}.members"] = members
    world.indicators[f"{name}.share"] = share
    old, new = _periods(make, project)
    org = world.orgs[partners[0]]
    _report(
        make, world, project, org, old, Status.approved, [(members, 100, 60, 40), (share, 20, None, None)]
    )
    _report(
        make, world, project, org, new, Status.approved, [(members, 300, 200, 100), (share, 45, None, None)]
    )
    if len(partners) > 1:
        # A second organisation's approved report for 2025: added to the members, averaged in the share.
        _report(
            make,
            world,
            project,
            world.orgs[partners[1]],
            new,
            Status.approved,
            [(members, 50, None, None), (share, 25, None, None)],
        )
    return project, result, (old, new)


@pytest.fixture
def world(make) -> World:
    w = World()
    w.orgs = {
        "union": make.organisation("Union", OrgGroup.workers),
        "employers": make.organisation("Employers", OrgGroup.employers),
        "ministry": make.organisation("Ministry", OrgGroup.government),
    }
    w.users = {
        "specialist": make.user("spec@example.org"),
        "other_specialist": make.user("spec2@example.org"),
        "reporter": make.user("rep@example.org", organisation_id=w.orgs["union"]),
        "evaluator": make.user("eval@example.org"),
        "admin": make.user("admin@example.org", is_admin=True),
        "outsider": make.user("out@example.org"),
    }
    # Kenya: P&B 1 and SDG 8.8 on a result; the project tagged P&B 1 as a whole too; the union and
    # the employers report (so the 2025 women and men are partial and not given).
    kenya, _kenya_result, (_o, kenya_2025) = _tagged_project(
        make, w, "kenya", ("KE",), pb=("1",), sdg=("8.8",), partners=("union", "employers")
    )
    _tag(make, ProjectTag, project_id=kenya, scheme=TagScheme.pb, code="1")
    make.member(w.users["reporter"], kenya, Role.reporter, organisation_id=w.orgs["union"])
    make.member(w.users["evaluator"], kenya, Role.evaluator)
    # An untagged result of a tagged project: its figures never count.
    loose = make.result(kenya, "2", title="Untagged outcome")
    loose_members = make.indicator(loose, "2.a", unit="members", baseline_value=0, target_value=10)
    _report(
        make, w, kenya, w.orgs["ministry"], kenya_2025, Status.approved, [(loose_members, 7777, None, None)]
    )
    # Ghana: P&B 1 and 6 on the result, a yes/no indicator reached, a submitted report waiting.
    ghana, ghana_result, (ghana_2024, ghana_2025) = _tagged_project(make, w, "ghana", ("GH",), pb=("1", "6"))
    fact = make.indicator(ghana_result, "1.c", measure=Measure.yes_no, baseline_value=0, target_value=1)
    w.indicators["ghana.fact"] = fact
    _report(make, w, ghana, w.orgs["employers"], ghana_2024, Status.approved, [(fact, 1, None, None)])
    waiting = [(w.indicators["ghana.members"], 5000, 2500, 2500)]
    _report(make, w, ghana, w.orgs["ministry"], ghana_2025, Status.submitted, waiting)
    draft = [(w.indicators["ghana.share"], 99, None, None), (fact, 0, None, None)]
    _report(make, w, ghana, w.orgs["employers"], ghana_2025, Status.draft, draft)
    # Fiji: tagged P&B 6 as a whole only, the government its partner: a project, no figures.
    fiji = make.project("INT/24/07/SSC", title="Fiji", countries=("FJ",))
    w.projects["fiji"] = fiji
    make.partner(fiji, w.orgs["ministry"])
    make.member(w.users["specialist"], fiji, Role.specialist)
    _tag(make, ProjectTag, project_id=fiji, scheme=TagScheme.pb, code="6")
    # Somebody else's project in Kenya, tagged P&B 1: never on the first specialist's page.
    _tagged_project(make, w, "theirs", ("KE",), pb=("1",), owner="other_specialist")
    return w


# --- recomputing the figures ---------------------------------------------------------------------


def _expected(app, project_ids: set[int], scheme: TagScheme) -> dict[str, dict]:
    """Every row of the roll-up, recomputed indicator by indicator with `figures.progress`."""
    with app.app_context():
        direct = db.session.execute(
            sa.select(ProjectTag.code, ProjectTag.project_id).where(ProjectTag.scheme == scheme)
        ).all()
        tagged = db.session.execute(
            sa.select(ResultTag.code, Result.id, Result.project_id)
            .join(Result, Result.id == ResultTag.result_id)
            .where(ResultTag.scheme == scheme, ~Result.is_archived)
        ).all()
        rows: dict[str, dict] = defaultdict(
            lambda: {"projects": set(), "results": set(), "indicators": set()}
        )
        for code, project_id in direct:
            if project_id in project_ids:
                rows[code]["projects"].add(project_id)
        for code, result_id, project_id in tagged:
            if project_id not in project_ids:
                continue
            for key in (code, "total"):
                rows[key]["projects"].add(project_id)
                rows[key]["results"].add(result_id)
                for indicator in db.session.scalars(
                    sa.select(Indicator).where(Indicator.result_id == result_id, ~Indicator.is_archived)
                ):
                    rows[key]["indicators"].add(indicator.id)
        for _code, project_id in direct:
            if project_id in project_ids:
                rows["total"]["projects"].add(project_id)
        out = {}
        for code, row in rows.items():
            amounts: dict[str, list[Decimal | None]] = {}
            reached = with_figure = 0
            for indicator_id in row["indicators"]:
                indicator = db.session.get(Indicator, indicator_id)
                progress = _progress(indicator)
                latest = progress.latest
                if latest is None:
                    continue
                if indicator.measure is Measure.number:
                    unit = amounts.setdefault(indicator.unit, [Decimal(0), None, None])
                    unit[0] += latest.value
                    if latest.women is not None:
                        unit[1] = (unit[1] or 0) + latest.women
                    if latest.men is not None:
                        unit[2] = (unit[2] or 0) + latest.men
                else:
                    with_figure += 1
                    reached += progress.achieved
            out[code] = {
                "projects": len(row["projects"]),
                "results": len(row["results"]),
                "amounts": {u: tuple(v) for u, v in amounts.items()},
                "targets": (reached, with_figure) if with_figure else None,
            }
        return out


def _progress(indicator: Indicator) -> figures.Progress:
    """One indicator's progress from its own approved reports."""
    rows = db.session.execute(
        sa.select(IndicatorValue, Submission)
        .join(Submission, Submission.id == IndicatorValue.submission_id)
        .where(
            IndicatorValue.indicator_id == indicator.id,
            Submission.status == Status.approved,
            Submission.kind == SubmissionKind.progress_report,
        )
    ).all()
    reports = [figures.Report(s.period_id, s.organisation_id, v.value, v.women, v.men) for v, s in rows]
    periods = [
        figures.Period(p.id, p.label, p.start_date, p.end_date)
        for p in db.session.scalars(
            sa.select(ReportingPeriod).where(ReportingPeriod.project_id == indicator.project_id)
        )
    ]
    return figures.progress(figures.Rule.of(indicator), reports, periods)


def _number(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", "").replace("\u202f", "").replace("\xa0", ""))


def _page_rows(page: str) -> dict[str, dict]:
    """The table as read on the page: code ("total" for the total) → its cells."""
    tree = lxml_html.fromstring(page)
    out = {}
    for tr in tree.xpath("//tr[@data-code]"):
        code = tr.get("data-code") or "total"
        amounts = {}
        for div in tr.xpath(".//div[@class='rollup-amount']"):
            women = div.xpath(".//span[@class='women']")
            men = div.xpath(".//span[@class='men']")
            amounts[div.get("data-unit")] = (
                _number(div.xpath(".//strong")[0].text),
                _number(women[0].text) if women else None,
                _number(men[0].text) if men else None,
            )
        targets = tr.xpath(".//td[contains(@class,'rollup-targets')]")[0].text_content().strip()
        out[code] = {
            "projects": int(tr.xpath(".//td[contains(@class,'rollup-projects')]")[0].text),
            "results": int(tr.xpath(".//td[contains(@class,'rollup-results')]")[0].text),
            "amounts": amounts,
            "targets": None if targets == "—" else tuple(int(n) for n in targets.split(" of ")),
        }
    return out


def _visible(world, *names):
    return {world.projects[n] for n in names}


def test_every_figure_is_recomputed_from_the_indicators(app, client, login, world):
    login("spec@example.org")
    page = client.get(URL + "?scheme=pb").get_data(as_text=True)
    shown = _page_rows(page)
    expected = _expected(app, _visible(world, "kenya", "ghana", "fiji"), TagScheme.pb)
    assert shown == expected
    # The same figures written out, so that a rule changed in both places still fails here.
    assert shown["1"]["projects"] == 2 and shown["1"]["results"] == 2
    # Kenya 2025: 300 + 50 (the employers give no women and men: none for Kenya); Ghana 2025: 300,
    # its submitted 5000 not counted; the untagged 7777 and the other specialist's project neither.
    assert shown["1"]["amounts"] == {"members": (Decimal(650), Decimal(200), Decimal(100))}
    # Shares: Kenya mean(45, 25) = 35 < 40, Ghana 45 ≥ 40; Ghana's yes/no reached.
    assert shown["1"]["targets"] == (2, 3)
    assert shown["6"]["projects"] == 2, "Ghana by its result, Fiji as a whole"
    assert shown["6"]["amounts"] == {"members": (Decimal(300), Decimal(200), Decimal(100))}
    assert shown["total"]["projects"] == 3
    assert shown["total"]["amounts"] == shown["1"]["amounts"], "each indicator counts once"
    assert "7777" not in page and "5,000" not in page


def test_other_schemes(app, client, login, world):
    login("spec@example.org")
    shown = _page_rows(client.get(URL + "?scheme=sdg").get_data(as_text=True))
    assert shown == _expected(app, _visible(world, "kenya", "ghana", "fiji"), TagScheme.sdg)
    assert set(shown) == {"8.8", "total"}
    page = client.get(URL + "?scheme=dwcp").get_data(as_text=True)
    assert "No project of your portfolio is tagged" in page


def test_each_user_sees_only_their_projects(app, login, world):
    def rows(email):
        client = app.test_client()
        login(email, on=client)
        return _page_rows(client.get(URL).get_data(as_text=True))

    shown = rows("spec2@example.org")
    assert shown == _expected(app, _visible(world, "theirs"), TagScheme.pb)
    assert shown["1"]["amounts"] == {"members": (Decimal(300), Decimal(200), Decimal(100))}
    shown = rows("eval@example.org")
    assert shown == _expected(app, _visible(world, "kenya"), TagScheme.pb)
    assert shown["1"]["amounts"] == {"members": (Decimal(350), None, None)}, "the employers gave no split"
    assert shown["1"]["targets"] == (0, 1), "mean of 45 and 25 is short of 40"
    shown = rows("admin@example.org")
    assert shown["1"]["projects"] == 3, "administrators see every project"


@pytest.mark.parametrize("who", ["rep@example.org", "out@example.org"])
def test_who_may_not_see_it(client, login, world, who):
    login(who)
    assert client.get(URL).status_code == 403
    assert client.get(URL + ".csv").status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, world):
    for url in (URL, URL + ".csv"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_portfolio_links_to_it(client, login, world):
    login("spec@example.org")
    assert f'href="{URL}"' in client.get("/portfolio").get_data(as_text=True)


def test_filters(app, client, login, world):
    login("spec@example.org")
    shown = _page_rows(client.get(URL + "?scheme=pb&country=GH").get_data(as_text=True))
    assert shown == _expected(app, _visible(world, "ghana"), TagScheme.pb)
    shown = _page_rows(client.get(URL + "?scheme=pb&constituency=government").get_data(as_text=True))
    assert shown == _expected(app, _visible(world, "fiji"), TagScheme.pb)
    assert set(shown) == {"6", "total"}
    shown = _page_rows(client.get(URL + "?scheme=pb&constituency=employers").get_data(as_text=True))
    assert shown == _expected(app, _visible(world, "kenya"), TagScheme.pb)
    # Values off the lists are ignored rather than refused.
    assert client.get(URL + "?scheme=nope&country=ZZ&constituency=x").status_code == 200


def test_the_csv_file_has_the_figures_of_the_page(client, login, world):
    login("spec@example.org")
    shown = _page_rows(client.get(URL + "?scheme=pb").get_data(as_text=True))
    resp = client.get(URL + ".csv?scheme=pb")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = lines[0], lines[1:]
    assert header[:5] == ["Scheme", "Code", "Label", "Projects", "Results"]
    by_code = {(line[1] if line[1] != "Total" else "total"): line for line in body if line[1]}
    assert set(by_code) == set(shown)
    for code, line in by_code.items():
        assert int(line[3]) == shown[code]["projects"]
        assert int(line[4]) == shown[code]["results"]
        unit, value, women, men = line[5:9]
        if shown[code]["amounts"]:
            assert shown[code]["amounts"][unit] == (
                Decimal(value),
                Decimal(women) if women else None,
                Decimal(men) if men else None,
            )
        if shown[code]["targets"]:
            assert (int(line[9]), int(line[10])) == shown[code]["targets"]


def test_csv_cells_cannot_run_as_formulas(make, client, login, world):
    from mel_app.projects import rollup

    with make.app.test_request_context():
        result = rollup.Rollup(TagScheme.pb, [], rollup.Row(rollup.TOTAL, ""), [])
        result.rows.append(rollup.Row("1", '=HYPERLINK("x")'))
        text = rollup.to_csv(result).decode("utf-8")
    assert "'=HYPERLINK" in text


def test_the_page_in_french(app, client, login, world):
    from mel_app.models import User

    with app.app_context():
        db.session.get(User, world.users["specialist"]).preferred_language = "fr"
        db.session.commit()
    login("spec@example.org")
    page = client.get(URL, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Portefeuille par résultat de l&#39;OIT" in page or "Portefeuille par résultat de l'OIT" in page
    assert "Projets" in page
    csv_text = client.get(URL + ".csv", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert csv_text.lstrip("\ufeff").startswith("Référentiel,Code")


# --- query count ---------------------------------------------------------------------------------


def _add_projects(make, world, n, start):
    for i in range(n):
        _tagged_project(make, world, f"extra{start + i}", ("SN",), pb=(str(1 + i % 8),), sdg=("8.7",))


def test_a_fixed_number_of_queries(make, client, login, queries, world):
    login("spec@example.org")

    def count():
        with queries() as statements:
            assert client.get(URL + "?scheme=pb").status_code == 200
        return len(statements)

    small = count()  # two projects with tagged results, and Fiji
    _add_projects(make, world, 8, 0)  # ten
    large = count()
    assert small == large, f"{small} queries with 2 projects, {large} with 10"


# --- harvested outcomes and chosen change stories ----------------------------------------------------


def _result_id(app, project_id: int, code: str) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(Result.id).where(Result.project_id == project_id, Result.code == code)
        )


def _outcome(make, project_id: int, result_id: int | None = None) -> int:
    return make._save(
        OutcomeStatement(
            project_id=project_id,
            social_actor="A ministry",
            change="Consults the unions",
            changed_on=date(2025, 3, 1),
            result_id=result_id,
        )
    )


def _story(make, project_id: int, chosen_at: StoryLevel | None) -> int:
    with make.app.app_context():
        domain = db.session.scalar(sa.select(StoryDomain.id).where(StoryDomain.project_id == project_id))
    if domain is None:
        domain = make._save(StoryDomain(project_id=project_id, name="Organising"))
    return make._save(
        ChangeStory(
            project_id=project_id,
            domain_id=domain,
            title="A story",
            what_happened="It happened",
            why_significant="It matters",
            chosen_at=chosen_at,
        )
    )


def _expected_counts(app, project_ids: set[int], scheme: TagScheme) -> dict[str, dict[str, int]]:
    """The outcome and story columns recomputed statement by statement, story by story."""
    with app.app_context():
        own: dict[int, set[str]] = defaultdict(set)
        for code, project_id in db.session.execute(
            sa.select(ProjectTag.code, ProjectTag.project_id).where(ProjectTag.scheme == scheme)
        ):
            own[project_id].add(code)
        of_result: dict[int, set[str]] = defaultdict(set)
        of_project = {p: set(codes) for p, codes in own.items()}
        for code, result_id, project_id in db.session.execute(
            sa.select(ResultTag.code, Result.id, Result.project_id)
            .join(Result, Result.id == ResultTag.result_id)
            .where(ResultTag.scheme == scheme, ~Result.is_archived)
        ):
            of_result[result_id].add(code)
            of_project.setdefault(project_id, set()).add(code)
        counts: dict[str, dict[str, set[int]]] = defaultdict(lambda: {"outcomes": set(), "stories": set()})
        for statement in db.session.scalars(sa.select(OutcomeStatement)):
            if statement.project_id not in project_ids:
                continue
            if statement.result_id is None:
                codes = of_project.get(statement.project_id, set())
            else:
                codes = of_result[statement.result_id] | own[statement.project_id]
            for code in codes:
                counts[code]["outcomes"].add(statement.id)
                counts["total"]["outcomes"].add(statement.id)
        for story in db.session.scalars(sa.select(ChangeStory).where(ChangeStory.chosen_at.is_not(None))):
            if story.project_id not in project_ids:
                continue
            for code in of_project.get(story.project_id, set()):
                counts[code]["stories"].add(story.id)
                counts["total"]["stories"].add(story.id)
        return {code: {k: len(v) for k, v in c.items()} for code, c in counts.items()}


def _column_cells(page: str) -> dict[str, dict[str, int]]:
    tree = lxml_html.fromstring(page)
    out = {}
    for tr in tree.xpath("//tr[@data-code]"):
        outcomes, stories = (td.text_content().strip() for td in tr.xpath("./td")[-2:])
        out[tr.get("data-code") or "total"] = {"outcomes": int(outcomes or 0), "stories": int(stories or 0)}
    return out


def test_outcomes_and_chosen_stories_are_counted_under_the_codes_of_their_project(
    app, make, client, login, world
):
    kenya, ghana, fiji = (world.projects[n] for n in ("kenya", "ghana", "fiji"))
    # Ghana gets a result tagged P&B 3 only: a statement linked to it counts under 3 alone.
    ghana_three = make.result(ghana, "3", title="Another outcome")
    _tag(make, ResultTag, result_id=ghana_three, scheme=TagScheme.pb, code="3")
    _outcome(make, kenya, _result_id(app, kenya, "1"))  # its result's P&B 1
    _outcome(make, kenya, _result_id(app, kenya, "2"))  # an untagged result: the project's own P&B 1
    _outcome(make, kenya)  # linked to none: every code of Kenya
    _outcome(make, ghana)  # every code of Ghana: 1, 6 and 3
    _outcome(make, ghana, ghana_three)  # 3 only
    _outcome(make, fiji)  # Fiji's own 6
    _outcome(make, world.projects["theirs"])  # another specialist's project: never counted
    _story(make, kenya, StoryLevel.project)
    _story(make, kenya, None)  # not chosen: never counted
    _story(make, ghana, StoryLevel.regional)
    _story(make, world.projects["theirs"], StoryLevel.actrav)
    login("spec@example.org")
    page = client.get(URL + "?scheme=pb").get_data(as_text=True)
    shown = _column_cells(page)
    assert shown == _expected_counts(app, _visible(world, "kenya", "ghana", "fiji"), TagScheme.pb)
    # The same counts written out, so that a rule changed in both places still fails here.
    assert shown["1"] == {"outcomes": 4, "stories": 2}
    assert shown["3"] == {"outcomes": 2, "stories": 1}
    assert shown["6"] == {"outcomes": 2, "stories": 1}
    assert shown["total"] == {"outcomes": 6, "stories": 2}, "each statement and story counts once"
    lines = list(csv.reader(io.StringIO(client.get(URL + ".csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][-2:] == ["Outcome statements", "Change stories chosen"]
    assert [line[-2:] for line in lines[1:]] == [["4", "2"], ["2", "1"], ["2", "1"], ["6", "2"]]


def test_another_source_joins_as_a_column(monkeypatch, client, login, world):
    from mel_app.projects import rollup

    def stories(scheme, project_ids):
        return {"1": 4, rollup.TOTAL: 5} if scheme is TagScheme.pb else {}

    monkeypatch.setattr(rollup, "COLUMNS", [rollup.Column("stories", "Change stories", stories)])
    login("spec@example.org")
    page = client.get(URL).get_data(as_text=True)
    tree = lxml_html.fromstring(page)
    assert "Change stories" in [th.text_content() for th in tree.xpath("//thead//th")]
    cells = {
        tr.get("data-code"): tr.xpath("./td")[-1].text_content() for tr in tree.xpath("//tr[@data-code]")
    }
    assert cells == {"1": "4", "6": "", "": "5"}
    lines = list(csv.reader(io.StringIO(client.get(URL + ".csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][-1] == "Change stories"
    assert [line[-1] for line in lines[1:]] == ["4", "", "5"]
