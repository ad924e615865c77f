"""Pure rules of the projects feature: ILO references, progress, the status grid, period series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mel_app.figures import (
    Aggregation,
    NoShare,
    Period,
    Report,
    Rule,
    consolidate,
    share_of_the_way,
)
from mel_app.figures import (
    progress as compute_progress,
)
from mel_app.models import Measure, OrgGroup, Status
from mel_app.models.project import is_valid_reference
from mel_app.projects.countries import COUNTRY_CODES
from mel_app.projects.grid import (
    CellStatus,
    GridOrganisation,
    GridPeriod,
    GridSubmission,
    build_grid,
    cell_status,
)
from mel_app.projects.periods import Frequency, period_series

D = Decimal


@pytest.mark.parametrize(
    "reference",
    ["RAF/22/11/NOR", "RAF/04/M55/NET", "GLO/24/51/RBS", "INT/24/07/SSC", "KEN/19/101/USA", "ETH/20/A12/EUR"],
)
def test_good_ilo_references(reference):
    assert is_valid_reference(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "RAF/22/11",  # no donor
        "RA/22/11/NOR",  # two-letter region
        "RAF-22-11-NOR",  # wrong separator
        "raf/22/11/nor",  # lower case (the form upper-cases before checking)
        "RAF/2022/11/NOR",  # four-digit year
        "RAF/22/1/NOR",  # one-digit serial
        "RAF/22/1234/NOR",  # four-digit serial
        "RAF/22/MM5/NET",  # two letters in the serial
        "RAF/22/11/NORW",
        " RAF/22/11/NOR",
        "RAF/22/11/NOR/X",
    ],
)
def test_bad_ilo_references(reference):
    assert not is_valid_reference(reference)


def test_the_country_list_is_iso_3166_alpha_2_and_kosovo():
    assert len(COUNTRY_CODES) == 250  # the 249 ISO 3166-1 countries and XK, as on IATI's list
    assert {"KE", "SN", "FJ", "BB", "CI", "SS", "XK"} <= COUNTRY_CODES
    assert not {"EU", "UK", "ZZ"} & COUNTRY_CODES
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_CODES)


# --- figures and progress (mel_app.figures) -------------------------------------------------------

P1 = Period(1, "2025 H1", date(2025, 1, 1), date(2025, 6, 30))
P2 = Period(2, "2025 H2", date(2025, 7, 1), date(2025, 12, 31))
P3 = Period(3, "2026 H1", date(2026, 1, 1), date(2026, 6, 30))
PERIODS = [P3, P1, P2]  # any order: figures come out in time order


def progress(
    measure=Measure.number,
    ascending=True,
    baseline=None,
    target=None,
    reported=(),
    responsible=None,
    method=None,
):
    rule = Rule(
        measure=measure,
        aggregation=method
        or {
            Measure.number: Aggregation.sum,
            Measure.percentage: Aggregation.mean,
            Measure.yes_no: Aggregation.all_yes,
            Measure.qualitative: Aggregation.listed,
        }[measure],
        ascending=ascending,
        baseline=None if baseline is None else D(str(baseline)),
        target=None if target is None else D(str(target)),
        responsible_organisation_id=responsible,
    )
    return compute_progress(rule, [Report(p, o, D(str(v))) for p, o, v in reported], PERIODS)


def test_ascending_indicator_share_of_the_way_from_every_approved_actual():
    p = progress(baseline=100, target=200, reported=[(1, 10, 120), (3, 10, 175), (2, 10, 150)])
    assert [(a.label, a.value) for a in p.actuals] == [("2025 H1", 120), ("2025 H2", 150), ("2026 H1", 175)]
    assert [a.share for a in p.actuals] == [D("0.2"), D("0.5"), D("0.75")]
    assert p.latest.value == 175
    assert p.share == D("0.75") and p.percent == 75
    assert not p.achieved


def test_numbers_are_added_up_across_organisations_by_default():
    p = progress(baseline=100, target=300, reported=[(2, 10, 150), (2, 11, 50)])
    assert p.latest.value == 200 and p.latest.count == 2 and p.latest.method is Aggregation.sum
    assert p.share == D("0.5")


def test_a_number_may_be_averaged_instead():
    p = progress(
        baseline=12000, target=20000, reported=[(3, 1, 15800), (3, 2, 15800)], method=Aggregation.mean
    )
    assert p.latest.value == 15800 and p.percent == 48  # 0.475, half up
    summed = progress(baseline=12000, target=20000, reported=[(3, 1, 15800), (3, 2, 15800)])
    assert summed.latest.value == 31600 and summed.percent == 245


def test_women_and_men_follow_the_total_and_only_when_every_report_gives_them():
    rule = Rule(Measure.number, Aggregation.sum)
    both = consolidate(rule, [Report(1, 1, D(150), D(90), D(60)), Report(1, 2, D(50), D(20), D(30))])
    assert (both.value, both.women, both.men) == (200, 110, 90)
    partial = consolidate(rule, [Report(1, 1, D(150), D(90), D(60)), Report(1, 2, D(50))])
    assert partial.value == 200 and partial.women is None and partial.men is None


def test_descending_indicator_progress_is_a_fall_towards_the_target():
    p = progress(ascending=False, baseline=140, target=40, reported=[(1, 10, 115), (2, 10, 90)])
    assert p.share == D("0.5")
    worse = progress(ascending=False, baseline=140, target=40, reported=[(1, 10, 160)])
    assert worse.share == D("-0.2"), "getting worse than the baseline is negative progress"
    beyond = progress(ascending=False, baseline=140, target=40, reported=[(1, 10, 30)])
    assert beyond.share == D("1.1") and beyond.achieved and beyond.bar_share == 1.0


def test_percentage_indicator_is_the_mean_of_the_organisations():
    p = progress(
        Measure.percentage, baseline=18, target=35, reported=[(1, 10, 22), (1, 11, 26), (2, 10, "26.5")]
    )
    assert [a.value for a in p.actuals] == [D("24"), D("26.5")]
    assert p.actuals[0].count == 2, "two organisations' values in a period are averaged"
    assert p.share == D("0.5")  # (26.5 - 18) / (35 - 18)
    third = progress(
        Measure.percentage, baseline=0, target=100, reported=[(1, 1, 10), (1, 2, 10), (1, 3, 11)]
    )
    assert third.latest.value == D("10.3333"), "a mean keeps four decimals"


def test_missing_baseline_gives_no_share_but_keeps_the_actuals():
    p = progress(baseline=None, target=600, reported=[(2, 10, 190)])
    assert p.share is None and p.no_share is NoShare.no_baseline
    assert p.latest.value == 190, "a missing baseline is unknown, never taken as 0"


def test_missing_target_or_actual_or_qualitative_gives_a_reason():
    assert progress(baseline=0, target=None, reported=[(1, 1, 5)]).no_share is NoShare.no_target
    assert progress(baseline=0, target=10).no_share is NoShare.no_actual
    q = progress(Measure.qualitative, reported=[(1, 1, 1)])
    assert q.no_share is NoShare.qualitative and q.actuals == ()
    assert len(q.figures) == 1 and q.figures[0].value is None, "the answers stay listed by period"


def test_yes_no_needs_every_partner_by_default_or_any_when_chosen():
    assert progress(Measure.yes_no, baseline=0, target=1, reported=[(1, 1, 1)]).share == 1
    split = [(1, 1, 1), (1, 2, 0)]
    every = progress(Measure.yes_no, baseline=0, target=1, reported=split)
    assert every.latest.value == 0 and every.share == 0
    anyone = progress(Measure.yes_no, baseline=0, target=1, reported=split, method=Aggregation.any_yes)
    assert anyone.latest.value == 1 and anyone.share == 1
    assert progress(Measure.yes_no, baseline=None, target=1, reported=[(1, 1, 1)]).share == 1


def test_responsible_organisation_method_takes_its_value_alone():
    p = progress(
        baseline=0,
        target=100,
        reported=[(1, 7, 40), (1, 8, 90), (1, 9, 10)],
        responsible=7,
        method=Aggregation.responsible,
    )
    assert p.latest.value == 40 and p.latest.count == 1 and len(p.latest.reports) == 3
    # Where the responsible organisation did not report, the period has no figure.
    p = progress(
        baseline=0,
        target=100,
        reported=[(1, 8, 90), (1, 9, 10)],
        responsible=7,
        method=Aggregation.responsible,
    )
    assert p.latest is None and p.figures[0].value is None and p.no_share is NoShare.no_actual
    # A responsible organisation named on a summed indicator does not change the sum.
    assert (
        progress(baseline=0, target=100, reported=[(1, 7, 40), (1, 8, 90)], responsible=7).latest.value == 130
    )


def test_target_equal_to_baseline_means_holding_the_level():
    assert share_of_the_way(Measure.number, True, D(5), D(5), D(6)) == (1, None)
    assert share_of_the_way(Measure.number, True, D(5), D(5), D(4)) == (0, None)
    assert share_of_the_way(Measure.number, False, D(5), D(5), D(4)) == (1, None)


# --- status grid ---------------------------------------------------------------------------------

TODAY = date(2026, 8, 15)
UNION = GridOrganisation(1, "Union", OrgGroup.workers)
EMPLOYERS = GridOrganisation(2, "Employers", OrgGroup.employers)
DONOR = GridOrganisation(3, "Donor", OrgGroup.donor)
ILO = GridOrganisation(4, "ILO", OrgGroup.ilo)
PAST = GridPeriod(10, "2026 H1", date(2026, 7, 31))
OPEN = GridPeriod(11, "2026 H2", date(2027, 1, 31))


@pytest.mark.parametrize(
    ("status", "due", "expected"),
    [
        (None, date(2027, 1, 31), CellStatus.not_started),
        (None, date(2026, 7, 31), CellStatus.overdue),
        (Status.draft, date(2027, 1, 31), CellStatus.draft),
        (Status.draft, date(2026, 7, 31), CellStatus.overdue),
        (Status.returned, date(2027, 1, 31), CellStatus.returned),
        (Status.returned, date(2026, 7, 31), CellStatus.overdue),
        (Status.withdrawn, date(2027, 1, 31), CellStatus.not_started),
        (Status.withdrawn, date(2026, 7, 31), CellStatus.overdue),
        (Status.submitted, date(2026, 7, 31), CellStatus.submitted),
        (Status.approved, date(2026, 7, 31), CellStatus.approved),
        (None, TODAY, CellStatus.not_started),  # due today is not overdue yet
    ],
)
def test_cell_status(status, due, expected):
    assert cell_status(status, due, TODAY) is expected


def test_grid_rows_are_reporting_partners_and_cells_link_to_live_submissions():
    grid = build_grid(
        [EMPLOYERS, DONOR, UNION, ILO],
        [PAST, OPEN],
        [
            GridSubmission(100, 1, 10, Status.withdrawn),
            GridSubmission(101, 1, 10, Status.approved),
            GridSubmission(102, 1, 11, Status.draft),
            GridSubmission(103, 2, 10, Status.returned),
        ],
        TODAY,
    )
    assert [row.organisation.name for row in grid.rows] == ["Employers", "Union"], (
        "no row for donors or the ILO"
    )
    employers, union = grid.rows
    assert [c.status for c in union.cells] == [CellStatus.approved, CellStatus.draft]
    assert [c.submission_id for c in union.cells] == [101, 102], "the live report wins over the withdrawn one"
    assert employers.cells[0].status is CellStatus.overdue
    assert employers.cells[0].submission_status is Status.returned, "overdue keeps the underlying state"
    assert employers.cells[0].submission_id == 103
    assert employers.cells[1].status is CellStatus.not_started and employers.cells[1].submission_id is None
    assert grid.overdue_count == 1


def test_withdrawn_only_cell_has_no_link():
    grid = build_grid([UNION], [OPEN], [GridSubmission(1, 1, 11, Status.withdrawn)], TODAY)
    cell = grid.rows[0].cells[0]
    assert cell.status is CellStatus.not_started and cell.submission_id is None


# --- period series -------------------------------------------------------------------------------


def test_half_yearly_series_follows_the_calendar_and_is_clipped_to_the_project():
    series = period_series(date(2022, 7, 15), date(2024, 3, 31), Frequency.half_yearly, 31)
    assert [(s.label, s.start_date, s.end_date, s.due_date) for s in series] == [
        ("2022 H2", date(2022, 7, 15), date(2022, 12, 31), date(2023, 1, 31)),
        ("2023 H1", date(2023, 1, 1), date(2023, 6, 30), date(2023, 7, 31)),
        ("2023 H2", date(2023, 7, 1), date(2023, 12, 31), date(2024, 1, 31)),
        ("2024 H1", date(2024, 1, 1), date(2024, 3, 31), date(2024, 5, 1)),
    ]


def test_quarterly_and_yearly_series():
    quarters = period_series(date(2025, 2, 1), date(2025, 12, 31), Frequency.quarterly, 0)
    assert [s.label for s in quarters] == ["2025 Q1", "2025 Q2", "2025 Q3", "2025 Q4"]
    assert quarters[0].start_date == date(2025, 2, 1) and quarters[1].end_date == date(2025, 6, 30)
    assert quarters[-1].due_date == date(2025, 12, 31)
    years = period_series(date(2024, 1, 1), date(2026, 6, 30), Frequency.yearly, 60)
    assert [(s.label, s.end_date) for s in years] == [
        ("2024", date(2024, 12, 31)),
        ("2025", date(2025, 12, 31)),
        ("2026", date(2026, 6, 30)),
    ]


# --- chart ---------------------------------------------------------------------------------------


def test_chart_geometry_puts_baseline_actuals_and_target_on_one_scale(app):
    from mel_app.projects.charts import progress_chart

    with app.test_request_context():
        chart = progress_chart(progress(baseline=0, target=100, reported=[(1, 1, 50), (2, 1, 100)]))
        assert [p.label for p in chart.points] == ["Baseline", "2025 H1", "2025 H2"]
        assert chart.points[0].is_baseline and chart.points[0].y == chart.bottom_edge
        assert chart.points[-1].y == chart.target_y == chart.top, "the last actual reached the target"
        assert chart.points[1].y == (chart.top + chart.bottom_edge) / 2
        assert chart.points[-1].anchor == "end", "the last label stays inside the drawing"
        assert "50% of the way" not in chart.description and "100% of the way" in chart.description
        assert progress_chart(progress(Measure.qualitative)) is None
        assert progress_chart(progress()) is None, "nothing to draw without any value"
        percent = progress_chart(progress(Measure.percentage, baseline=20, target=40))
        assert [a.text for a in percent.axis_labels] == ["0%", "100%"]
