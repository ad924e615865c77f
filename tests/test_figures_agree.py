"""One figure everywhere: the project page, its charts, the portfolio, the XLSX, CSV and JSON
downloads and the IATI file show the same actual and the same progress for every indicator and
period, on data where the possible rules differ (mel_app.figures)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import etree

from mel_app.extensions import db
from mel_app.figures import percent
from mel_app.models import Aggregation, IndicatorValue, Measure, OrgGroup, Project, Role, Status
from mel_app.projects import charts
from mel_app.projects.services import load_project_page
from tests.exports_world import download, read_csv_zip, read_json, read_xlsx

D = Decimal
H1, H2 = "2025 H1", "2025 H2"

# code: (indicator fields, {period: [(organisation, value, women, men)]})
SPEC = {
    # Summed across organisations, with women and men.
    "1.a": (
        dict(baseline_value=100, target_value=300, disaggregate_by_sex=True),
        {
            H1: [("union", 150, 90, 60), ("employers", 50, 20, 30)],
            H2: [("union", 170, 100, 70), ("gov", 90, 50, 40)],
        },
    ),
    # The responsible organisation's value alone; it did not report in H2.
    "1.b": (
        dict(
            baseline_value=10, target_value=50, aggregation=Aggregation.responsible, responsible="employers"
        ),
        {H1: [("union", 40), ("employers", 20)], H2: [("union", 45)]},
    ),
    # No baseline: a figure, but no share (a missing baseline is not zero).
    "1.c": (dict(target_value=600), {H1: [("union", 190), ("employers", 10)]}),
    # Lower is better, averaged.
    "1.d": (
        dict(baseline_value=140, target_value=40, ascending=False, aggregation=Aggregation.mean),
        {H1: [("union", 115), ("employers", 105)], H2: [("union", 90), ("gov", 80)]},
    ),
    # Yes/no with mixed answers: yes only when all say yes (the default) …
    "1.e": (
        dict(measure=Measure.yes_no, baseline_value=0, target_value=1),
        {H1: [("union", 1), ("employers", 0)], H2: [("union", 1), ("employers", 1)]},
    ),
    # … or as soon as one says yes.
    "1.f": (
        dict(measure=Measure.yes_no, baseline_value=0, target_value=1, aggregation=Aggregation.any_yes),
        {H1: [("union", 0), ("employers", 1)]},
    ),
    # A percentage: the mean, never the sum.
    "1.g": (
        dict(measure=Measure.percentage, baseline_value=18, target_value=35),
        {H1: [("union", 22), ("employers", "26.5")], H2: [("union", 30), ("employers", 40), ("gov", 35)]},
    ),
    # Target equal to the baseline: holding the level.
    "1.h": (dict(baseline_value=5, target_value=5), {H1: [("union", 3), ("employers", 3)]}),
}

# What the one rule gives: code -> period -> (actual, share); None where there is none.
EXPECTED = {
    "1.a": {H1: (D(200), D("0.5")), H2: (D(260), D("0.8"))},
    "1.b": {H1: (D(20), D("0.25")), H2: (None, None)},
    "1.c": {H1: (D(200), None)},
    "1.d": {H1: (D(110), D("0.3")), H2: (D(85), D("0.55"))},
    "1.e": {H1: (D(0), D(0)), H2: (D(1), D(1))},
    "1.f": {H1: (D(1), D(1))},
    "1.g": {H1: (D("24.25"), D("0.3676")), H2: (D(35), D(1))},
    "1.h": {H1: (D(6), D(1))},
}


@pytest.fixture
def data(make):
    orgs = {
        "union": make.organisation("Kenya Union", OrgGroup.workers, country="KE"),
        "employers": make.organisation("Kenya Employers", OrgGroup.employers, country="KE"),
        "gov": make.organisation("Ministry of Labour", OrgGroup.government, country="KE"),
    }
    other_union = make.organisation("Uganda Union", OrgGroup.workers, country="UG")
    project = make.project("RAF/22/11/NOR", title="Workers rights in Africa", countries=("KE",))
    spec = make.user("spec@example.org")
    reporter = make.user("rep@example.org", organisation_id=orgs["union"])
    make.member(spec, project, Role.specialist)
    for org in [*orgs.values(), other_union]:
        make.partner(project, org)
    periods = {
        H1: make.period(project, H1, date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 31)),
        H2: make.period(project, H2, date(2025, 7, 1), date(2025, 12, 31), date(2026, 1, 31)),
    }
    result = make.result(project, "1", title="Unions are stronger")
    indicators = {}
    for position, (code, (fields, _values)) in enumerate(SPEC.items()):
        fields = dict(fields)
        if "responsible" in fields:
            fields["responsible_organisation_id"] = orgs[fields.pop("responsible")]
        indicators[code] = make.indicator(
            result, code, title=f"Indicator {code}", position=position, **fields
        )
    when = datetime(2026, 2, 1, tzinfo=UTC)
    submissions = {
        (org, period): make.submission(
            project,
            org_id,
            reporter,
            period_id=period_id,
            status=Status.approved,
            submitted_at=when,
            approved_at=when,
            approved_by_id=spec,
        )
        for org, org_id in orgs.items()
        for period, period_id in periods.items()
    }
    # A report still under review must move no figure anywhere.
    pending = make.submission(
        project, other_union, reporter, period_id=periods[H1], status=Status.submitted, submitted_at=when
    )
    with make.app.app_context():
        for code, (_fields, by_period) in SPEC.items():
            for period, values in by_period.items():
                for org, value, *split in values:
                    women, men = split or (None, None)
                    db.session.add(
                        IndicatorValue(
                            submission_id=submissions[(org, period)],
                            indicator_id=indicators[code],
                            value=D(str(value)),
                            women=None if women is None else D(women),
                            men=None if men is None else D(men),
                        )
                    )
            db.session.add(IndicatorValue(submission_id=pending, indicator_id=indicators[code], value=D(1)))
        db.session.commit()
    return project, indicators


def _number(text: str) -> Decimal:
    """A figure as the page writes it in English: 15,800 · 24.25% · yes · no."""
    text = text.strip()
    if text in ("yes", "no"):
        return D(1 if text == "yes" else 0)
    return D(text.rstrip("%").replace(",", ""))


def _dec(value) -> Decimal | None:
    if value in (None, ""):
        return None
    return D(str(value)).quantize(D("0.0001"))


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(D("0.0001"))


def _latest(code: str) -> tuple[str, Decimal, Decimal | None] | None:
    found = [(p, a, s) for p, (a, s) in EXPECTED[code].items() if a is not None]
    return found[-1] if found else None


def test_every_surface_shows_the_same_figure_and_progress(app, client, login, data):
    project, indicators = data
    login("spec@example.org")

    # The project page: the latest progress, and each indicator's page (linked from it): every
    # period's figure and share.
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    for code, periods in EXPECTED.items():
        row = page.split(f'id="indicator-{indicators[code]}"')[1].split("</tr>")[0]
        indicator_url = f"/projects/{project}/indicators/{indicators[code]}"
        assert f'href="{indicator_url}"' in row, code
        indicator_page = client.get(indicator_url).get_data(as_text=True)
        for period, (actual, share) in periods.items():
            item = indicator_page.split(f'data-period="{period}"')[1].split("</tr>")[0]
            shown = re.search(r'<strong class="figure">([^<]*)</strong>', item).group(1)
            assert (None if shown == "—" else _number(shown)) == actual, (code, period, shown)
            got_share = re.search(r'<span class="period-share">(-?\d+)%</span>', item)
            assert (got_share and int(got_share.group(1))) == (
                percent(share) if share is not None else None
            ), (
                code,
                period,
            )
        latest = _latest(code)
        got = re.search(r'<strong class="progress-share">(-?\d+)%</strong>', row)
        want = percent(latest[2]) if latest and latest[2] is not None else None
        assert (got and int(got.group(1))) == want, code
    assert "sum of 2 organisations&#39; reports" in page or "sum of 2 organisations' reports" in page
    # The values behind a figure are listed next to it on the indicator's page, so anyone can redo it.
    members = (
        client.get(f"/projects/{project}/indicators/{indicators['1.a']}")
        .get_data(as_text=True)
        .split(f'data-period="{H1}"')[1]
        .split("</tr>")[0]
    )
    assert "<li>Kenya Union: 150</li>" in members and "<li>Kenya Employers: 50</li>" in members

    # The charts' data: the periods with a figure, and the latest figure and progress in words.
    with app.test_request_context():
        loaded = load_project_page(
            db.session.get(Project, project), today=date(2026, 3, 1), reporter_organisation_ids=None
        )
        rows = {row.indicator.code: row.progress for node in loaded.walk() for row in node.indicators}
        for code in EXPECTED:
            progress = rows[code]
            chart = charts.progress_chart(progress)
            periods_with_figure = [p for p, (a, _s) in EXPECTED[code].items() if a is not None]
            assert [p.label for p in chart.points if not p.is_baseline] == periods_with_figure
            assert [f.value for f in progress.actuals] == [EXPECTED[code][p][0] for p in periods_with_figure]
            latest = _latest(code)
            if latest[2] is not None:
                assert f"{percent(latest[2])}% of the way" in chart.description, code

    # The portfolio: the latest figure and progress of each indicator.
    portfolio = client.get("/portfolio").get_data(as_text=True)
    for code in EXPECTED:
        item = portfolio.split(f'id="portfolio-indicator-{indicators[code]}"')[1].split("</li>")[0]
        latest = _latest(code)
        assert _number(re.search(r'<strong class="figure">([^<]*)</strong>', item).group(1)) == latest[1]
        got = re.search(r'<span class="progress-share">(-?\d+)%</span>', item)
        assert (got and int(got.group(1))) == (percent(latest[2]) if latest[2] is not None else None), code

    # The downloads: every period in "Actuals by period", the latest in "Progress vs target".
    for fmt in ("xlsx", "csv", "json"):
        resp, body = download(client, fmt)
        assert resp.status_code == 200, body[:300]
        if fmt == "xlsx":
            book = read_xlsx(body)
            by_period, progress_rows = book["Actuals by period"], book["Progress vs target"]
        else:
            tables = read_csv_zip(body) if fmt == "csv" else read_json(body)["tables"]
            by_period, progress_rows = tables["actuals_by_period"], tables["progress_vs_target"]
        got = {
            (r["indicator_code"], r["period"]): (_dec(r["actual"]), _dec(r["progress_share"]))
            for r in by_period
        }
        want = {(code, p): (_q(a), _q(s)) for code, ps in EXPECTED.items() for p, (a, s) in ps.items()}
        assert got == want, fmt
        for r in progress_rows:
            latest = _latest(r["indicator_code"])
            assert (r["latest_period"], _dec(r["latest_actual"]), _dec(r["progress_share"])) == (
                latest[0],
                _q(latest[1]),
                _q(latest[2]),
            ), (fmt, r["indicator_code"])
        sums = {r["indicator_code"]: r for r in by_period if r["period"] == H1}
        assert (_dec(sums["1.a"]["women"]), _dec(sums["1.a"]["men"])) == (D(110), D(90))

    # The IATI file: the actual of every period of every indicator.
    resp, body = download(client, "iati")
    assert resp.status_code == 200, body[:300]
    (activity,) = etree.fromstring(body).findall("iati-activity")
    starts = {"2025-01-01": H1, "2025-07-01": H2}
    for code, periods in EXPECTED.items():
        (indicator,) = activity.xpath(f"result/indicator[reference/@code='{code}']")
        found = {}
        for period in indicator.findall("period"):
            label = starts.get(period.find("period-start").get("iso-date"))
            if label is None:
                continue  # the target period
            totals = [a for a in period.findall("actual") if a.find("dimension") is None]
            (total,) = totals
            found[label] = None if total.get("value") is None else _q(D(total.get("value")))
        # A period without a figure is left out of the file: IATI refuses an actual with no value (8.10.1).
        assert found == {p: _q(a) for p, (a, _s) in periods.items() if a is not None}, code


def test_the_latest_figure_read_alone_is_the_latest_of_all_the_figures(app, make, data):
    """Pages that show only the latest figure read only its period's values: the figure and the
    progress are those of the whole computation, whatever the rule (the responsible organisation
    silent in the last period included), for qualitative and listed indicators too."""
    from mel_app.models import Indicator, ReportingPeriod
    from mel_app.projects.services import indicator_progress, latest_progress

    project, indicators = data
    with app.app_context():
        result_id = db.session.get(Indicator, indicators["1.a"]).result_id
    # A qualitative indicator with answers: no figure either way.
    make.indicator(result_id, "1.q", title="What changed", measure=Measure.qualitative, position=99)
    with app.app_context():
        loaded = list(db.session.scalars(sa.select(Indicator).where(Indicator.project_id == project)))
        periods = list(
            db.session.scalars(sa.select(ReportingPeriod).where(ReportingPeriod.project_id == project))
        )
        every = indicator_progress([project], loaded, periods)
        latest = latest_progress([project], loaded, periods)
        assert set(latest) == set(every) == {i.id for i in loaded}
        for indicator in loaded:
            whole, alone = every[indicator.id], latest[indicator.id]
            shown = lambda p: (  # noqa: E731 - what the pages read of a progress
                p.latest and (p.latest.period.id, p.latest.value, p.latest.women, p.latest.men),
                p.share,
                p.no_share,
                p.achieved,
            )
            assert shown(alone) == shown(whole), indicator.code
        # The responsible organisation's value of H1 stays the latest: H2 has only others' values.
        assert latest[indicators["1.b"]].latest.period.label == H1
        assert latest[indicators["1.a"]].latest.period.label == H2
